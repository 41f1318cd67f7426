/**
 * `eureka-drainer webhook`: the mutating admission webhook that adds the drainer to pods.
 * Flags win over the environment; every bad value is reported at once (exit 2).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { readFlags, usageError, valueFlags } from '../command-line';
import type { LogLevel } from '../config/types';
import { ConfigError, describeError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { DEFAULTS, injectWorkload, type InjectDefaults } from '../inject/inject';
import { createWebhookMetrics } from './metrics';
import type { InjectFunction } from './review';
import { readTlsPair, startWebhookServer, type TlsPair } from './server';

export interface WebhookOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly host: string;
  /** TLS: /inject, /inject-pod, /healthz, /readyz. */
  readonly port: number;
  /** Plain HTTP: /metrics (and /healthz); 0 turns it off. */
  readonly metricsPort: number;
  readonly defaults: InjectDefaults;
  readonly logLevel: LogLevel;
  readonly reloadIntervalMs: number;
  /** After SIGTERM: /readyz answers 503 this long before the server closes, so the Service stops sending first. */
  readonly shutdownDelayMs: number;
}

interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
}

export const SETTINGS = {
  certFile: { flag: '--cert', env: 'WEBHOOK_TLS_CERT_FILE', help: 'PEM certificate (chain) file; read again every few seconds' },
  keyFile: { flag: '--key', env: 'WEBHOOK_TLS_KEY_FILE', help: 'PEM private key file' },
  host: { flag: '--host', env: 'WEBHOOK_HOST', help: 'address to listen on (default ::, dual-stack)' },
  port: { flag: '--port', env: 'WEBHOOK_PORT', help: 'TLS port (default 8443)' },
  metricsPort: { flag: '--metrics-port', env: 'WEBHOOK_METRICS_PORT', help: 'plain-HTTP /metrics port (default 9090; 0: off)' },
  image: { flag: '--image', env: 'WEBHOOK_SIDECAR_IMAGE', help: `the drainer image to inject (default ${DEFAULTS.image})` },
  sidecar: { flag: '--sidecar', env: 'WEBHOOK_SIDECAR', help: 'native | classic (default native)' },
  logLevel: { flag: '--log-level', env: 'DRAINER_LOG_LEVEL', help: 'fatal … trace, silent (default info)' },
  reloadSeconds: { flag: '--reload-interval-seconds', env: 'WEBHOOK_TLS_RELOAD_SECONDS', help: 'how often the TLS files are read again (default 5)' },
  shutdownDelaySeconds: { flag: '--shutdown-delay-seconds', env: 'WEBHOOK_SHUTDOWN_DELAY_SECONDS', help: 'not ready this long before closing (default 5)' },
} as const satisfies Record<string, Setting>;

export const WEBHOOK_USAGE = `eureka-drainer webhook — the mutating admission webhook that adds the drainer to pods

Usage: eureka-drainer webhook --cert FILE --key FILE [options]

${Object.values(SETTINGS)
  .map((s) => `  ${`${s.flag} (${s.env})`.padEnd(52)}${s.help}`)
  .join('\n')}

Serves POST /inject (namespaces labelled eureka-drainer/inject=enabled) and POST /inject-pod
(pods labelled eureka-drainer/inject=enabled elsewhere), GET /healthz, /readyz over TLS.`;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Flags (read as every command reads them: src/command-line.ts) over the environment: the options, `help` for
 * -h/--help, or the problem parseArgs found in the flags (a usage error). Throws ConfigError with every problem
 * in the values.
 */
