import { describeError } from '../errors';
import type { Logger } from '../logger';
import { cleanUpAfter } from './clean-up';
import { deadlineRules, type DeadlineRules } from './deadlines';
import { DrainAborted, type DrainDeps } from './deps';
import { keepBackAfter } from './keep-back';
import { LiveDeadlines } from './live-deadlines';
import { cleanupUntil, decide, exitCodeFor, exitDeadlineOf, exitMovedEarlier, INITIAL_STATE, isDraining, watchUntil, type DrainPhase, type LifecycleAction, type LifecycleEventType, type LifecycleState } from './machine';
import { newRecord, type DrainRecord } from './record';
import { buildReport, iso, remainingMsOf, snapshotOf, type DrainReport } from './report';
import { runDrain } from './run';
import { clearStaleOverride } from './startup-hygiene';
import { watchAppFate } from './watch-app';

export type { DrainReport, ServerReport } from './report';
export type { ServerState, TailEnd } from './record';

/** /prestop/join's answer when no drain started. */
export type NotJoined = { readonly joined: false; readonly reason: string; readonly phase: DrainPhase };
/** /drain/abort's answer. */
export type AbortAnswer = { readonly aborted: boolean; readonly phase: DrainPhase; readonly reason?: string };

/**
 * The I/O shell around the lifecycle decider (machine.ts) and the drain
 * sequence (run.ts). It tells the decider every event — /prestop, the
 * drainer's own preStop join, SIGTERM, abort, the drain's progress, the app
 * gone or back, the clean-up done, the pod's end, the deadline — and carries
 * out the actions it answers. Every decision is the decider's (or a pure
 * function beside it); this keeps only its state, the current drain's record,
 * the last report and the promises callers wait on.
 */
export class DrainController {
  private state: LifecycleState;
  private readonly phaseAt: Partial<Record<DrainPhase, number>> = {};
  private record: DrainRecord | undefined;
  private running: Promise<DrainReport> | undefined;
  private lastReport: DrainReport | undefined;
  private abortController: AbortController | undefined;
  private readonly rules: DeadlineRules;
  private readonly exitCode: Promise<number>;
  private resolveExit: (code: number) => void = () => undefined;
  private readonly drainStartWaiters = new Set<() => void>();
  private readonly cleanedWaiters = new Set<(ok: boolean) => void>();
  private readonly log: Logger;

  constructor(private readonly deps: DrainDeps) {
    this.state = { ...INITIAL_STATE, owner: deps.mode.name === 'owner' };
    this.log = deps.logger.child({ component: 'drain' });
    this.rules = deadlineRules(deps.plan, deps.config.timings);
    this.exitCode = new Promise((resolve) => (this.resolveExit = resolve));
    deps.metrics.setPhase('idle');
  }

  get currentPhase(): DrainPhase {
    return this.state.phase;
  }

  /** The decider's whole state: main.ts and /drain ask machine.ts's pure functions about it; the tests read it. */
  get lifecycle(): LifecycleState {
    return this.state;
  }

  /** When the process must be gone (machine.ts exitDeadlineOf). */
  exitDeadline(): number {
    return exitDeadlineOf(this.rules, this.state, this.deps.clock.now());
  }

  /**
   * Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS
   * (`kubectl delete --grace-period`, an eviction, a second delete), learned
   * from the pod's deadline: the running drain's waits follow (the app keeps
   * its shutdown time), and so does the process deadline. Only ever earlier.
   */
  learnGraceEnd(at: number, source: string): void {
    const before = this.state;
    const exitDeadlineWas = this.exitDeadline();
    const actions = this.dispatch('grace_end', {}, { at });
    if (!exitMovedEarlier(this.rules, before, this.state, this.deps.clock.now())) return;
    this.deps.metrics.gracePeriodShortened();
    this.log.warn({ graceEndsAt: iso(at), source, exitDeadlineWas: iso(exitDeadlineWas), exitDeadline: iso(this.exitDeadline()) }, 'Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS: cutting the drain to fit');
    const r = this.record;
    if (actions.includes('cut_drain') && r) {
      r.deadlines.learnPodEnd(at);
      r.problems.push(`the grace period ends at ${iso(at)} (${source}), earlier than DRAINER_GRACE_PERIOD_SECONDS: waits are cut at ${iso(r.deadlines.current().answerBy)}`);
    }
    if (actions.includes('rearm_exit')) this.armDeadline();
  }

