import type { Logger } from '../logger';
import { cleanUpAfter } from './clean-up';
import { deadlineRules, type DeadlineRules } from './deadlines';
import { DrainAborted, type DrainDeps } from './deps';
import { keepBackAfter, putBackAfterRestart } from './keep-back';
import { atRest, cleanupUntil, decide, exitCodeFor, exitDeadlineOf, exitMovedEarlier, INITIAL_STATE, isDraining, prestopAnswer, watchUntil, type DrainPhase, type LifecycleAction, type LifecycleEventType, type LifecycleState } from './machine';
import type { DrainRecord } from './record';
import { iso, type DrainReport } from './report';
import { runDrain } from './run';
import { DrainSession } from './session';
import { clearStaleOverride } from './startup-hygiene';
import { Waiters } from './waiters';
import { watchAppFate } from './watch-app';

export type { DrainReport, ServerReport } from './report';
export type { ServerState, TailEnd } from './record';

/** /prestop/join's answer when no drain started. */
export type NotJoined = { readonly joined: false; readonly reason: string; readonly phase: DrainPhase };
/** /drain/abort's answer. */
export type AbortAnswer = { readonly aborted: boolean; readonly phase: DrainPhase; readonly reason?: string };

/**
 * The I/O shell around the lifecycle decider (machine.ts): it turns every event (/prestop, the drainer's own
 * preStop, SIGTERM, abort, the drain's progress, the app gone or back, the clean-up, the pod's end, the deadline)
 * into a decide() call and every action into its effect. Every decision is the decider's, or a pure function beside it.
 */
export class DrainController {
  private state: LifecycleState;
  private readonly session: DrainSession;
  private readonly rules: DeadlineRules;
  private resolveExit: (code: number) => void = () => undefined;
  private readonly exitCode = new Promise<number>((resolve) => (this.resolveExit = resolve));
  private readonly drainStarts: Waiters<Promise<DrainReport>>;
  /** True when the clean-up left nothing behind. */
  private readonly cleanUps: Waiters<boolean>;
  private readonly log: Logger;

  constructor(private readonly deps: DrainDeps) {
    this.state = { ...INITIAL_STATE, owner: deps.mode.name === 'owner' };
    this.log = deps.logger.child({ component: 'drain' });
    this.rules = deadlineRules(deps.plan, deps.config.timings);
    this.session = new DrainSession(deps, this.log);
    this.drainStarts = new Waiters(deps.clock);
    this.cleanUps = new Waiters(deps.clock);
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

  /** Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS (an eviction, `--grace-period`): the drain's waits and the exit follow. */
  learnGraceEnd(at: number, source: string): void {
    const before = this.state;
    const exitDeadlineWas = this.exitDeadline();
    const actions = this.dispatch('grace_end', {}, { at });
    if (!exitMovedEarlier(this.rules, before, this.state, this.deps.clock.now())) return;
    this.deps.metrics.gracePeriodShortened();
    this.log.warn({ graceEndsAt: iso(at), source, exitDeadlineWas: iso(exitDeadlineWas), exitDeadline: iso(this.exitDeadline()) }, 'Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS: cutting the drain to fit');
    if (actions.includes('cut_drain')) this.session.cutTo(at, source);
    if (actions.includes('rearm_exit')) this.armDeadline();
  }

  /** GET/POST /prestop: start a drain, join the running one, or return the finished report. */
  prestop(): Promise<DrainReport> {
    const actions = this.dispatch('prestop');
    const answer = prestopAnswer(actions);
    this.deps.metrics.prestopRequest(answer);
    if (answer === 'started') return this.perform(actions)!;
    if (answer === 'joined') return this.session.running!;
    if (answer === 'finished') return Promise.resolve(this.session.report!);
    // Queued behind an abort: the decider starts the drain when the abort is done.
    return this.drainStarts.next().then((run) => run ?? this.prestop());
  }

  /** GET/POST /prestop/join, our own preStop: join the app's drain, or answer soon if none starts (this container alone restarts). */
  async join(): Promise<DrainReport | NotJoined> {
    const actions = this.dispatch('join');
    const run = actions.includes('join_drain') ? this.session.running : actions.includes('answer_last_report') ? Promise.resolve(this.session.report!) : await this.drainStarts.next(this.deps.config.sigtermPrestopWaitMs);
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
    void this.perform(actions);
  }

  /** POST /drain/abort: before the app was told to exit, put the instance back in service. */
  async abort(): Promise<AbortAnswer> {
    const before = this.state.phase;
    if (!this.dispatch('abort').includes('cancel_drain')) return { aborted: false, phase: before, reason: before === 'idle' ? 'no drain is running' : `too late: the drain is ${before}` };
    await this.session.abort(new DrainAborted('aborted by POST /drain/abort'));
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
      void this.drainStarts.next(this.deps.config.sigtermPrestopWaitMs).then((run) => {
        if (run) return this.log.info('/prestop arrived after SIGTERM: finishing the drain before exit');
        this.log.info('no /prestop call: cleaning up once the app is gone');
        void this.perform(this.dispatch('prestop_wait_over'));
      });
    } else if (first && isDraining(this.state.phase)) this.log.info({ phase: this.state.phase }, 'SIGTERM during a drain: finishing the drain and the clean-up first');
    void this.perform(actions);
    return this.exitCode;
  }

