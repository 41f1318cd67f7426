import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EurekaOperation, EurekaResult } from './eureka/client';
import { DRAIN_PHASES, type DrainOutcome, type DrainPhase } from './phases';
import type { Plan } from './plan';

/** Every metric name lives here. Prometheus naming: base units, _seconds, _total. */
export const METRIC_PREFIX = 'eureka_drainer_';

export type { DrainOutcome } from './phases';

export type PrestopResult = 'started' | 'joined' | 'finished' | 'queued' | 'join_joined' | 'join_no_drain' | 'unauthorized' | 'forbidden';

export type CleanupResult = 'deleted' | 'deleted_again' | 'absent' | 'failed' | 'unreachable' | 'skipped' | 'pending';

export interface Metrics {
  setPhase(phase: DrainPhase): void;
  setRemaining(seconds: number): void;
  setPlan(plan: Plan): void;
  serverVerified(server: string, delaySeconds: number): void;
  eurekaRequest(operation: EurekaOperation, result: EurekaResult, seconds: number): void;
  prestopRequest(result: PrestopResult): void;
  drainFinished(outcome: DrainOutcome, seconds: number): void;
  cleanupDelete(result: CleanupResult): void;
  /** Our override had vanished during the waits and was put back on this server. */
  overrideRestored(server: string): void;
  /** The guard refused a call that came from the kubelet (its preStop): the app is about to stop undrained. */
  kubeletHookRefused(reason: 'unauthorized' | 'forbidden'): void;
  /** Kubernetes ended the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS. */
  gracePeriodShortened(): void;
}

export function createMetrics(registry: Registry): Metrics {
  const registers = [registry];
  const phase = new Gauge({
    name: `${METRIC_PREFIX}drain_phase`,
    help: 'Current drain phase: 1 for the active phase, 0 for the others.',
    labelNames: ['phase'],
    registers,
  });
  const remaining = new Gauge({
    name: `${METRIC_PREFIX}drain_remaining_seconds`,
    help: 'Seconds the running drain still plans to wait before /prestop answers; 0 when idle.',
    registers,
  });
  const planSeconds = new Gauge({
    name: `${METRIC_PREFIX}plan_seconds`,
    help: 'Planned drain window by term, in seconds.',
    labelNames: ['term'],
    registers,
  });
  const planFits = new Gauge({
    name: `${METRIC_PREFIX}plan_fits_grace_period`,
    help: '1 when the planned drain plus app shutdown and margin fits the grace period, else 0.',
    registers,
  });
  const verification = new Gauge({
    name: `${METRIC_PREFIX}server_verification_delay_seconds`,
    help: 'Seconds from the OUT_OF_SERVICE request until the server stopped offering the instance to callers, in the last drain.',
    labelNames: ['server'],
    registers,
  });
  const requests = new Counter({
    name: `${METRIC_PREFIX}eureka_requests_total`,
    help: 'Eureka REST requests by operation and result.',
    labelNames: ['operation', 'result'],
    registers,
  });
  const requestDuration = new Histogram({
    name: `${METRIC_PREFIX}eureka_request_duration_seconds`,
    help: 'Eureka REST request latency in seconds.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const prestop = new Counter({
    name: `${METRIC_PREFIX}prestop_requests_total`,
    help: 'Calls to /prestop by result.',
    labelNames: ['result'],
    registers,
  });
  const drains = new Counter({
    name: `${METRIC_PREFIX}drains_total`,
    help: 'Finished drains by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  const drainDuration = new Histogram({
    name: `${METRIC_PREFIX}drain_duration_seconds`,
    help: 'Seconds from /prestop until the drain answered.',
    buckets: [1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300],
    registers,
  });
  const cleanup = new Counter({
    name: `${METRIC_PREFIX}cleanup_deletes_total`,
    help: 'Leftover registrations handled after the app exited, by result.',
    labelNames: ['result'],
    registers,
  });

  const restored = new Counter({
    name: `${METRIC_PREFIX}override_restored_total`,
    help: 'Times the OUT_OF_SERVICE override vanished during a drain (app config refresh, a DELETE of the status) and was put back, by server.',
    labelNames: ['server'],
    registers,
  });

  const kubeletRefused = new Counter({
    name: `${METRIC_PREFIX}kubelet_hook_refused_total`,
    help: "The kubelet's preStop call was refused (token or source mismatch); the kubelet goes on to SIGTERM regardless.",
    labelNames: ['reason'],
    registers,
  });

  const graceShortened = new Counter({
    name: `${METRIC_PREFIX}grace_period_shortened_total`,
    help: 'Terminations whose real grace period (the pod deletionTimestamp) ended earlier than DRAINER_GRACE_PERIOD_SECONDS.',
    registers,
  });

  return {
    setPhase(current) {
      for (const p of DRAIN_PHASES) phase.set({ phase: p }, p === current ? 1 : 0);
    },
    setRemaining: (seconds) => remaining.set(Math.max(0, seconds)),
    setPlan(plan) {
      for (const term of plan.terms) planSeconds.set({ term: term.name }, term.ms / 1000);
      planFits.set(plan.fits ? 1 : 0);
    },
    serverVerified: (server, delaySeconds) => verification.set({ server }, delaySeconds),
    eurekaRequest(operation, result, seconds) {
      requests.inc({ operation, result });
      if (result !== 'bad_response') requestDuration.observe({ operation }, seconds);
    },
    prestopRequest: (result) => prestop.inc({ result }),
    drainFinished(outcome, seconds) {
      drains.inc({ outcome });
      drainDuration.observe(seconds);
    },
    cleanupDelete: (result) => cleanup.inc({ result }),
    overrideRestored: (server) => restored.inc({ server }),
    kubeletHookRefused: (reason) => kubeletRefused.inc({ reason }),
    gracePeriodShortened: () => graceShortened.inc(),
  };
}
