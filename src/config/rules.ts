import { isIP } from 'node:net';
import { parseDuration, type DurationUnit } from '../duration';

/**
 * How one setting's text becomes a value: the one set of rules every component and subcommand reads
 * with (src/config/reader.ts applies them). Pure: text in, value or refusal out.
 */
export interface Rule<T> {
  /** The value when the setting is not given. */
  readonly fallback: T;
  /** Not given is a problem ("--cert (or WEBHOOK_TLS_CERT_FILE) is required"), not the fallback. */
  readonly required?: boolean;
  /** The default as the reference tables and --help show it: the text that reads back to `fallback`, or words. */
  readonly shown: string;
  /** What the rule admits, finishing "NAME must be …, got "x"". */
  readonly expected: string;
  /** The trimmed, non-empty text given under `name` → its value, or undefined when the rule refuses it. */
  readonly parse: (text: string, name: string) => { readonly value: T } | undefined;
}

/** A value with the name it was given under, for messages that name it (a fallback name, say). */
export interface Found {
  readonly name: string;
  readonly raw: string;
}

/** A comma-separated list, entries trimmed and empty ones dropped, with the name it was given under. */
export interface List {
  readonly name: string;
  readonly items: readonly string[];
}

/** No default: the table shows a dash. */
const NONE = '–';

/**
 * Spring's own rule (StringToBooleanConverter, any case): these variables are often the app's own,
 * read from its ConfigMap, and the drainer must read `on` as the app does. Nothing else is a boolean.
 */
const TRUE_WORDS = ['true', 'on', 'yes', '1'];
const FALSE_WORDS = ['false', 'off', 'no', '0'];

export function boolean(fallback: boolean): Rule<boolean> {
  return {
    fallback,
    shown: String(fallback),
    expected: `true or false (also ${TRUE_WORDS.slice(1).join(', ')} or ${FALSE_WORDS.slice(1).join(', ')}, as Spring reads them)`,
    parse: (text) => {
      const word = text.toLowerCase();
      if (TRUE_WORDS.includes(word)) return { value: true };
      if (FALSE_WORDS.includes(word)) return { value: false };
      return undefined;
    },
  };
}

/** Decimal digits only: "0x1F90", "8080.0" and "1e3" are refused, not read as 8080 or 1000. */
export function integer(fallback: number, min: number, max: number): Rule<number> {
  return {
    fallback,
    shown: String(fallback),
    expected: `an integer from ${min} to ${max}`,
    parse: (text) => {
      const value = /^\d+$/.test(text) ? Number(text) : NaN;
      return Number.isSafeInteger(value) && value >= min && value <= max ? { value } : undefined;
    },
  };
}

/** Decimal notation, as integers: "0x10" and "1e1" are refused. */
export function number(fallback: number, min: number): Rule<number> {
  return {
    fallback,
    shown: String(fallback),
    expected: `a number ≥ ${min}`,
    parse: (text) => {
      const value = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
      return Number.isFinite(value) && value >= min ? { value } : undefined;
    },
  };
}

export interface DurationBounds {
  readonly minMs?: number;
  readonly maxMs?: number;
}

/**
 * Spring's duration forms (src/duration.ts) or a bare number in the setting's own unit, in milliseconds.
 * The default is shown in that unit, as it would be written.
 */
export function duration(fallbackMs: number, bareUnit: DurationUnit, bounds: DurationBounds = {}): Rule<number> {
  const { minMs = 0, maxMs = Infinity } = bounds;
  const unitWord = bareUnit === 's' ? 'seconds' : 'milliseconds';
  const inUnit = (ms: number): string => (bareUnit === 's' ? `${ms / 1000}s` : `${ms}ms`);
  const range = maxMs === Infinity ? (minMs > 0 ? `, at least ${inUnit(minMs)}` : '') : `, from ${inUnit(minMs)} to ${inUnit(maxMs)}`;
  return {
    fallback: fallbackMs,
    shown: String(bareUnit === 's' ? fallbackMs / 1000 : fallbackMs),
    expected: `a duration such as "35s", "500ms", "PT35S" or a number of ${unitWord}${range}`,
    parse: (text) => {
      const ms = parseDuration(text, bareUnit);
      return ms !== undefined && ms >= minMs && ms <= maxMs ? { value: ms } : undefined;
    },
  };
}

/** One of a fixed set of words, any case. */
export function oneOf<T extends string>(allowed: readonly T[], fallback: T): Rule<T> {
  return {
    fallback,
    shown: fallback,
    expected: `one of ${allowed.join(', ')}`,
    parse: (text) => {
      const word = text.toLowerCase();
      return (allowed as readonly string[]).includes(word) ? { value: word as T } : undefined;
    },
  };
}

/** Any text; without a fallback, undefined when not given. */
export function text(fallback: string): Rule<string>;
export function text(): Rule<string | undefined>;
export function text(fallback?: string): Rule<string | undefined> {
  return { fallback, shown: fallback ?? NONE, expected: 'any text', parse: (value) => ({ value }) };
}

/** The rule, but an empty text (a flag given as `--name=`) is refused, not read as a name, a file or an image. */
export function nonEmpty<T>(rule: Rule<T>, expected: string): Rule<T> {
  return { ...rule, expected, parse: (value, name) => (value === '' ? undefined : rule.parse(value, name)) };
}

/** Text that must be given (a flag or its variable), and not empty. */
export function requiredText(): Rule<string> {
  return { fallback: '', required: true, shown: 'required', expected: 'non-empty', parse: (value) => (value === '' ? undefined : { value }) };
}

/** Any text with the name it came under, for rules that need both (checked where the values meet). */
export function found(): Rule<Found | undefined> {
  return { fallback: undefined, shown: NONE, expected: 'any text', parse: (raw, name) => ({ value: { name, raw } }) };
}

/** Whether the setting was given at all, whatever its value (told apart from "given but refused"). */
export function given(): Rule<boolean> {
  return { fallback: false, shown: NONE, expected: 'any text', parse: () => ({ value: true }) };
}

/**
 * The one list rule: comma-separated, entries trimmed, empty entries dropped. A list with no entry at
 * all (",") is refused: read as empty it would mean "no filter" or "no server", never what was meant.
 */
export function list(): Rule<List | undefined> {
  return {
    fallback: undefined,
    shown: NONE,
    expected: 'a comma-separated list with at least one entry',
    parse: (raw, name) => {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      return items.length > 0 ? { value: { name, items } } : undefined;
    },
  };
}

export function url(): Rule<string | undefined> {
  return {
    fallback: undefined,
    shown: NONE,
    expected: 'an http(s) URL',
    parse: (raw) => {
      try {
        const parsed = new URL(raw);
        return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? { value: parsed.toString() } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export function ip(): Rule<string | undefined> {
  return { fallback: undefined, shown: NONE, expected: 'an IP address', parse: (raw) => (isIP(raw) !== 0 ? { value: raw } : undefined) };
}
