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

test('every problem at once', () => {
  let error: unknown;
  try {
    parseWebhookOptions(['--port', '0', '--sidecar', 'sometimes', '--nope', '--metrics-port'], {});
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    'unknown argument "--nope"',
    '--metrics-port needs a value',
    '--cert (or WEBHOOK_TLS_CERT_FILE) is required',
    '--key (or WEBHOOK_TLS_KEY_FILE) is required',
    '--port must be a whole number from 1 to 65535, got "0"',
    '--sidecar must be one of native, classic, got "sometimes"',
  ]);
});

test('the metrics port may not be the TLS port', () => {
  expect(() => parseWebhookOptions(['--cert', 'c', '--key', 'k', '--port', '9090'], {})).toThrow(/both 9090/);
});
