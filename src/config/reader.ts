import { text, type Found, type Rule } from './rules';

/** The environment as the drainer reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A command's flags by name without the dashes, as parseArgs returns them (src/command-line.ts). */
export type Flags = Readonly<Record<string, string | undefined>>;

export type { Found } from './rules';

/**
 * Reads settings by their rules (src/config/rules.ts) and collects every problem instead of throwing at
 * the first, so one restart fixes them all. A setting's names are tried in order of preference: a flag
 * (`--name`, for subcommands), its own variable, then Spring's. A value a rule refuses is a problem
 * naming it, and reads as the fallback so the rest can still be checked.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(
    private readonly env: Env,
    private readonly readFileText: (path: string) => string = () => '',
    private readonly flags: Flags = {},
  ) {}

  /**
   * The first of `names` given, trimmed, with the name it came under. A blank variable counts as not
   * set (a ConfigMap often carries empty values); a flag given is given even empty (`--port=` is a
   * mistake to name, not a reason to fall back to the default), and its rule judges the empty text.
   */
  get(...names: readonly string[]): Found | undefined {
    for (const name of names) {
      // A one-letter spelling (-n) arrives under its long name, as parseArgs keys it: nothing is read under it.
      if (/^-[^-]$/.test(name)) continue;
      const isFlag = name.startsWith('--');
      const raw = isFlag ? this.flags[name.slice(2)] : this.env[name];
      if (raw !== undefined && (isFlag || raw.trim() !== '')) return { name, raw: raw.trim() };
    }
    return undefined;
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  read<T>(names: readonly string[], rule: Rule<T>): T {
    const found = this.get(...names);
    if (!found) {
      if (rule.required) this.problem(`${names[0]}${names.length > 1 ? ` (or ${names.slice(1).join(' or ')})` : ''} is required`);
      return rule.fallback;
    }
    const parsed = rule.parse(found.raw, found.name);
    if (parsed) return parsed.value;
    this.problem(`${found.name} must be ${rule.expected}, got ${shown(found.raw)}`);
    return rule.fallback;
  }

  /**
   * Every variable whose name starts with `prefix` (Spring's map form, EUREKA_INSTANCE_METADATAMAP_<KEY>),
   * by name; values as given, an empty one included, since a map entry may be empty.
   */
  prefixed(prefix: string): Found[] {
    return Object.keys(this.env)
      .filter((name) => name.startsWith(prefix))
      .sort()
      .flatMap((name) => {
        const raw = this.env[name];
        return raw === undefined ? [] : [{ name, raw }];
      });
  }

  /** A secret given directly or as a file (a mounted Secret); never both. */
  secret(valueName: string, fileName: string): string | undefined {
    const direct = this.get(valueName);
    const file = this.get(fileName);
    if (direct && file) this.problem(`set ${valueName} or ${fileName}, not both`);
    if (direct) return direct.raw;
    if (!file) return undefined;
    const read = this.readFile(file.raw);
    if ('problem' in read) {
      this.problem(`${fileName} names a file that cannot be read: ${shown(file.raw)} (${read.problem})`);
      return undefined;
    }
    const content = read.value.trim();
    if (content === '') this.problem(`${fileName} names an empty file: ${shown(file.raw)}`);
    return content || undefined;
  }

  /** A file's text (a mounted Secret, say), or why it cannot be read: the error's code, such as ENOENT. */
  readFile(path: string): { readonly value: string } | { readonly problem: string } {
    try {
      return { value: this.readFileText(path) };
    } catch (error) {
      return { problem: (error as NodeJS.ErrnoException).code ?? 'error' };
    }
  }
}

/** A value as it may appear in an error message: quoted and bounded. */
export function shown(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

/**
 * One row of a component's table: where the setting may be given, its rule, what it means. The reference
 * tables and --help are generated from or checked against these rows (src/config/reference.ts).
 */
export interface Variable<T> {
  /** In order of preference: a flag (`--name`, then its `-n`), the setting's own variable, then Spring's fallbacks. */
  readonly names: readonly string[];
  readonly rule: Rule<unknown>;
  /** The default column: the rule's, or words where the default is worked out from other settings. */
  readonly shownDefault: string;
  /** One line: what the setting does (for --help; the reference may say more). */
  readonly about: string;
  readonly read: (reader: EnvReader) => T;
}

export interface RowOptions {
  /** Replaces the rule's shown default where the real one depends on other settings ("required", "POD_IP"). */
  readonly shownDefault?: string;
}

/** A row read by its rule. */
export function setting<T>(names: readonly string[], rule: Rule<T>, about: string, options: RowOptions = {}): Variable<T> {
  return { names, rule, about, shownDefault: options.shownDefault ?? rule.shown, read: (reader) => reader.read(names, rule) };
}

/** A row for a secret given as `VALUE` or as `VALUE_FILE` (a mounted Secret), never both. */
export function secret(valueName: string, fileName: string, about: string): Variable<string | undefined> {
  return { names: [valueName, fileName], rule: text(), about, shownDefault: text().shown, read: (reader) => reader.secret(valueName, fileName) };
}

/** A row for a map in Spring's env form: one variable per key, `PREFIX<KEY>`. */
export function prefixed(prefix: string, about: string): Variable<Found[]> {
  return { names: [`${prefix}<KEY>`], rule: text(), about, shownDefault: text().shown, read: (reader) => reader.prefixed(prefix) };
}

/** The values a table of rows reads to. */
export type ValuesOf<Table extends Record<string, Variable<unknown>>> = { -readonly [K in keyof Table]: ReturnType<Table[K]['read']> };

/** Reads every row of a table; problems collect in the reader. */
export function readRows<Table extends Record<string, Variable<unknown>>>(reader: EnvReader, table: Table): ValuesOf<Table> {
  const values: Partial<Record<keyof Table, unknown>> = {};
  for (const [key, variable] of Object.entries(table)) values[key as keyof Table] = variable.read(reader);
  return values as ValuesOf<Table>;
}