  /** GET/POST /prestop: start a drain, join the running one, or return the finished report. */
  prestop(): Promise<DrainReport> {
    const actions = this.dispatch('prestop');
    if (actions.includes('start_drain')) {
      this.deps.metrics.prestopRequest('started');
      return this.perform(actions)!;
    }
    if (actions.includes('join_drain')) {
      this.deps.metrics.prestopRequest('joined');
      return this.running!;
    }
    if (actions.includes('answer_last_report')) {
      this.deps.metrics.prestopRequest('finished');
      return Promise.resolve(this.lastReport!);
    }
    // Queued behind an abort: the decider starts the drain when the abort is done.
    this.deps.metrics.prestopRequest('queued');
    return this.nextDrain(Number.POSITIVE_INFINITY).then((run) => run ?? this.prestop());
  }

  /**
   * GET/POST /prestop/join, the drainer container's own preStop: join the
   * drain the app's preStop starts, or answer quickly if none starts (a
   * restart of this container alone: the instance stays in service).
   */
  async join(): Promise<DrainReport | NotJoined> {
    const actions = this.dispatch('join');
    const run = actions.includes('join_drain') ? this.running : actions.includes('answer_last_report') ? Promise.resolve(this.lastReport!) : await this.nextDrain(this.deps.config.sigtermPrestopWaitMs);
    if (run) {
      this.deps.metrics.prestopRequest('join_joined');
      return run;
    }
    this.dispatch('join_timed_out');
    this.deps.metrics.prestopRequest('join_no_drain');
    this.log.info({ waitedMs: this.deps.config.sigtermPrestopWaitMs }, 'our own preStop ran and the app’s did not: this container alone is stopping; the instance stays in service');
    return { joined: false, reason: 'no drain started: only this container is stopping', phase: this.state.phase };
  }

  /** The guard refused a call that looks like the kubelet's preStop: with our own SIGTERM it means the app stops undrained (machine.ts). */
  hookRefused(): void {
    const actions = this.dispatch('hook_refused');
    if (actions.includes('start_drain')) this.log.error('draining after a refused preStop call: fix the token or the allow-list (see the line before)');
    else void this.deps.clock.sleep(this.deps.config.sigtermPrestopWaitMs).then(() => this.dispatch('hook_refusal_expired'));
    this.perform(actions);
  }

  /** POST /drain/abort: before the app was told to exit, put the instance back in service. */
  async abort(): Promise<AbortAnswer> {
    const before = this.state.phase;
    if (!this.dispatch('abort').includes('cancel_drain')) return { aborted: false, phase: before, reason: before === 'idle' ? 'no drain is running' : `too late: the drain is ${before}` };
    this.abortController?.abort(new DrainAborted('aborted by POST /drain/abort'));
    await this.running?.catch(() => undefined);
    return { aborted: true, phase: this.state.phase };
  }

  /** SIGTERM. Resolves with the exit code when the decider says exit: nothing left to do, or the grace period is about to end. */
  terminate(): Promise<number> {
    const first = !this.state.terminating;
    const actions = this.dispatch('sigterm');
    if (first) this.armDeadline();
    if (actions.includes('start_drain')) this.log.error({ why: 'refused preStop' }, 'SIGTERM right after a refused preStop call: draining anyway; fix the token or the allow-list');
    if (actions.includes('wait_for_prestop')) {
      this.log.info({ waitMs: this.deps.config.sigtermPrestopWaitMs }, 'SIGTERM while idle: waiting for the /prestop call');
      void this.nextDrain(this.deps.config.sigtermPrestopWaitMs).then((run) => {
        if (run) return this.log.info('/prestop arrived after SIGTERM: finishing the drain before exit');
        this.log.info('no /prestop call: cleaning up once the app is gone');
        this.perform(this.dispatch('prestop_wait_over'));
      });
    } else if (first && isDraining(this.state.phase)) this.log.info({ phase: this.state.phase }, 'SIGTERM during a drain: finishing the drain and the clean-up first');
    this.perform(actions);
    return this.exitCode;
  }

