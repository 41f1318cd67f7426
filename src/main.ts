#!/usr/bin/env node
import type { Server } from 'node:http';
import type { ParseArgsOptionsConfig } from 'node:util';
import { Registry } from 'prom-client';
import { createAppExit } from './app-exit';
import { readFlags, usageError, type FlagValues } from './command-line';
import { probePort } from './app-probe';
import { systemClock } from './clock';
import { parseConfig, redactConfig, type Config } from './config';
import { ENVIRONMENT_USAGE } from './config/help';
import { DrainController } from './drain/controller';
import { acceptsTraffic, followsPodDeadline, terminationBegun } from './drain/machine';
import { companionMode } from './drain/companion-mode';
import { ownerMode } from './drain/owner-mode';
import { REPLICATION_SETTLE_MS } from './drain/replication-settle';
import { watchPodDeadline } from './kube/pod-deadline';
import { startOwner } from './owner/start';
import { readDefaultGateways } from './pod-gateway';
import { ConfigError } from './errors';
import { EurekaClient } from './eureka/client';
import { oneAddressWarning } from './eureka/one-address';
import { createApp, planJson } from './http/routes';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { registerProcessMetrics } from './process-metrics';
import { computePlan, describeFit, formatPlanTable } from './plan';
import { startServer } from './http/server';
import { logAdmissionWarnings } from './http/source-advice';
import { parseSelector, readInFlight } from './tail';
import { VERSION } from './version';

/** Exit codes: 0 all went well; 1 the drain or clean-up could not finish; 2 bad configuration or usage. */
const EXIT_OK = 0;
const EXIT_INCOMPLETE = 1;
const EXIT_USAGE = 2;

const USAGE = `eureka-drainer — drains a Spring Cloud service out of Eureka before its pod stops

Usage:
  eureka-drainer              serve /prestop, /drain, /plan, /healthz, /readyz, /metrics
  eureka-drainer plan [--json]
                              print the drain plan from the environment; exits 1 if it
                              does not fit DRAINER_GRACE_PERIOD_SECONDS
  eureka-drainer inject [-f FILE] [--image IMAGE] [--sidecar native|classic]
                              add the drainer to the opted-in workloads of Kubernetes
                              YAML (stdin or FILE) and write it to stdout
  eureka-drainer webhook --cert FILE --key FILE
                              serve the mutating admission webhook that adds the drainer
                              to pods (TLS); webhook --help lists its options
  eureka-drainer check [-n NAMESPACE] [--context NAME] [-o table|json]
                              list the pods whose drain would go wrong (no drainer in an
                              opted-in namespace, grace too short, preStop elsewhere, other
                              image); exits 1 if any; check --help lists its options
  eureka-drainer --help       this text
  eureka-drainer --version    the version

Every command takes -h/--help; a flag is --name VALUE or --name=VALUE.
Configuration is read from the environment; every variable: docs/configuration.md.
Exit codes: 0 ok, 1 drain or clean-up incomplete (or plan does not fit), 2 bad configuration.`;

/** -h/--help: the usage and the environment it reads. Usage errors print the usage alone. */
const HELP = `${USAGE}\n\n${ENVIRONMENT_USAGE}`;

