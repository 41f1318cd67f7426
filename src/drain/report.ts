import type { AppExitResult } from '../app-exit';
import type { DrainOutcome } from '../metrics';
import type { Plan } from '../plan';
import type { DrainPhase } from './machine';
import type { DrainRecord, ServerState, TailEnd } from './record';
import { isVerified } from './timing';

export interface DrainReport {
  readonly outcome: DrainOutcome;
  /** companion (the override) or owner (heartbeats stopped, cancelled everywhere). */
  readonly mode: 'companion' | 'owner';
  readonly instanceId: string | null;
  readonly startedAt: string;
  readonly answeredAt: string;
  readonly durationMs: number;
  readonly deadlineAt: string;
  readonly phases: Readonly<Partial<Record<DrainPhase, string>>>;
  readonly servers: readonly ServerReport[];
  readonly plan: { readonly selectMs: number; readonly drainMs: number; readonly drainBudgetMs: number; readonly fits: boolean };
  readonly actual: {
    /** Planned: when the client window ends by the evidence, ms after the start (later than the answer when the deadline cut it). */
    readonly clientWindowMs: number | null;
    /** Waited: when the drain stopped waiting for the client window (its end, or the deadline), ms after the start. */
    readonly clientWindowWaitedMs: number | null;
    /** Waited: the tail after the client window's end (0 when the deadline came first). */
    readonly tailMs: number | null;
    readonly tailEndedBy: TailEnd | null;
    readonly drainMs: number;
  };
  readonly appExit: AppExitResult | null;
  readonly problems: readonly string[];
}

export interface ServerReport {
  readonly server: string;
  readonly put: ServerState['put'];
  /** When the server last accepted the override (its answer arrived): the base of its settle time. */
  readonly changedMs: number | null;
  readonly liveVerifiedMs: number | null;
  readonly cacheVerifiedMs: number | null;
  readonly settledMs: number | null;
  readonly verified: boolean;
  readonly restored: number;
  readonly error: string | null;
  readonly cleanup: ServerState['cleanup'] | null;
}

/**
 * Pure: what the callers were exposed to, never better than it was.
 * aborted > not_taken_out (no server ever accepted the change) > cut_short
 * (the deadline ended a wait or a step) > verified / partly / unverified.
 */
export function outcomeOf(record: DrainRecord): DrainOutcome {
  if (record.aborted) return 'aborted';
  if (record.instanceId === undefined || record.servers.every((s) => s.changedAt === undefined)) return 'not_taken_out';
  if (record.cutShort) return 'cut_short';
  const verified = record.servers.filter(isVerified).length;
  if (verified === record.servers.length) return 'verified';
  return verified > 0 ? 'partly_verified' : 'unverified';
}

export function serverReport(s: ServerState, startedAt: number): ServerReport {
  const since = (t: number | undefined): number | null => (t === undefined ? null : t - startedAt);
  return {
    server: s.server,
    put: s.put,
    changedMs: since(s.changedAt),
    liveVerifiedMs: since(s.liveVerifiedAt),
    cacheVerifiedMs: since(s.cacheVerifiedAt),
    settledMs: since(s.settledAt),
    verified: isVerified(s),
    restored: s.restored,
    error: s.error ?? null,
    cleanup: s.cleanup ?? null,
  };
}

/** Pure: the JSON report /prestop answers and the summary line logs. */
export function buildReport(record: DrainRecord, plan: Plan, phases: Readonly<Partial<Record<DrainPhase, number>>>, answeredAt: number, mode: DrainReport['mode']): DrainReport {
  const { startedAt, windowEnd, windowWaitedUntil, tailEndedAt } = record;
  return {
    outcome: outcomeOf(record),
    mode,
    instanceId: record.instanceId ?? null,
    startedAt: iso(startedAt),
    answeredAt: iso(answeredAt),
    durationMs: answeredAt - startedAt,
    deadlineAt: iso(record.deadlines.current().answerBy),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, iso(v)])),
    servers: record.servers.map((s) => serverReport(s, startedAt)),
    plan: { selectMs: plan.selectMs, drainMs: plan.drainMs, drainBudgetMs: plan.drainBudgetMs, fits: plan.fits },
    actual: {
      clientWindowMs: windowEnd === undefined ? null : windowEnd - startedAt,
      clientWindowWaitedMs: windowWaitedUntil === undefined ? null : windowWaitedUntil - startedAt,
      tailMs: windowEnd === undefined || tailEndedAt === undefined ? null : Math.max(0, tailEndedAt - windowEnd),
      tailEndedBy: record.tailEnd ?? null,
      drainMs: answeredAt - startedAt,
    },
    appExit: record.appExit ?? null,
    problems: [...record.problems],
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Pure: how long the running drain still plans to wait before /prestop answers; 0 when none runs. */
export function remainingMsOf(record: DrainRecord | undefined, draining: boolean, plan: Pick<Plan, 'drainMs'>, tailMs: number, now: number): number {
  if (!record || !draining) return 0;
  const planned = record.windowEnd === undefined ? record.startedAt + plan.drainMs : record.windowEnd + tailMs;
  return Math.max(0, Math.min(planned, record.deadlines.current().answerBy) - now);
}

/** What /drain shows besides the record: the lifecycle's view and the last answer. */
export interface SnapshotInputs {
  readonly phase: DrainPhase;
  readonly mode: DrainReport['mode'];
  readonly terminating: boolean;
  readonly phaseAt: Readonly<Partial<Record<DrainPhase, number>>>;
  readonly remainingMs: number;
  readonly lastReport: DrainReport | undefined;
}

/** Pure: /drain, what the drain is doing now. */
export function snapshotOf(record: DrainRecord | undefined, inputs: SnapshotInputs, now: number): Record<string, unknown> {
  const r = record;
  return {
    phase: inputs.phase,
    mode: inputs.mode,
    terminating: inputs.terminating,
    instanceId: r?.instanceId ?? null,
    startedAt: r === undefined ? null : iso(r.startedAt),
    elapsedMs: r === undefined ? 0 : now - r.startedAt,
    remainingMs: inputs.remainingMs,
    deadlineAt: r === undefined ? null : iso(r.deadlines.current().answerBy),
    phases: Object.fromEntries(Object.entries(inputs.phaseAt).map(([k, v]) => [k, iso(v)])),
    servers: r === undefined ? [] : r.servers.map((s) => serverReport(s, r.startedAt)),
    report: inputs.lastReport ?? null,
  };
}