  /** Resolves when the next clean-up is over: true when nothing was left behind. */
  settled(): Promise<boolean> {
    return new Promise((resolve) => this.cleanedWaiters.add(resolve));
  }

  /** Startup hygiene: see startup-hygiene.ts. */
  clearStaleOverride(maxMs = 300_000, everyMs = 5_000): Promise<'cleared' | 'none' | 'gave_up'> {
    return clearStaleOverride(this.deps, () => this.state.phase === 'idle' && !this.state.terminating, maxMs, everyMs);
  }

  /** How long the running drain still plans to wait before /prestop answers; 0 when none runs. */
  remainingMs(): number {
    return remainingMsOf(this.record, isDraining(this.state.phase), this.deps.plan, this.deps.config.timings.tailMs, this.deps.clock.now());
  }

  /** /drain: what the drain is doing now. */
  snapshot(): Record<string, unknown> {
    const { phase, terminating } = this.state;
    return snapshotOf(this.record, { phase, terminating, mode: this.deps.mode.name, phaseAt: this.phaseAt, remainingMs: this.remainingMs(), lastReport: this.lastReport }, this.deps.clock.now());
  }

  /** Tells the decider one event; logs a phase change; returns what to do. */
  private dispatch(type: LifecycleEventType, fields: Record<string, unknown> = {}, extra: { at?: number; watch?: number } = {}): readonly LifecycleAction[] {
    const now = this.deps.clock.now();
    const from = this.state;
    const decision = decide(from, { type, at: now, ...extra });
    this.state = decision.state;
    const to = decision.state.phase;
    if (to === from.phase) {
      this.log.debug({ phase: to, event: type, why: decision.why, actions: decision.actions }, 'lifecycle event');
      return decision.actions;
    }
    if (to === 'locating') for (const key of Object.keys(this.phaseAt)) delete this.phaseAt[key as DrainPhase];
    this.phaseAt[to] = now;
    this.deps.metrics.setPhase(to);
    const r = this.record;
    this.log.info({ from: from.phase, to, event: type, why: decision.why, elapsedMs: r === undefined ? 0 : now - r.startedAt, instanceId: r?.instanceId, ...fields }, 'drain phase changed');
    return decision.actions;
  }

  /** Carries out the actions that change the world; returns the new drain when one starts. */
  private perform(actions: readonly LifecycleAction[]): Promise<DrainReport> | undefined {
    let started: Promise<DrainReport> | undefined;
    for (const action of actions) {
      if (action === 'start_drain') started = this.startDrain();
      else if (action === 'answer_report') this.lastReport = this.report(this.record!);
      else if (action === 'watch_app') this.watch();
      else if (action === 'start_cleanup') void this.cleanUp();
      else if (action === 'put_back') void this.putBack();
      else if (action === 'exit') this.exit();
    }
    return started;
  }

  /** At the exit deadline, tell the decider (it ends a terminating process). Re-armed when the deadline moves earlier. */
  private armDeadline(): void {
    const at = this.exitDeadline();
    void this.deps.clock.sleep(Math.max(0, at - this.deps.clock.now())).then(() => {
      if (this.exitDeadline() === at) this.perform(this.dispatch('deadline'));
    });
  }

  /** Resolves with the next drain that starts within `ms`, or undefined. */
  private nextDrain(ms: number): Promise<Promise<DrainReport> | undefined> {
    return new Promise((resolve) => {
      const wake = (): void => resolve(this.running);
      this.drainStartWaiters.add(wake);
      if (Number.isFinite(ms)) void this.deps.clock.sleep(ms).then(() => this.drainStartWaiters.delete(wake) && resolve(undefined));
    });
  }

