import { Registry } from 'prom-client';
import type { AppExit, AppExitResult } from '../../src/app-exit';
import type { PortState } from '../../src/app-probe';
import type { Env } from '../../src/config';
import { DrainController } from '../../src/drain/controller';
import { companionMode } from '../../src/drain/companion-mode';
import type { DrainDeps, TakeOutMode } from '../../src/drain/deps';
import { createMetrics } from '../../src/metrics';
import { computePlan } from '../../src/plan';
import type { InFlightReading } from '../../src/tail';
import { captureLogs } from './capture-logs';
import { testConfig } from './config';
import { ManualClock } from './manual-clock';
import { MemoryEureka } from './memory-eureka';

export const INSTANCE_ID = '10.0.0.1:demo:8080';

/** A controller over two in-memory servers, a manual clock and a fake app. */
export function controllerFixture(env: Env = {}, options: { servers?: number; inFlight?: () => InFlightReading | Promise<InFlightReading>; readInFlight?: (signal: AbortSignal) => Promise<InFlightReading>; appExit?: AppExit; mode?: TakeOutMode } = {}) {
  const servers = MemoryEureka.serverConfigs(options.servers ?? 2);
  const config = testConfig({ DRAINER_EUREKA_URLS: servers.map((s) => s.url).join(','), DRAINER_GRACE_PERIOD_SECONDS: '300', ...env });
  const plan = computePlan(config.timings);
  const clock = new ManualClock();
  const eureka = new MemoryEureka(clock, servers.map((s) => s.label));
  const { logger, lines } = captureLogs('debug');
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const app = { port: 'open' as PortState, exits: 0 };
  const deps: DrainDeps = {
    config,
    plan,
    clock,
    eureka,
    logger,
    metrics,
    appExit: async (signal?: AbortSignal): Promise<AppExitResult> => {
      app.exits++;
      if (options.appExit) return options.appExit(signal);
      return { strategy: 'kubelet', ok: true, detail: 'test' };
    },
    probeApp: async () => app.port,
    ...(options.inFlight ? { readInFlight: async () => options.inFlight!() } : {}),
    ...(options.readInFlight ? { readInFlight: options.readInFlight } : {}),
    mode: options.mode ?? companionMode,
  };
  const controller = new DrainController(deps);
  return { config, plan, clock, eureka, logger, lines, registry, controller, app, servers, deps };
}
