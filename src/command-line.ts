/**
 * How every command reads its flags, one way: node:util parseArgs, strict. `--name value`,
 * `--name=value` and `-n value` all work; `-h`/`--help` is on every command; no command takes
 * positional arguments. An unknown flag, a flag without its value, a value given to a switch
 * and a stray word are each refused with parseArgs' own message, which names the flag
 * ("Unknown option '--nope'", "Option '-n, --namespace <value>' argument missing").
 * The values themselves are read by the settings' rules (src/config/reader.ts), one set for every command.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

const HELP = { help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsOptionsConfig;

/** The values parseArgs returns for these options in strict mode: a string or a boolean by type, absent when not given. */
export type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

export type FlagsRead<O extends ParseArgsOptionsConfig> =
  | { readonly kind: 'flags'; readonly flags: FlagValues<O> }
  | { readonly kind: 'help' }
  | { readonly kind: 'problem'; readonly problem: string };

/** The command's flags, `help` when -h or --help was given, or what is wrong with them. */
export function readFlags<O extends ParseArgsOptionsConfig>(args: readonly string[], options: O): FlagsRead<O> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options: { ...options, ...HELP }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    if (isParseArgsError(error)) return { kind: 'problem', problem: error.message };
    throw error;
  }
  if (values.help === true) return { kind: 'help' };
  const { help: _help, ...flags } = values;
  return { kind: 'flags', flags: flags as FlagValues<O> };
}

/** The parseArgs options of a settings table (src/config/reader.ts): every `--name` among a row's names takes a value, `-n` after it is its short form. */
export function flagOptions(rows: readonly { readonly names: readonly string[] }[]): Record<string, { type: 'string'; short?: string }> {
  return Object.fromEntries(
    rows.flatMap(({ names }) => {
      const flag = names.find((n) => n.startsWith('--'));
      const short = names.find((n) => /^-[^-]$/.test(n));
      return flag === undefined ? [] : [[flag.slice(2), short === undefined ? { type: 'string' } : { type: 'string', short: short.slice(1) }]];
    }),
  );
}

/** What a usage error writes to stderr before exit 2: the problem, a blank line, the command's usage. */
export function usageError(command: string | undefined, problem: string, usage: string): string {
  return `eureka-drainer${command === undefined ? '' : ` ${command}`}: ${problem}\n\n${usage}\n`;
}

/**
 * parseArgs refuses the arguments with a TypeError whose code is ERR_PARSE_ARGS_…; anything else is a bug.
 * Read by its code, not instanceof: the error is built in Node's own realm, which a test's vm context does not share.
 */
function isParseArgsError(error: unknown): error is { readonly message: string } {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_') && typeof message === 'string';
}
