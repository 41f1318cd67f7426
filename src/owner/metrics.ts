import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock';
import { METRIC_PREFIX } from '../metrics';
import type { HealthCheckResult } from './health-read';
import { REGISTERED_STATUSES, type RegisteredStatus } from './instance';

/** One heartbeat PUT to one server: renewed, 404 (asks for a re-register), or failed. */
export type HeartbeatResult = 'success' | 'not_found' | 'error';

export type RegistrationReason = 'initial' | 'not_found' | 'after_outage' | 'status_change' | 'resume';

export const REGISTRATION_REASONS: readonly RegistrationReason[] = ['initial', 'not_found', 'after_outage', 'status_change', 'resume'];

export interface OwnerMetrics {
  heartbeat(result: HeartbeatResult): void;
  /** A server accepted a registration. */
  registered(reason: RegistrationReason): void;
  /** What the instance is registered as; undefined once it was cancelled or before it was registered. */
  registeredStatus(status: RegisteredStatus | undefined): void;
  healthCheck(result: HealthCheckResult): void;
}

/**
 * Owner mode's metrics, in the caller's registry, under the project prefix.
 * seconds_since_last_heartbeat is computed at scrape time from the clock, so
 * it keeps growing while nothing renews (an alert can fire on it); before the
 * first heartbeat it counts from when these metrics were created.
 */
export function createOwnerMetrics(registry: Registry, clock: Clock): OwnerMetrics {
  const registers = [registry];
  let lastHeartbeatAt = clock.now();
  const heartbeats = new Counter({
    name: `${METRIC_PREFIX}heartbeats_total`,
    help: 'Heartbeat PUTs sent for the app in owner mode, by result (success, not_found, error).',
    labelNames: ['result'],
    registers,
  });
  const registrations = new Counter({
    name: `${METRIC_PREFIX}registrations_total`,
    help: 'Registrations a Eureka server accepted in owner mode, by reason (initial, not_found, after_outage, status_change, resume).',
    labelNames: ['reason'],
    registers,
  });
  const status = new Gauge({
    name: `${METRIC_PREFIX}registered_status`,
    help: 'The status the app is registered with in owner mode: 1 for the current one, 0 for the others (all 0 when not registered).',
    labelNames: ['status'],
    registers,
  });
  const healthChecks = new Counter({
    name: `${METRIC_PREFIX}health_checks_total`,
    help: "Reads of the app's health URL in owner mode, by result (healthy, unhealthy, error).",
    labelNames: ['result'],
    registers,
  });
  new Gauge({
    name: `${METRIC_PREFIX}seconds_since_last_heartbeat`,
    help: 'Seconds since a Eureka server last accepted a heartbeat in owner mode (from start-up until the first one).',
    registers,
    collect() {
      this.set(Math.max(0, (clock.now() - lastHeartbeatAt) / 1000));
    },
  });
  for (const result of ['success', 'not_found', 'error'] as const) heartbeats.inc({ result }, 0);
  for (const reason of REGISTRATION_REASONS) registrations.inc({ reason }, 0);
  for (const result of ['healthy', 'unhealthy', 'error'] as const) healthChecks.inc({ result }, 0);
  for (const s of REGISTERED_STATUSES) status.set({ status: s }, 0);

  return {
    heartbeat(result) {
      heartbeats.inc({ result });
      if (result === 'success') lastHeartbeatAt = clock.now();
    },
    registered(reason) {
      registrations.inc({ reason });
    },
    registeredStatus(current) {
      for (const s of REGISTERED_STATUSES) status.set({ status: s }, s === current ? 1 : 0);
    },
    healthCheck(result) {
      healthChecks.inc({ result });
    },
  };
}