export function parseWebhookOptions(args: readonly string[], env: NodeJS.ProcessEnv): WebhookOptions | 'help' | { readonly problem: string } {
  const parsed = readFlags(args, valueFlags(SETTINGS));
  if (parsed.kind === 'help') return 'help';
  if (parsed.kind === 'problem') return { problem: parsed.problem };
  const flags: Partial<Record<string, string>> = parsed.flags;
  const problems: string[] = [];
  const read = (s: Setting): { value: string; from: string } | undefined => {
    const flag = flags[s.flag.slice(2)];
    if (flag !== undefined) return { value: flag, from: s.flag };
    const fromEnv = env[s.env];
    return fromEnv !== undefined && fromEnv !== '' ? { value: fromEnv, from: s.env } : undefined;
  };
  const required = (s: Setting): string => {
    const found = read(s);
    if (!found) problems.push(`${s.flag} (or ${s.env}) is required`);
    return found?.value ?? '';
  };
  const integer = (s: Setting, fallback: number, min: number, max: number): number => {
    const found = read(s);
    if (!found) return fallback;
    const n = /^\d+$/.test(found.value) ? Number(found.value) : NaN;
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    problems.push(`${found.from} must be a whole number from ${min} to ${max}, got ${JSON.stringify(found.value.slice(0, 40))}`);
    return fallback;
  };
  const oneOf = <T extends string>(s: Setting, values: readonly T[], fallback: T): T => {
    const found = read(s);
    if (!found) return fallback;
    if ((values as readonly string[]).includes(found.value)) return found.value as T;
    problems.push(`${found.from} must be one of ${values.join(', ')}, got ${JSON.stringify(found.value.slice(0, 40))}`);
    return fallback;
  };

  const options: WebhookOptions = {
    certFile: required(SETTINGS.certFile),
    keyFile: required(SETTINGS.keyFile),
    host: read(SETTINGS.host)?.value ?? '::',
    port: integer(SETTINGS.port, 8443, 1, 65_535),
    metricsPort: integer(SETTINGS.metricsPort, 9090, 0, 65_535),
    defaults: {
      image: read(SETTINGS.image)?.value ?? DEFAULTS.image,
      sidecar: oneOf(SETTINGS.sidecar, ['native', 'classic'] as const, DEFAULTS.sidecar),
    },
    logLevel: oneOf(SETTINGS.logLevel, LOG_LEVELS, 'info'),
    reloadIntervalMs: integer(SETTINGS.reloadSeconds, 5, 1, 3_600) * 1000,
    shutdownDelayMs: integer(SETTINGS.shutdownDelaySeconds, 5, 0, 60) * 1000,
  };
  if (options.metricsPort !== 0 && options.metricsPort === options.port) problems.push(`the metrics port and the TLS port are both ${options.port}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return options;
}

export interface RunningWebhook {
  /** Not ready, wait the shutdown delay, close both servers. */
  stop(): Promise<void>;
}

/** Starts the webhook; resolves once the TLS files are read (rejects when they cannot be). */
export async function startWebhook(options: WebhookOptions, inject: InjectFunction, logger: Logger): Promise<RunningWebhook> {
  let initial: TlsPair;
  try {
    initial = await readTlsPair({ certFile: options.certFile, keyFile: options.keyFile });
  } catch (error) {
    throw new ConfigError([`cannot use the TLS certificate ${options.certFile} and key ${options.keyFile}: ${describeError(error)}`]);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const metrics = createWebhookMetrics(registry);
  let ready = true;
  const webhook = startWebhookServer({
    tls: { certFile: options.certFile, keyFile: options.keyFile },
    initial,
    port: options.port,
    host: options.host,
    review: { inject, defaults: options.defaults },
    logger,
    metrics,
    isReady: () => ready,
    reloadIntervalMs: options.reloadIntervalMs,
    onListenError: () => process.exit(1),
  });
  const metricsServer = options.metricsPort === 0 ? undefined : startMetricsServer(registry, options, logger);
  logger.info({ defaults: options.defaults, port: options.port, metricsPort: options.metricsPort }, 'webhook configuration');
  return {
    stop: async () => {
      ready = false;
      await new Promise((resolve) => setTimeout(resolve, options.shutdownDelayMs).unref());
      await Promise.all([webhook.close(), metricsServer ? new Promise<void>((resolve) => metricsServer.close(() => resolve())) : undefined]);
    },
  };
}

function startMetricsServer(registry: Registry, options: WebhookOptions, logger: Logger): Server {
  const server = createHttpServer({ headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 8 * 1024 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, 'cannot render metrics');
        res.writeHead(500).end();
      },
    );
  });
  server.maxConnections = 16;
  server.on('error', (error) => {
    logger.fatal({ err: error, port: options.metricsPort }, 'cannot listen (metrics)');
    process.exit(1);
  });
  server.listen({ port: options.metricsPort, host: options.host, ipv6Only: false });
  return server;
}

/** The subcommand: parse, start, stop on SIGTERM/SIGINT. Exit 2 on bad configuration. */
export function runWebhook(args: readonly string[], version: string): void {
  let options: ReturnType<typeof parseWebhookOptions>;
  try {
    options = parseWebhookOptions(args, process.env);
  } catch (error) {
    process.stderr.write(usageError('webhook', error instanceof Error ? error.message : String(error), WEBHOOK_USAGE));
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${WEBHOOK_USAGE}\n`);
    return;
  }
  if ('problem' in options) {
    process.stderr.write(usageError('webhook', options.problem, WEBHOOK_USAGE));
    process.exit(2);
  }
  const logger = createLogger(options.logLevel).child({ command: 'webhook' });
  logger.info({ version }, 'starting the webhook');
  startWebhook(options, injectWorkload, logger).then(
    (running) => {
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal, again: stopping }, 'termination signal received');
        if (stopping) return;
        stopping = true;
        void running.stop().then(() => {
          logger.info('webhook stopped');
          logger.flush();
          process.exitCode = 0;
        });
        // The answers in flight take milliseconds; never outlive the grace period on a stuck connection.
        setTimeout(() => process.exit(0), options.shutdownDelayMs + 10_000).unref();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
    (error: unknown) => {
      logger.fatal({ err: error }, 'cannot start the webhook');
      logger.flush();
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}