  private startDrain(): Promise<DrainReport> {
    const { clock, plan, config } = this.deps;
    const startedAt = clock.now();
    const deadlines = new LiveDeadlines(this.rules, this.state.terminationStartedAt ?? startedAt, startedAt, this.state.podEndsAt);
    const record = newRecord(
      config.servers.map((s) => s.label),
      startedAt,
      deadlines,
      { planFits: plan.fits, appNotHeld: this.state.appNotHeld },
    );
    this.record = record;
    this.lastReport = undefined;
    this.abortController = new AbortController();
    this.log.info({ deadlineAt: iso(deadlines.current().answerBy), plannedDrainMs: plan.drainMs }, 'drain started');
    const run = this.drive(record, this.abortController.signal);
    this.running = run;
    void run.finally(() => this.running === run && (this.running = undefined));
    for (const wake of this.drainStartWaiters) wake();
    this.drainStartWaiters.clear();
    return run;
  }

  private async drive(record: DrainRecord, signal: AbortSignal): Promise<DrainReport> {
    const ended = await runDrain(this.deps, record, signal, (event, fields) => this.perform(this.dispatch(event, fields)));
    if (ended === 'failed') this.perform(this.dispatch('drain_failed'));
    const report = this.lastReport ?? this.report(record);
    this.lastReport = report;
    this.deps.metrics.drainFinished(report.outcome, report.durationMs / 1000);
    this.deps.metrics.setRemaining(0);
    if (report.outcome === 'not_taken_out') this.log.error({ report }, 'drain finished: the instance was NOT taken out; callers may still select it');
    else this.log.info({ report }, 'drain finished');
    if (record.aborted) {
      this.perform(this.dispatch('abort_done'));
      keepBackAfter(this.deps, record.instanceId, this.stillBack(record));
    }
    return report;
  }

  private report(record: DrainRecord): DrainReport {
    return buildReport(record, this.deps.plan, this.phaseAt, this.deps.clock.now(), this.deps.mode.name);
  }

  /** Polls until the app is gone or back, then tells the decider, naming this watch (a newer one makes its news stale). */
  private watch(): void {
    const { watch } = this.state;
    const record = this.record;
    const input = {
      instanceId: record?.instanceId,
      registeredAt: record?.registeredAt,
      terminating: () => this.state.terminating,
      until: () => watchUntil(this.rules, this.state, this.deps.clock.now()),
      appWasGone: this.state.phase === 'done',
    };
    void watchAppFate(this.deps, input, () => this.state.watch === watch)
      .then((fate) => fate && this.perform(this.dispatch(fate === 'gone' ? 'app_gone' : 'app_back', {}, { watch })))
      .catch((error: unknown) => this.log.warn({ err: describeError(error) }, 'watching the app failed'));
  }

  private async cleanUp(): Promise<void> {
    const done = await cleanUpAfter(this.deps, this.record, cleanupUntil(this.rules, this.state, this.deps.clock.now()), this.log);
    this.perform(this.dispatch(done.leftSomething ? 'cleaned_partly' : 'cleaned', done.fields));
    for (const wake of this.cleanedWaiters) wake(!done.leftSomething);
    this.cleanedWaiters.clear();
  }

  /** The app came back after a drain without the pod terminating: take our change off (the new process inherited it). */
  private async putBack(): Promise<void> {
    const record = this.record;
    this.log.info({ instanceId: record?.instanceId }, 'app restarted after a drain: putting the instance back in service; the next preStop drains again');
    this.record = undefined;
    this.lastReport = undefined;
    if (record === undefined) return;
    for (const failure of await this.deps.mode.putBack(this.deps, record)) this.log.warn({ err: failure }, 'could not put the instance back after the app restarted');
    keepBackAfter(this.deps, record.instanceId, this.stillBack(record));
  }

  /** Back in service while idle with this record, or none (a restart forgets it); a new drain ends the keep-back. */
  private stillBack(record: DrainRecord): () => boolean {
    return () => (this.record === record || this.record === undefined) && this.state.phase === 'idle';
  }

  private exit(): void {
    const code = exitCodeFor(this.state);
    this.log.info({ phase: this.state.phase, code, joinFoundNoDrain: this.state.joinFoundNoDrain }, code === 0 ? 'nothing of ours is left: exiting' : 'exiting with something possibly left behind (see the clean-up lines)');
    this.resolveExit(code);
  }
}
