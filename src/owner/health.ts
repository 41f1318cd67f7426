import type { RegisteredStatus } from './instance';

export interface HealthThresholds {
  /** Consecutive failures that turn UP into DOWN. */
  readonly failuresDown: number;
  /** Consecutive successes that turn STARTING or DOWN into UP. */
  readonly successesUp: number;
}

export interface HealthGate {
  readonly status: RegisteredStatus;
  /** Successes in a row since the last failure. */
  readonly successes: number;
  /** Failures in a row since the last success. */
  readonly failures: number;
}

export interface HealthStep {
  readonly gate: HealthGate;
  /** The status to register changed with this answer: send it now. */
  readonly changed: boolean;
}

export const INITIAL_HEALTH: HealthGate = Object.freeze({ status: 'STARTING', successes: 0, failures: 0 });

/**
 * The status the registration follows, from the app's health answers.
 * STARTING lasts until the app has been healthy `successesUp` times in a row:
 * it is never UP before it answered. Failures while STARTING keep it STARTING
 * (an app that never came up is not "down", it is not there yet; callers skip
 * both). Once UP, one bad answer is noise: only `failuresDown` in a row turn
 * it DOWN, and `successesUp` in a row bring it back.
 */
export function observeHealth(gate: HealthGate, healthy: boolean, thresholds: HealthThresholds): HealthStep {
  const successes = healthy ? gate.successes + 1 : 0;
  const failures = healthy ? 0 : gate.failures + 1;
  let status = gate.status;
  if (healthy && status !== 'UP' && successes >= thresholds.successesUp) status = 'UP';
  else if (!healthy && status === 'UP' && failures >= thresholds.failuresDown) status = 'DOWN';
  return { gate: { status, successes, failures }, changed: status !== gate.status };
}