function loadConfig(requireTarget: boolean): Config {
  try {
    return parseConfig(process.env, { requireTarget, podGateways: readDefaultGateways() });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`eureka-drainer: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
}

/** A command's flags, or the usage (exit 0) or a usage error (exit 2) and no return. */
function flagsOf<O extends ParseArgsOptionsConfig>(command: string | undefined, args: readonly string[], options: O): FlagValues<O> {
  const read = readFlags(args, options);
  if (read.kind === 'flags') return read.flags;
  if (read.kind === 'help') {
    process.stdout.write(`${HELP}\n`);
    process.exit(EXIT_OK);
  }
  process.stderr.write(usageError(command, read.problem, USAGE));
  process.exit(EXIT_USAGE);
}

function planCommand(args: readonly string[]): never {
  const { json } = flagsOf('plan', args, { json: { type: 'boolean' } });
  const config = loadConfig(false);
  const plan = computePlan(config.timings, { replicationSettleMs: config.mode === 'owner' ? REPLICATION_SETTLE_MS : 0 });
  if (json === true) process.stdout.write(`${JSON.stringify(planJson(plan), null, 2)}\n`);
  else process.stdout.write(`${formatPlanTable(plan)}\n`);
  process.exit(plan.fits ? EXIT_OK : EXIT_INCOMPLETE);
}

function serve(): void {
  const config = loadConfig(true);
  const logger = createLogger(config.logLevel);
  const plan = computePlan(config.timings, { replicationSettleMs: config.mode === 'owner' ? REPLICATION_SETTLE_MS : 0 });
  const registry = new Registry();
  // The process metrics a sidecar needs, cheap per scrape (prom-client's defaults cost 0.55 ms each: bench/README).
  registerProcessMetrics(registry);
  const metrics = createMetrics(registry);
  metrics.setPlan(plan);
  const clock = systemClock;
  const eureka = new EurekaClient({
    timeoutMs: config.eurekaTimeoutMs,
    retries: config.eurekaRetries,
    clock,
    onRequest: (operation, _server, result, seconds) => metrics.eurekaRequest(operation, result, seconds),
  });
  const selector = parseSelector(config.tailMetric);
  // Owner mode: the drainer is the app's Eureka client (register, heartbeat, health-gate).
  const owner = config.owner
    ? startOwner(config, config.owner, {
        eureka,
        clock,
        logger,
        registry,
        onRejected: (error) => {
          logger.fatal({ err: error }, 'every eureka server rejected the registration; fix the instance settings');
          exit(EXIT_USAGE);
        },
      })
    : undefined;
  const controller = new DrainController({
    config,
    plan,
    clock,
    eureka,
    logger,
    metrics,
    appExit: createAppExit(config),
    probeApp: () => probePort(config.appHost, config.appPort),
    mode: owner ? ownerMode(owner) : companionMode,
    ...(config.tailMetricsUrl
      ? { readInFlight: (signal: AbortSignal) => readInFlight(config.tailMetricsUrl!, selector, 2_000, signal) }
      : {}),
  });
  // Kubernetes may end the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS (off by default; RBAC: get on its own pod).
  const podDeadlineStop = new AbortController();
  const podDeadline = watchPodDeadline({
    env: process.env,
    settings: config.podDeadline,
    clock,
    logger,
    signal: podDeadlineStop.signal,
    active: () => followsPodDeadline(controller.lifecycle),
    onGraceEnd: (at, source) => controller.learnGraceEnd(at, source),
  });
  const app = createApp({ config, plan, controller, registry, metrics, logger, isReady: () => acceptsTraffic(controller.lifecycle) && (owner?.isRegistered() ?? true) });

  logger.info({ version: VERSION, config: redactConfig(config) }, 'effective configuration');
  if (plan.fits) logger.info({ plan: planJson(plan) }, 'drain plan');
  else logger.warn({ plan: planJson(plan) }, `drain plan ${describeFit(plan)}`);
  logAdmissionWarnings(config, logger);

  void oneAddressWarning(config.servers).then((warning) => warning && logger.warn({ servers: config.servers.map((s) => s.label) }, warning));
  const server: Server = startServer(app, config, logger, { onListenError: () => process.exit(EXIT_INCOMPLETE) });
  // Companion mode only: an override left by an earlier pod with our id. Owner mode registers afresh.
  if (!owner) void controller.clearStaleOverride().catch((error: unknown) => logger.warn({ err: error }, 'startup override check failed'));

  let exiting = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const again = terminationBegun(controller.lifecycle);
    logger.info({ signal, phase: controller.currentPhase, again }, again ? 'signal received again; still finishing the drain' : 'termination signal received');
    if (again) return;
    podDeadline.start('SIGTERM');
    void controller.terminate().then(
      (code) => exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'termination failed');
        exit(EXIT_INCOMPLETE);
      },
    );
    // Last resort: never outlive the grace period, whatever hangs.
    setTimeout(() => exit(EXIT_INCOMPLETE), Math.max(0, controller.exitDeadline() - clock.now()) + 500).unref();
  };
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    podDeadlineStop.abort();
    logger.info({ code }, 'exiting');
    server.closeAllConnections();
    server.close();
    logger.flush();
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (error) => {
    logger.error({ err: error }, 'unhandled rejection');
  });
}

/** The first word names the command; before any command, only --help and --version. */
function main(argv: readonly string[]): void {
  const [command, ...rest] = argv;
  switch (command) {
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return;
    case 'plan':
      return planCommand(rest);
    // Each CLI's modules (yaml, rfc6902, the Kubernetes client) are loaded by its own command, never by the sidecar.
    case 'inject':
      return void import('./inject/cli.js').then(({ runInject }) => runInject(rest, process.stdin, process.stdout, process.stderr)).then((code) => (process.exitCode = code));
    case 'webhook':
      return void import('./webhook/command.js').then(({ runWebhook }) => runWebhook(rest, VERSION));
    case 'check':
      return void import('./check/command.js').then(({ runCheck }) => runCheck(rest, process.stdout, process.stderr)).then((code) => (process.exitCode = code));
    case 'serve':
      flagsOf('serve', rest, {});
      return serve();
    default:
      if (command !== undefined && !command.startsWith('-')) {
        process.stderr.write(usageError(undefined, `unknown command ${JSON.stringify(command.slice(0, 40))}`, USAGE));
        process.exit(EXIT_USAGE);
      }
      if (flagsOf(undefined, argv, { version: { type: 'boolean', short: 'v' } }).version === true) {
        process.stdout.write(`${VERSION}\n`);
        return;
      }
      return serve();
  }
}

main(process.argv.slice(2));
