#!/usr/bin/env node
'use strict';
/**
 * Fleet benchmark helper (not shipped): hosts several drainers in one Node process, for `fleet.ts --per-process K`.
 * Each is what `<dist>/main.js` builds in serve(): its own configuration (from its own environment object, not
 * process.env), Eureka client, metrics registry, DrainController (companion mode) and HTTP server with /prestop,
 * /metrics, /readyz on its own port; the start-up clean-up of a stale override runs as in main.ts. Left out: signal
 * handling and the pod-deadline watch (process-wide; the bench never signals a drainer mid-drain), the default
 * process metrics (one process, many drainers), owner mode.
 *
 *   node bench/fleet-host.js DIST   (stdin: a JSON array of environment objects, one per drainer)
 *
 * Prints one line per drainer once it listens: {"fleetHost":"listening","index":k,"port":p}. The drainers' own logs
 * go to stdout too (level from each environment). SIGTERM closes every server and exits 0.
 */
const { join, resolve } = require('node:path');

const dist = resolve(process.argv[2] || join(__dirname, '..', 'dist'));
const need = (file) => require(join(dist, file));
const { Registry } = require('prom-client');
const { parseConfig } = need('config');
const { computePlan } = need('plan');
const { systemClock } = need('clock');
const { EurekaClient } = need('eureka/client');
const { createMetrics } = need('metrics');
const { createLogger } = need('logger');
const { DrainController } = need('drain/controller');
const { companionMode } = need('drain/companion-mode');
const { createAppExit } = need('app-exit');
const { probePort } = need('app-probe');
const { createApp } = need('http/routes');
const { startServer } = need('http/server');

function host(env, index) {
  const config = parseConfig(env, { requireTarget: true });
  const logger = createLogger(config.logLevel).child({ drainer: index });
  const plan = computePlan(config.timings, { replicationSettleMs: 0 });
  const registry = new Registry();
  const metrics = createMetrics(registry);
  metrics.setPlan(plan);
  const eureka = new EurekaClient({
    timeoutMs: config.eurekaTimeoutMs,
    retries: config.eurekaRetries,
    clock: systemClock,
    onRequest: (operation, _server, result, seconds) => metrics.eurekaRequest(operation, result, seconds),
  });
  const controller = new DrainController({
    config,
    plan,
    clock: systemClock,
    eureka,
    logger,
    metrics,
    appExit: createAppExit(config),
    probeApp: () => probePort(config.appHost, config.appPort),
    mode: companionMode,
  });
  const app = createApp({ config, plan, controller, registry, metrics, logger, isReady: () => !controller.lifecycle.terminating });
  const server = startServer(app, config, logger, { onListenError: () => process.exit(1) });
  server.once('listening', () => process.stdout.write(`${JSON.stringify({ fleetHost: 'listening', index, port: server.address().port })}\n`));
  void controller.clearStaleOverride().catch(() => undefined);
  return server;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const servers = JSON.parse(input).map(host);
  process.on('SIGTERM', () => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    setTimeout(() => process.exit(0), 200).unref();
  });
});
