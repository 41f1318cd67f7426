/**
 * `eureka-drainer webhook`: the mutating admission webhook that adds the drainer to pods.
 * Flags win over the environment; every bad value is reported at once (exit 2).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { flagOptions, readFlags, usageError } from '../command-line';
import { EnvReader, readRows, setting } from '../config/reader';
import { usageTable } from '../config/reference';
import { duration, integer, oneOf, requiredText, text } from '../config/rules';
import { DRAINER_DEFAULT_SETTINGS, readInjectDefaults } from '../inject/drainer-defaults';
import type { LogLevel } from '../config/types';
import { LOG_LEVELS } from '../config/variables';
import { ConfigError, describeError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { injectWorkload, type InjectDefaults } from '../inject/inject';
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

/** The webhook's own rows, in the same table form as the drainer's (src/config/variables.ts): a flag, then its variable. */
const OWN_SETTINGS = {
  certFile: setting(['--cert', 'WEBHOOK_TLS_CERT_FILE'], requiredText(), 'PEM certificate (chain) file; read again every few seconds'),
  keyFile: setting(['--key', 'WEBHOOK_TLS_KEY_FILE'], requiredText(), 'PEM private key file'),
  host: setting(['--host', 'WEBHOOK_HOST'], text('::'), 'address to listen on (:: is dual-stack)'),
  port: setting(['--port', 'WEBHOOK_PORT'], integer(8443, 1, 65_535), 'TLS port'),
  metricsPort: setting(['--metrics-port', 'WEBHOOK_METRICS_PORT'], integer(9090, 0, 65_535), 'plain-HTTP /metrics port; 0: off'),
  logLevel: setting(['--log-level', 'DRAINER_LOG_LEVEL'], oneOf(LOG_LEVELS, 'info'), 'fatal … trace, silent'),
  reloadIntervalMs: setting(['--reload-interval-seconds', 'WEBHOOK_TLS_RELOAD_SECONDS'], duration(5_000, 's', { minMs: 1_000, maxMs: 3_600_000 }), 'how often the TLS files are read again'),
  shutdownDelayMs: setting(['--shutdown-delay-seconds', 'WEBHOOK_SHUTDOWN_DELAY_SECONDS'], duration(5_000, 's', { maxMs: 60_000 }), 'not ready this long before closing'),
} as const;

/** Every row: its own, then the injected drainer's defaults (the rows `eureka-drainer inject` reads too). */
export const SETTINGS = { ...OWN_SETTINGS, ...DRAINER_DEFAULT_SETTINGS } as const;

export const WEBHOOK_USAGE = `eureka-drainer webhook — the mutating admission webhook that adds the drainer to pods

Usage: eureka-drainer webhook --cert FILE --key FILE [options]

${usageTable(Object.values(SETTINGS))}

Serves POST /inject (namespaces labelled eureka-drainer/inject=enabled) and POST /inject-pod
(pods labelled eureka-drainer/inject=enabled elsewhere), GET /healthz, /readyz over TLS.`;

/**
 * Flags (read as every command reads them: src/command-line.ts) over the environment, by the rules every
 * component reads with (src/config/reader.ts): the options, `help` for -h/--help, or the problem parseArgs
 * found in the flags (a usage error). Throws ConfigError with every problem in the values.
 */
export function parseWebhookOptions(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): WebhookOptions | 'help' | { readonly problem: string } {
  const parsed = readFlags(args, flagOptions(Object.values(SETTINGS)));
  if (parsed.kind === 'help') return 'help';
  if (parsed.kind === 'problem') return { problem: parsed.problem };
  const reader = new EnvReader(env, readFile, parsed.flags);
  const options: WebhookOptions = { ...readRows(reader, OWN_SETTINGS), defaults: readInjectDefaults(reader) };
  if (options.metricsPort !== 0 && options.metricsPort === options.port) reader.problem(`the metrics port and the TLS port are both ${options.port}`);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
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
  // defaults.token, if any, is censored by the logger's redact paths (src/logger.ts).
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
