import type { Timings } from '../config';
import type { Plan } from '../plan';

/**
 * Every deadline of a drain and of the process, in one place, pure.
 *
 * They all count from the start of the grace period (the SIGTERM, or the
 * drain's start when /prestop came first) and end with the pod: at
 * DRAINER_GRACE_PERIOD_SECONDS, or earlier when Kubernetes says so
 * (`kubectl delete --grace-period`, an eviction: the pod's deletionTimestamp,
 * src/kube/pod-deadline.ts). The pod's end only ever moves earlier
 * (`earlierEnd`); the drain re-reads these numbers whenever it does
 * (live-deadlines.ts), so no step keeps a copy from when it began.
 */

/** The process leaves this long before the pod's end, so its last log lines and exit code get out before SIGKILL. */
export const EXIT_LEAD_MS = 1_000;

/**
 * Taking out is cheap and always worth trying, even when no wait fits the
 * grace period: the PUTs get at least this long after the drain's start, as
 * long as the process itself is still allowed to live.
 */
export const TAKE_OUT_FLOOR_MS = 1_000;

/** Even a drain cut short must still tell the app to go: the call gets this long past the drain's deadline, inside the process's own life. */
export const LATE_CALL_MS = 1_000;

/** What the deadlines are made of: the plan's grace period and drain budget, the app's shutdown time and the margin. */
export interface DeadlineRules {
  readonly gracePeriodMs: number;
  /** The longest /prestop may block from the grace period's start (plan.ts: grace − app shutdown − margin, at least 0). */
  readonly drainBudgetMs: number;
  readonly appShutdownMs: number;
  readonly marginMs: number;
}

export function deadlineRules(plan: Pick<Plan, 'gracePeriodMs' | 'drainBudgetMs'>, timings: Pick<Timings, 'appShutdownMs' | 'marginMs'>): DeadlineRules {
  return { gracePeriodMs: plan.gracePeriodMs, drainBudgetMs: plan.drainBudgetMs, appShutdownMs: timings.appShutdownMs, marginMs: timings.marginMs };
}

export interface DeadlineInputs {
  /** When the grace period began: the SIGTERM, or the drain's start if /prestop came first. */
  readonly since: number;
  /** When the drain began (not before `since`); `since` when there is no drain. */
  readonly drainStartedAt?: number | undefined;
  /** When Kubernetes says the pod ends, if it said so; only counts when earlier than the configured grace period. */
  readonly podEndsAt?: number | undefined;
}

export interface Deadlines {
  /** The pod's own end: the kubelet's SIGKILL. */
  readonly podEndsAt: number;
  /** When the process must be gone. */
  readonly exitBy: number;
  /** When /prestop must have answered, so the app keeps its shutdown time and the margin; never before the drain's start. */
  readonly answerBy: number;
  /** Until when the take-out may run: the drain's deadline, but at least TAKE_OUT_FLOOR_MS from its start while the process may live. */
  readonly takeOutBy: number;
}

/** Pure: every deadline, from the rules, the start of the grace period and the pod's end if Kubernetes told it. */
export function deadlinesOf(rules: DeadlineRules, inputs: DeadlineInputs): Deadlines {
  const { since } = inputs;
  const startedAt = inputs.drainStartedAt ?? since;
  const configuredEnd = since + rules.gracePeriodMs;
  const told = inputs.podEndsAt;
  const podEndsAt = told === undefined ? configuredEnd : Math.min(configuredEnd, told);
  const exitBy = podEndsAt - EXIT_LEAD_MS;
  const budgetEnd = since + rules.drainBudgetMs;
  // The budget already keeps the app's shutdown and the margin inside the configured grace period; a told end keeps them too.
  const answerBy = Math.max(startedAt, told === undefined ? budgetEnd : Math.min(budgetEnd, told - rules.appShutdownMs - rules.marginMs));
  const takeOutBy = Math.max(answerBy, Math.min(startedAt + TAKE_OUT_FLOOR_MS, exitBy));
  return { podEndsAt, exitBy, answerBy, takeOutBy };
}

/** Pure: the pod's end after Kubernetes told `learnt`: only ever earlier than what was known. */
export function earlierEnd(known: number | undefined, learnt: number): number {
  return known === undefined ? learnt : Math.min(known, learnt);
}

/** Pure: until when the app-exit call that began at `calledAt` may run: the late-call allowance, never past the process's own end. */
export function lateCallBy(deadlines: Deadlines, calledAt: number): number {
  return Math.min(deadlines.exitBy, Math.max(deadlines.answerBy, calledAt + LATE_CALL_MS));
}
