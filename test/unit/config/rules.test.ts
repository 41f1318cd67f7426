/**
 * The one set of rules every component and subcommand reads settings with (src/config/rules.ts, applied by
 * src/config/reader.ts), and the messages a refused value gets: "NAME must be <rule>, got "<value>"".
 */
import { parseConfig } from '../../../src/config';
import { podDeadlineSettings } from '../../../src/config/pod-deadline';
import { EnvReader } from '../../../src/config/reader';
import { boolean, duration, integer, list, number, requiredText } from '../../../src/config/rules';
import { ConfigError } from '../../../src/errors';
import { readOwnerConfig } from '../../../src/owner/config';
import { parseWebhookOptions } from '../../../src/webhook/command';

function problemsOfWebhook(args: string[]): readonly string[] {
  try {
    parseWebhookOptions(args, {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const BOOLEAN_RULE = 'true or false (also on, yes, 1 or off, no, 0, as Spring reads them)';

function readOne<T>(env: Record<string, string>, rule: Parameters<EnvReader['read']>[1], names = ['X']): { value: T; problems: string[] } {
  const reader = new EnvReader(env);
  return { value: reader.read(names, rule) as T, problems: reader.problems };
}

describe('booleans: Spring’s words, in any case', () => {
  test.each([
    ['true', true], ['TRUE', true], ['on', true], ['Yes', true], ['1', true],
    ['false', false], ['False', false], ['off', false], ['NO', false], ['0', false],
  ])('%j reads %s', (text, expected) => {
    expect(readOne({ X: text }, boolean(!expected))).toEqual({ value: expected, problems: [] });
  });

  test.each(['maybe', 'y', 'enabled', '2'])('%j is refused, naming every accepted word, and reads as the default', (text) => {
    expect(readOne({ X: text }, boolean(false))).toEqual({ value: false, problems: [`X must be ${BOOLEAN_RULE}, got ${JSON.stringify(text)}`] });
  });

  // DRAINER_POD_DEADLINE accepted 1/yes/0/no before the rules were one; they keep their meaning.
  test.each([['1', true], ['yes', true], ['0', false], ['no', false], ['on', true]])('DRAINER_POD_DEADLINE=%s still reads %s', (text, enabled) => {
    expect(podDeadlineSettings({ DRAINER_POD_DEADLINE: text, KUBERNETES_SERVICE_HOST: '10.96.0.1', POD_NAME: 'p' })).toMatchObject({ settings: { enabled }, problems: [] });
  });

  test('the Spring switches read the same words as DRAINER_POD_DEADLINE', () => {
    const env = { DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/' };
    expect(parseConfig({ ...env, SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED: 'off', EUREKA_SERVER_USEREADONLYRESPONSECACHE: 'no' }).timings).toMatchObject({ loadBalancerTtlMs: 0, serverCacheMs: 0 });
    expect(() => parseConfig({ ...env, SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED: 'nope' })).toThrow(`SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED must be ${BOOLEAN_RULE}, got "nope"`);
  });
});

describe('integers: decimal digits in range', () => {
  test.each([['8080', 8080], [' 42 ', 42], ['0', 0]])('%j reads %d', (text, expected) => {
    expect(readOne({ X: text }, integer(1, 0, 65_535)).value).toBe(expected);
  });

  test.each(['0x1F90', '8080.0', '1e3', '-1', '+5', '65536', 'eighty'])('%j is refused', (text) => {
    expect(readOne({ X: text }, integer(8787, 0, 65_535))).toEqual({ value: 8787, problems: [`X must be an integer from 0 to 65535, got ${JSON.stringify(text)}`] });
  });
});

describe('numbers: decimal notation, at least the minimum', () => {
  test.each([['0', 0], ['1', 1], ['2.5', 2.5]])('%j reads %d', (text, expected) => {
    expect(readOne({ X: text }, number(1, 0)).value).toBe(expected);
  });

  test.each(['0x10', '1e1', '-1', '.5', 'one'])('%j is refused', (text) => {
    expect(readOne({ X: text }, number(1, 0))).toEqual({ value: 1, problems: [`X must be a number ≥ 0, got ${JSON.stringify(text)}`] });
  });
});

describe('durations: Spring’s forms or a bare number in the setting’s unit, within its bounds', () => {
  test.each([['1500', 1_500], ['1.5s', 1_500], ['PT2S', 2_000], ['100ms', 100], ['1m', 60_000]])('%j reads %d ms (bare unit ms)', (text, ms) => {
    expect(readOne({ X: text }, duration(1_000, 'ms', { minMs: 100, maxMs: 60_000 })).value).toBe(ms);
  });

  test.each([
    ['fast', 'ms', {}, 'X must be a duration such as "35s", "500ms", "PT35S" or a number of milliseconds, got "fast"'],
    ['-5s', 's', {}, 'X must be a duration such as "35s", "500ms", "PT35S" or a number of seconds, got "-5s"'],
    ['99', 'ms', { minMs: 100, maxMs: 60_000 }, 'X must be a duration such as "35s", "500ms", "PT35S" or a number of milliseconds, from 100ms to 60000ms, got "99"'],
    ['61', 's', { maxMs: 60_000 }, 'X must be a duration such as "35s", "500ms", "PT35S" or a number of seconds, from 0s to 60s, got "61"'],
  ] as const)('%j (bare unit %s, bounds %j) is refused', (text, unit, bounds, problem) => {
    expect(readOne({ X: text }, duration(1_000, unit, bounds))).toEqual({ value: 1_000, problems: [problem] });
  });

  test('the pod-deadline and webhook settings that were whole numbers are durations now, the numbers meaning what they did', () => {
    expect(podDeadlineSettings({ DRAINER_POD_DEADLINE_POLL_MS: '250', DRAINER_POD_DEADLINE_TIMEOUT_MS: '3s' }).settings).toMatchObject({ pollMs: 250, timeoutMs: 3_000 });
    expect(parseWebhookOptions(['--cert', 'c', '--key', 'k', '--reload-interval-seconds', '10', '--shutdown-delay-seconds', '1500ms'], {})).toMatchObject({ reloadIntervalMs: 10_000, shutdownDelayMs: 1_500 });
  });
});

test('words from a fixed set in any case, for the webhook as for the drainer', () => {
  expect(parseWebhookOptions(['--cert', 'c', '--key', 'k', '--sidecar', 'Classic', '--log-level', 'DEBUG'], {})).toMatchObject({ defaults: { sidecar: 'classic' }, logLevel: 'debug' });
});

describe('lists: comma-separated, entries trimmed, empty entries dropped, never empty', () => {
  test('entries and the name they came under', () => {
    expect(readOne({ B: ' a, ,b ,' }, list(), ['A', 'B']).value).toEqual({ name: 'B', items: ['a', 'b'] });
  });

  test('a list of nothing is refused: read as empty it would mean no filter', () => {
    expect(readOne({ X: ' , ,' }, list())).toEqual({ value: undefined, problems: ['X must be a comma-separated list with at least one entry, got ", ,"'] });
    const env = { DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_TOKEN: 'abcdefghijklmnopqrstuvwxyz' };
    expect(() => parseConfig({ ...env, DRAINER_ALLOWED_SOURCES: ',' })).toThrow('DRAINER_ALLOWED_SOURCES must be a comma-separated list with at least one entry, got ","');
    expect(() => parseConfig({ ...env, DRAINER_EUREKA_URLS: ' , ' })).toThrow('DRAINER_EUREKA_URLS must be a comma-separated list with at least one entry, got ","');
  });

  test('owner metadata is read by the same list rule', () => {
    const base = { appName: 'demo', appPort: 8080, podIp: '10.0.0.7', podName: 'p' };
    expect(readOwnerConfig({ DRAINER_INSTANCE_METADATA: ' zone=a , ,rack=b' }, base).config?.metadata).toEqual({ zone: 'a', rack: 'b' });
  });
});

describe('where a value comes from: a flag, the own variable, then Spring’s', () => {
  test('the first name given wins; blank counts as not given', () => {
    const reader = new EnvReader({ A: ' ', B: 'from-b', C: 'from-c' }, undefined, { x: 'from-flag' });
    expect(reader.get('A', 'B', 'C')).toEqual({ name: 'B', raw: 'from-b' });
    expect(reader.get('--x', 'B')).toEqual({ name: '--x', raw: 'from-flag' });
  });

  test('an empty flag is given, and judged by its rule: never the default in silence', () => {
    expect(problemsOfWebhook(['--cert=', '--key', 'k', '--port=', '--host='])).toEqual(['--cert must be non-empty, got ""', '--port must be an integer from 1 to 65535, got ""']);
  });

  test('a required setting names every place it may be given', () => {
    expect(readOne({}, requiredText(), ['--cert', 'CERT_FILE']).problems).toEqual(['--cert (or CERT_FILE) is required']);
  });

  test('one bad value is one problem, though two tables read it', () => {
    let problems: readonly string[] = [];
    try {
      parseConfig({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_GRACE_PERIOD_SECONDS: '-5' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual(['DRAINER_GRACE_PERIOD_SECONDS must be an integer from 1 to 86400, got "-5"']);
  });
});
