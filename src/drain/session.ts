import type { Logger } from '../logger';
import type { DeadlineRules } from './deadlines';
import type { DrainDeps } from './deps';
import { LiveDeadlines } from './live-deadlines';
import type { DrainPhase } from './machine';
import { newRecord, type DrainRecord, type DrainStart } from './record';
import { buildReport, iso, remainingMsOf, snapshotOf, type DrainReport } from './report';

/**
 * The drain of the moment and its answer: the record run.ts fills, the run
 * /prestop callers join, the report that stands once the drain answered, and
 * when each phase began. The controller starts, aborts and forgets it when
 * the decider says so; it decides nothing.
 */
export class DrainSession {
  private current: DrainRecord | undefined;
  private run: Promise<DrainReport> | undefined;
  private answered: DrainReport | undefined;
  private abortController: AbortController | undefined;
  private readonly phaseAt: Partial<Record<DrainPhase, number>> = {};

  constructor(
    private readonly deps: DrainDeps,
    private readonly log: Logger,
  ) {}

  /** The current (or last) drain's record; none before the first drain and after a put-back. */
  get record(): DrainRecord | undefined {
    return this.current;
  }

  /** The drain in progress, until it ended. */
  get running(): Promise<DrainReport> | undefined {
    return this.run;
  }

  /** The report that stands once the drain answered (until a new drain or a put-back). */
  get report(): DrainReport | undefined {
    return this.answered;
  }

  /** A phase began; a fresh drain (locating) forgets the last one's phases. */
  entered(phase: DrainPhase, at: number): void {
    if (phase === 'locating') for (const key of Object.keys(this.phaseAt)) delete this.phaseAt[key as DrainPhase];
    this.phaseAt[phase] = at;
  }

  /**
   * A fresh record, its deadlines counted from the termination's start (`since`, or now) and the pod's end if
   * Kubernetes told it, and `drive` over it under a new abort signal.
   */
  start(rules: DeadlineRules, from: { since: number | undefined; podEndsAt: number | undefined }, start: DrainStart, drive: (record: DrainRecord, signal: AbortSignal) => Promise<DrainReport>): Promise<DrainReport> {
    const startedAt = this.deps.clock.now();
    const deadlines = new LiveDeadlines(rules, from.since ?? startedAt, startedAt, from.podEndsAt);
    this.log.info({ deadlineAt: iso(deadlines.current().answerBy), plannedDrainMs: this.deps.plan.drainMs }, 'drain started');
    const record = newRecord(this.deps.config.servers.map((s) => s.label), startedAt, deadlines, start);
    this.current = record;
    this.answered = undefined;
    this.abortController = new AbortController();
    const run = drive(record, this.abortController.signal);
    this.run = run;
    void run.finally(() => this.run === run && (this.run = undefined));
    return run;
  }

  /** Ends the waits with `reason`; resolves once the drain ended. */
  async abort(reason: Error): Promise<void> {
    this.abortController?.abort(reason);
    await this.run?.catch(() => undefined);
  }

  /** The drain answered: its report stands from now on. */
  answer(): DrainReport {
    this.answered = buildReport(this.current!, this.deps.plan, this.phaseAt, this.deps.clock.now(), this.deps.mode.name);
    return this.answered;
  }

  /** The drain ended (answered, aborted or failed): its report, counted and logged as one summary line. */
  finish(): DrainReport {
    const report = this.answered ?? this.answer();
    this.deps.metrics.drainFinished(report.outcome, report.durationMs / 1000);
    this.deps.metrics.setRemaining(0);
    if (report.outcome === 'not_taken_out') this.log.error({ report }, 'drain finished: the instance was NOT taken out; callers may still select it');
    else this.log.info({ report }, 'drain finished');
    return report;
  }

  /** Kubernetes ends the pod at `at`: a running drain's waits follow, and its report says so. */
  cutTo(at: number, source: string): void {
    const r = this.current;
    if (!r) return;
    r.deadlines.learnPodEnd(at);
    r.problems.push(`the grace period ends at ${iso(at)} (${source}), earlier than DRAINER_GRACE_PERIOD_SECONDS: waits are cut at ${iso(r.deadlines.current().answerBy)}`);
  }

  /** The app came back: forget the drain (the next preStop drains again); returns its record. */
  forget(): DrainRecord | undefined {
    const record = this.current;
    this.current = undefined;
    this.answered = undefined;
    return record;
  }

  /** How long the running drain still plans to wait before /prestop answers; 0 when none runs. */
  remainingMs(draining: boolean): number {
    return remainingMsOf(this.current, draining, this.deps.plan, this.deps.config.timings.tailMs, this.deps.clock.now());
  }

  /** /drain's body. */
  snapshot(phase: DrainPhase, terminating: boolean, draining: boolean): Record<string, unknown> {
    return snapshotOf(this.current, { phase, terminating, mode: this.deps.mode.name, phaseAt: this.phaseAt, remainingMs: this.remainingMs(draining), lastReport: this.answered }, this.deps.clock.now());
  }
}