  /** Resolves when the next clean-up is over: true when nothing was left behind. */
  settled(): Promise<boolean> {
    return this.cleanUps.next().then((nothingLeft) => nothingLeft === true);
  }

  /** Startup hygiene: see startup-hygiene.ts. */
  clearStaleOverride(maxMs = 300_000, everyMs = 5_000): Promise<'cleared' | 'none' | 'gave_up'> {
    return clearStaleOverride(this.deps, () => atRest(this.state), maxMs, everyMs);
  }

  /** How long the running drain still plans to wait before /prestop answers; 0 when none runs. */
  remainingMs(): number {
    return this.session.remainingMs(isDraining(this.state.phase));
  }

  /** /drain: what the drain is doing now. */
  snapshot(): Record<string, unknown> {
    return this.session.snapshot(this.state.phase, this.state.terminating, isDraining(this.state.phase));
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
    this.session.entered(to, now);
    this.deps.metrics.setPhase(to);
    const r = this.session.record;
    this.log.info({ from: from.phase, to, event: type, why: decision.why, elapsedMs: r === undefined ? 0 : now - r.startedAt, instanceId: r?.instanceId, ...fields }, 'drain phase changed');
    return decision.actions;
  }

  /** Carries out the actions that change the world; returns the new drain when one starts. */
  private perform(actions: readonly LifecycleAction[]): Promise<DrainReport> | undefined {
    let started: Promise<DrainReport> | undefined;
    for (const action of actions) {
      if (action === 'start_drain') started = this.startDrain();
      else if (action === 'answer_report') this.session.answer();
      else if (action === 'watch_app') this.watch();
      else if (action === 'start_cleanup') void this.cleanUp();
      else if (action === 'put_back') this.putBack();
      else if (action === 'exit') this.exit();
    }
    return started;
  }

  /** At the exit deadline, tell the decider (it ends a terminating process). Re-armed when the deadline moves earlier. */
  private armDeadline(): void {
    const at = this.exitDeadline();
    void this.deps.clock.sleep(Math.max(0, at - this.deps.clock.now())).then(() => {
      if (this.exitDeadline() === at) void this.perform(this.dispatch('deadline'));
    });
  }

  private startDrain(): Promise<DrainReport> {
    const { terminationStartedAt: since, podEndsAt, appNotHeld } = this.state;
    const run = this.session.start(this.rules, { since, podEndsAt }, { planFits: this.deps.plan.fits, appNotHeld }, (record, signal) => this.drive(record, signal));
    this.drainStarts.wake(run);
    return run;
  }

  private async drive(record: DrainRecord, signal: AbortSignal): Promise<DrainReport> {
    const ended = await runDrain(this.deps, record, signal, (event, fields) => void this.perform(this.dispatch(event, fields)));
    if (ended === 'failed') void this.perform(this.dispatch('drain_failed'));
    const report = this.session.finish();
    if (record.aborted) {
      void this.perform(this.dispatch('abort_done'));
      keepBackAfter(this.deps, record.instanceId, this.stillBack(record));
    }
    return report;
  }

  /** Polls until the app is gone or back, then tells the decider, naming this watch (a newer one makes its news stale). */
  private watch(): void {
    const { watch } = this.state;
    const { instanceId, registeredAt } = this.session.record ?? {};
    const until = (): number => watchUntil(this.rules, this.state, this.deps.clock.now());
    void watchAppFate(this.deps, { instanceId, registeredAt, until, terminating: () => this.state.terminating, appWasGone: this.state.phase === 'done' }, () => this.state.watch === watch)
      .then((fate) => fate && this.perform(this.dispatch(fate === 'gone' ? 'app_gone' : 'app_back', {}, { watch })))
      .catch((error: unknown) => this.log.warn({ err: error }, 'watching the app failed'));
  }

  private async cleanUp(): Promise<void> {
    const done = await cleanUpAfter(this.deps, this.session.record, cleanupUntil(this.rules, this.state, this.deps.clock.now()), this.log);
    void this.perform(this.dispatch(done.leftSomething ? 'cleaned_partly' : 'cleaned', done.fields));
    this.cleanUps.wake(!done.leftSomething);
  }

  /** The app came back after a drain without the pod terminating: forget the drain and take our change off. */
  private putBack(): void {
    const record = this.session.forget();
    if (record) void putBackAfterRestart(this.deps, record, this.log, this.stillBack(record));
  }

  /** Back in service while idle with this record, or none (a restart forgets it); a new drain ends the keep-back. */
  private stillBack(record: DrainRecord): () => boolean {
    return () => (this.session.record === record || this.session.record === undefined) && this.state.phase === 'idle';
  }

  private exit(): void {
    const code = exitCodeFor(this.state);
    this.log.info({ phase: this.state.phase, code, joinFoundNoDrain: this.state.joinFoundNoDrain }, code === 0 ? 'nothing of ours is left: exiting' : 'exiting with something possibly left behind (see the clean-up lines)');
    this.resolveExit(code);
  }
}
