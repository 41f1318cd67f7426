/** The webhook subcommand's options: flags over the environment, every problem at once. */
import { ConfigError } from '../../../src/errors';
import { DEFAULTS } from '../../../src/inject/inject';
import { parseWebhookOptions } from '../../../src/webhook/command';

test('defaults with only the certificate and key given (flags)', () => {
  expect(parseWebhookOptions(['--cert', '/tls/tls.crt', '--key=/tls/tls.key'], {})).toEqual({
    certFile: '/tls/tls.crt',
    keyFile: '/tls/tls.key',
    host: '::',
    port: 8443,
    metricsPort: 9090,
    defaults: DEFAULTS,
    logLevel: 'info',
    reloadIntervalMs: 5_000,
    shutdownDelayMs: 5_000,
  });
});

test('the environment, and flags winning over it', () => {
  const env = { WEBHOOK_TLS_CERT_FILE: '/a.crt', WEBHOOK_TLS_KEY_FILE: '/a.key', WEBHOOK_PORT: '9443', WEBHOOK_METRICS_PORT: '0', WEBHOOK_SIDECAR: 'classic', WEBHOOK_SIDECAR_IMAGE: 'r/d:1', DRAINER_LOG_LEVEL: 'debug' };
  const options = parseWebhookOptions(['--port', '10443'], env);
  expect(options).toMatchObject({ certFile: '/a.crt', keyFile: '/a.key', port: 10443, metricsPort: 0, defaults: { image: 'r/d:1', sidecar: 'classic' }, logLevel: 'debug' });
});

function problemsOf(args: string[]): readonly string[] {
  let error: unknown;
  try {
    parseWebhookOptions(args, {});
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

test('every problem in the values at once', () => {
  expect(problemsOf(['--port', '0', '--sidecar', 'sometimes'])).toEqual([
    '--cert (or WEBHOOK_TLS_CERT_FILE) is required',
    '--key (or WEBHOOK_TLS_KEY_FILE) is required',
    // One rule for integers everywhere (src/config/rules.ts): the webhook said "a whole number" before.
    '--port must be an integer from 1 to 65535, got "0"',
    '--sidecar must be one of native, classic, got "sometimes"',
  ]);
});

// Strict parseArgs stops at the first flag it cannot read; the values are not known then, so it is the one problem.
test.each([
  [['--port', '0', '--nope'], "Unknown option '--nope'"],
  [['--sidecar', 'sometimes', '--metrics-port'], "Option '--metrics-port <value>' argument missing"],
  [['cert.pem'], "Unexpected argument 'cert.pem'. This command does not take positional arguments"],
])('a flag parseArgs refuses, %j: that problem alone, a usage error', (args, problem) => {
  expect(parseWebhookOptions(args, {})).toEqual({ problem });
});

test('-h and --help ask for the usage, whatever else is given', () => {
  expect(parseWebhookOptions(['-h'], {})).toBe('help');
  expect(parseWebhookOptions(['--port', '0', '--help'], {})).toBe('help');
});

test('the metrics port may not be the TLS port', () => {
  expect(() => parseWebhookOptions(['--cert', 'c', '--key', 'k', '--port', '9090'], {})).toThrow(/both 9090/);
});

test("the injected drainer's defaults from the environment; the token from its file", () => {
  const env = {
    WEBHOOK_TLS_CERT_FILE: '/a.crt',
    WEBHOOK_TLS_KEY_FILE: '/a.key',
    WEBHOOK_DRAINER_PORT: '9100',
    WEBHOOK_DRAINER_RESOURCES: '{"requests":{"cpu":"20m","memory":"128Mi"},"limits":{"memory":"256Mi"}}',
    WEBHOOK_DRAINER_ENV: '[{"name":"DRAINER_LOG_LEVEL","value":"debug"}]',
    WEBHOOK_DRAINER_TOKEN_FILE: '/token/token',
  };
  const options = parseWebhookOptions([], env, (path) => (path === '/token/token' ? 'a-long-enough-token-value\n' : ''));
  expect(options).toMatchObject({
    port: 8443,
    defaults: {
      ...DEFAULTS,
      port: 9100,
      resources: { requests: { cpu: '20m', memory: '128Mi' }, limits: { memory: '256Mi' } },
      env: [{ name: 'DRAINER_LOG_LEVEL', value: 'debug' }],
      token: 'a-long-enough-token-value',
    },
  });
});
