/** The injected drainer's defaults as the webhook and `inject` read them: JSON resources, env defaults, the token file. */
import { EnvReader } from '../../../src/config/reader';
import { DEFAULTS, parseEnvDefaults, parseResources, parseToken, readInjectDefaults } from '../../../src/inject/drainer-defaults';

describe('parseResources', () => {
  test('both sections, numbers read as quantities', () => {
    expect(parseResources('{"requests":{"cpu":0.05,"memory":"128Mi"},"limits":{"cpu":"1","memory":"256M"}}')).toEqual({
      value: { requests: { cpu: '0.05', memory: '128Mi' }, limits: { cpu: '1', memory: '256M' } },
    });
  });

  test('a section left out keeps the default; an empty one means none', () => {
    expect(parseResources('{"limits":{}}')).toEqual({ value: { requests: DEFAULTS.resources.requests, limits: {} } });
    expect(parseResources('{}')).toEqual({ value: DEFAULTS.resources });
  });

  test.each([
    ['not json', 'must be a JSON object such as {"requests":{"cpu":"10m","memory":"96Mi"},"limits":{"memory":"192Mi"}}, got "not json"'],
    ['[]', 'must be a JSON object with requests and/or limits, got "[]"'],
    ['{"request":{}}', 'may have only requests and limits, got request'],
    ['{"requests":"10m"}', 'requests must be an object of cpu and memory, got "10m"'],
    ['{"limits":{"gpu":"1"}}', 'limits.gpu: only cpu and memory may be set'],
    ['{"requests":{"memory":"96MB"}}', 'requests.memory must be a Kubernetes quantity such as "10m", "0.5", "96Mi" or "1G", got "96MB"'],
    ['{"requests":{"cpu":"-1"}}', 'requests.cpu must be a Kubernetes quantity such as "10m", "0.5", "96Mi" or "1G", got "-1"'],
    ['{"requests":{"memory":"300Mi"}}', 'requests.memory 300Mi is above limits.memory 192Mi (the apiserver would refuse every injected pod)'],
    ['{"requests":{"cpu":"2"},"limits":{"cpu":"1500m"}}', 'requests.cpu 2 is above limits.cpu 1500m (the apiserver would refuse every injected pod)'],
  ])('%s is refused: %s', (raw, problem) => {
    expect(parseResources(raw)).toEqual({ problem });
  });

  test('a request equal to its limit in other units is fine', () => {
    expect(parseResources('{"requests":{"memory":"1Gi","cpu":"500m"},"limits":{"memory":"1024Mi","cpu":"0.5"}}')).toHaveProperty('value');
  });
});

describe('parseEnvDefaults', () => {
  test('names the drainer reads, in order', () => {
    expect(parseEnvDefaults('[{"name":"DRAINER_TAIL_SECONDS","value":"5"},{"name":"DRAINER_LOG_LEVEL","value":"debug"}]')).toEqual({
      value: [
        { name: 'DRAINER_TAIL_SECONDS', value: '5' },
        { name: 'DRAINER_LOG_LEVEL', value: 'debug' },
      ],
    });
  });

  test.each([
    ['{}', 'must be a JSON list of {"name","value"} entries, got "{}"'],
    ['[{"name":"DRAINER_TAIL_SECONDS","value":5}]', 'entry 1 must be {"name": "…", "value": "…"} with a string value (quote numbers), got {"name":"DRAINER_TAIL_SECONDS","value":5}'],
    ['[{"name":"DRAINER_PORT","value":"9000"}]', 'entry 1: DRAINER_PORT is set by the injector'],
    ['[{"name":"DRAINER_TOKEN","value":"x"}]', "entry 1: DRAINER_TOKEN comes from the token file setting, so the app's preStop sends the same value"],
    ['[{"name":"DRAINER_TAIL","value":"5"}]', 'entry 1: the drainer does not read DRAINER_TAIL (see docs/configuration.md)'],
    ['[{"name":"DRAINER_LOG_LEVEL","value":"debug"},{"name":"DRAINER_LOG_LEVEL","value":"info"}]', 'entry 2: DRAINER_LOG_LEVEL is given twice'],
  ])('%s is refused: %s', (raw, problem) => {
    expect(parseEnvDefaults(raw)).toEqual({ problem });
  });
});

describe('parseToken', () => {
  test('trimmed, 16 characters or more', () => {
    expect(parseToken('  0123456789abcdef\n')).toEqual({ value: '0123456789abcdef' });
    expect(parseToken('0123456789abcde')).toEqual({ problem: 'must hold a token of at least 16 characters (the drainer refuses shorter), got 15' });
    expect(parseToken('0123456789 abcdef')).toEqual({ problem: 'must hold a token of printable ASCII without spaces (it is sent as an HTTP header)' });
  });
});

describe('readInjectDefaults', () => {
  const files: Record<string, string> = { '/t/token': 'a-long-enough-token-value\n', '/t/short': 'short' };
  const readFile = (path: string): string => {
    if (path in files) return files[path]!;
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  };

  test('nothing given: the defaults, no token', () => {
    const reader = new EnvReader({}, readFile);
    expect(readInjectDefaults(reader)).toEqual(DEFAULTS);
    expect(reader.problems).toEqual([]);
  });

  test('every setting, from flags over the environment', () => {
    const reader = new EnvReader({ WEBHOOK_DRAINER_PORT: '9000', WEBHOOK_DRAINER_TOKEN_FILE: '/t/token' }, readFile, { 'drainer-port': '9100', 'drainer-env': '[{"name":"DRAINER_TAIL_SECONDS","value":"5"}]' });
    expect(readInjectDefaults(reader)).toEqual({ ...DEFAULTS, port: 9100, env: [{ name: 'DRAINER_TAIL_SECONDS', value: '5' }], token: 'a-long-enough-token-value' });
  });

  test('every problem at once, each named where it was given', () => {
    const reader = new EnvReader({ WEBHOOK_DRAINER_RESOURCES: '{"limits":{"memory":"1x"}}', WEBHOOK_DRAINER_TOKEN_FILE: '/t/short' }, readFile, { 'drainer-port': '0', 'drainer-env': '[1]' });
    readInjectDefaults(reader);
    expect(reader.problems).toEqual([
      '--drainer-port must be an integer from 1 to 65535, got "0"',
      'WEBHOOK_DRAINER_RESOURCES limits.memory must be a Kubernetes quantity such as "10m", "0.5", "96Mi" or "1G", got "1x"',
      '--drainer-env entry 1 must be {"name": "…", "value": "…"} with a string value (quote numbers), got 1',
      'WEBHOOK_DRAINER_TOKEN_FILE names "/t/short", which must hold a token of at least 16 characters (the drainer refuses shorter), got 5',
    ]);
  });

  test('a token file that cannot be read', () => {
    const reader = new EnvReader({ WEBHOOK_DRAINER_TOKEN_FILE: '/t/missing' }, readFile);
    expect(readInjectDefaults(reader).token).toBeUndefined();
    expect(reader.problems).toEqual(['WEBHOOK_DRAINER_TOKEN_FILE names a file that cannot be read: "/t/missing" (ENOENT)']);
  });
});
