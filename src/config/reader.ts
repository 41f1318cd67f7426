import { isIP } from 'node:net';
import { parseDuration, type DurationUnit } from '../duration';
/** The environment as the drainer reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface Found {
  readonly name: string;
  readonly raw: string;
}

/**
 * Reads typed values from the environment and collects every problem instead
 * of throwing at the first, so one restart fixes them all. Each parser takes
 * the variable's names in order of preference (own name first, then the
 * Spring fallback) and returns the fallback value when none is set or the
 * value is bad (the problem is recorded).
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(
    private readonly env: Env,
    private readonly readFileText: (path: string) => string,
  ) {}

  get(...names: readonly string[]): Found | undefined {
    for (const name of names) {
      const raw = this.env[name];
      if (raw !== undefined && raw.trim() !== '') return { name, raw: raw.trim() };
    }
    return undefined;
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  text(names: readonly string[], fallback: string): string;
  text(names: readonly string[]): string | undefined;
  text(names: readonly string[], fallback?: string): string | undefined {
    return this.get(...names)?.raw ?? fallback;
  }

  integer(names: readonly string[], fallback: number, min: number, max: number): number {
    const found = this.get(...names);
    if (!found) return fallback;
    const value = Number(found.raw);
    if (Number.isInteger(value) && value >= min && value <= max) return value;
    this.problem(`${found.name} must be an integer from ${min} to ${max}, got ${shown(found.raw)}`);
    return fallback;
  }

  number(names: readonly string[], fallback: number, min: number): number {
    const found = this.get(...names);
    if (!found) return fallback;
    const value = Number(found.raw);
    if (Number.isFinite(value) && value >= min) return value;
    this.problem(`${found.name} must be a number ≥ ${min}, got ${shown(found.raw)}`);
    return fallback;
  }

  duration(names: readonly string[], fallbackMs: number, bareUnit: DurationUnit): number {
    const found = this.get(...names);
    if (!found) return fallbackMs;
    const ms = parseDuration(found.raw, bareUnit);
    if (ms !== undefined && ms >= 0) return ms;
    this.problem(`${found.name} must be a duration such as "35s", "500ms", "PT35S" or a number of ${bareUnit === 's' ? 'seconds' : 'milliseconds'}, got ${shown(found.raw)}`);
    return fallbackMs;
  }

  oneOf<T extends string>(names: readonly string[], allowed: readonly T[], fallback: T): T {
    const found = this.get(...names);
    if (!found) return fallback;
    const value = found.raw.toLowerCase();
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problem(`${found.name} must be one of ${allowed.join(', ')}, got ${shown(found.raw)}`);
    return fallback;
  }

  boolean(names: readonly string[], fallback: boolean): boolean {
    const found = this.get(...names);
    if (!found) return fallback;
    const value = found.raw.toLowerCase();
    if (value === 'true') return true;
    if (value === 'false') return false;
    this.problem(`${found.name} must be true or false, got ${shown(found.raw)}`);
    return fallback;
  }

  url(names: readonly string[]): string | undefined {
    const found = this.get(...names);
    if (!found) return undefined;
    try {
      const parsed = new URL(found.raw);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.toString();
    } catch {
      // reported below
    }
    this.problem(`${found.name} must be an http(s) URL, got ${shown(found.raw)}`);
    return undefined;
  }

  ip(names: readonly string[]): string | undefined {
    const found = this.get(...names);
    if (!found) return undefined;
    if (isIP(found.raw) !== 0) return found.raw;
    this.problem(`${found.name} must be an IP address, got ${shown(found.raw)}`);
    return undefined;
  }

  /** A secret given directly or as a file (a mounted Secret); never both. */
  secret(valueName: string, fileName: string): string | undefined {
    const direct = this.get(valueName);
    const file = this.get(fileName);
    if (direct && file) this.problem(`set ${valueName} or ${fileName}, not both`);
    if (direct) return direct.raw;
    if (!file) return undefined;
    try {
      const content = this.readFileText(file.raw).trim();
      if (content === '') this.problem(`${fileName} names an empty file: ${shown(file.raw)}`);
      return content || undefined;
    } catch (error) {
      this.problem(`${fileName} names a file that cannot be read: ${shown(file.raw)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
}

/** A value as it may appear in an error message: quoted and bounded. */
export function shown(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

/** One environment variable (its own name first, then the Spring fallbacks) and how to read it. */
export interface Variable<T> {
  readonly names: readonly string[];
  readonly read: (reader: EnvReader, names: readonly string[]) => T;
}

export const row = <T>(names: readonly string[], read: (reader: EnvReader, names: readonly string[]) => T): Variable<T> => ({ names, read });

/** The values a table of rows reads to. */
export type ValuesOf<Table extends Record<string, Variable<unknown>>> = { -readonly [K in keyof Table]: ReturnType<Table[K]['read']> };

/** Reads every row of a table; problems collect in the reader. */
export function readRows<Table extends Record<string, Variable<unknown>>>(reader: EnvReader, table: Table): ValuesOf<Table> {
  const values: Partial<Record<keyof Table, unknown>> = {};
  for (const [key, variable] of Object.entries(table)) values[key as keyof Table] = variable.read(reader, variable.names);
  return values as ValuesOf<Table>;
}

