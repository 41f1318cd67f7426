/** How every command reads its flags: parseArgs, strict, -h/--help on each, usage errors in one shape. */
import { flagOptions, readFlags, usageError } from '../../src/command-line';

const FLAGS = flagOptions([{ names: ['--namespace', '-n'] }, { names: ['--log-level', 'DRAINER_LOG_LEVEL'] }, { names: ['DRAINER_PORT'] }]);

test('flagOptions: each --name becomes the parseArgs option name, taking a value, with its short letter; variables are no flags', () => {
  expect(FLAGS).toEqual({ namespace: { type: 'string', short: 'n' }, 'log-level': { type: 'string' } });
});

test.each([
  [['--namespace', 'shop']],
  [['--namespace=shop']],
  [['-n', 'shop']],
  [['-nshop']],
  [['-n', 'other', '--namespace', 'shop']],
])('%j: one way to spell a flag, the last one wins', (args) => {
  expect(readFlags(args, FLAGS)).toEqual({ kind: 'flags', flags: { namespace: 'shop' } });
});

test('no arguments: no flags (parseArgs leaves out what was not given)', () => {
  expect(readFlags([], FLAGS)).toEqual({ kind: 'flags', flags: {} });
});

test.each([[['-h']], [['--help']], [['--log-level', 'debug', '--help']]])('%j asks for the usage', (args) => {
  expect(readFlags(args, FLAGS)).toEqual({ kind: 'help' });
});

test.each([
  [['--nope'], "Unknown option '--nope'"],
  [['-x'], "Unknown option '-x'"],
  [['-n'], "Option '-n, --namespace <value>' argument missing"],
  [['--log-level'], "Option '--log-level <value>' argument missing"],
  [['shop'], "Unexpected argument 'shop'. This command does not take positional arguments"],
  [['--', 'shop'], "Unexpected argument 'shop'. This command does not take positional arguments"],
  [['--help=yes'], "Option '-h, --help' does not take an argument"],
  [['--nope', '--help'], "Unknown option '--nope'"],
])('strict: %j is refused with parseArgs’ words, naming the flag', (args, problem) => {
  expect(readFlags(args, FLAGS)).toEqual({ kind: 'problem', problem });
});

test('a mistake in the options themselves is a bug, thrown, not a usage error', () => {
  expect(() => readFlags([], { namespace: { type: 'string', short: 'ns' } })).toThrow(/short/);
});

test('a usage error: the command, the problem, a blank line, the usage', () => {
  expect(usageError('check', "Unknown option '--all'", 'Usage: eureka-drainer check')).toBe("eureka-drainer check: Unknown option '--all'\n\nUsage: eureka-drainer check\n");
  expect(usageError(undefined, 'unknown command "x"', 'Usage: eureka-drainer')).toBe('eureka-drainer: unknown command "x"\n\nUsage: eureka-drainer\n');
});
