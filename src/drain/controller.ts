import { describeError } from '../errors';
import type { Logger } from '../logger';
import { cleanUp, type CleanupResult } from './clean-up';
import { deadlineRules, deadlinesOf, earlierEnd, type DeadlineRules } from './deadlines';
import { keepBack } from './keep-back';
import { LiveDeadlines } from './live-deadlines';
import { DrainAborted, type DrainDeps } from './deps';
import { decide, exitCodeFor, INITIAL_STATE, isDraining, type DrainPhase, type LifecycleAction, type LifecycleEventType, type LifecycleState } from './machine';
import { newRecord, type DrainRecord, type ServerState } from './record';
import { buildReport, iso, serverReport, type DrainReport } from './report';
import { runDrain } from './run';
import { clearStaleOverride } from './startup-hygiene';
import { watchApp } from './watch-app';

export type { DrainReport, ServerReport } from './report';
export type { ServerState, TailEnd } from './record';

export interface NotJoined {
  readonly joined: false;
  readonly reason: string;
  readonly phase: DrainPhase;
}

export interface AbortAnswer {
  readonly aborted: boolean;
  readonly phase: DrainPhase;
  readonly reason?: string;
}

/**
 * The I/O shell around the lifecycle decider (machine.ts) and the drain
 * sequence (run.ts). It tells the decider every event — /prestop, the
 * drainer's own preStop join, SIGTERM, abort, the drain's progress, the app
 * gone or back, the clean-up done, the deadline — and carries out the actions
 * it answers. It keeps no phase flags of its own: only the decider's state,
 * the current drain's record and the last report.
 */
export class DrainController {
  private state: LifecycleState = INITIAL_STATE;
  private readonly phaseAt: Partial<Record<DrainPhase, number>> = {};
  private record: DrainRecord | undefined;
  private running: Promise<DrainReport> | undefined;
  private lastReport: DrainReport | undefined;
  private abortController: AbortController | undefined;
  private cleanupLeftSomething = false;
  private watchGeneration = 0;
  private exitCode: Promise<number> | undefined;
  /** The pod's end when Kubernetes said it (deletionTimestamp); counts only when earlier than DRAINER_GRACE_PERIOD_SECONDS. */
  private podEndsAt: number | undefined;
  private readonly deadlineRules: DeadlineRules;
  private resolveExit: ((code: number) => void) | undefined;
  private readonly drainStartWaiters = new Set<() => void>();
  private readonly cleanedWaiters = new Set<(ok: boolean) => void>();
  private readonly log: Logger;

  constructor(private readonly deps: DrainDeps) {
    this.state = { ...INITIAL_STATE, owner: deps.mode.name === 'owner' };
    this.log = deps.logger.child({ component: 'drain' });
    this.deadlineRules = deadlineRules(deps.plan, deps.config.timings);
    deps.metrics.setPhase('idle');
  }

  get currentPhase(): DrainPhase {
    return this.state.phase;
  }

  /** The decider's whole state, for /drain and the tests. */
  get lifecycle(): LifecycleState {
    return this.state;
  }

  /** When the process must be gone (deadlines.ts exitBy), counted from the termination start, or from now while none began. */
  exitDeadline(): number {
    return deadlinesOf(this.deadlineRules, { since: this.state.terminationStartedAt ?? this.deps.clock.now(), podEndsAt: this.podEndsAt }).exitBy;
  }

  /**
   * Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS
   * (`kubectl delete --grace-period`, an eviction's DeleteOptions, node-pressure
   * eviction, a second delete), learned from the pod's deadline. The
   * running drain's deadlines move (every wait in progress follows them, so
   * the app keeps its shutdown time), and the process deadline with them.
   * Only ever earlier.
   */
  learnGraceEnd(at: number, source: string): void {
    if (this.podEndsAt !== undefined && at >= this.podEndsAt) return;
    const before = this.exitDeadline();
    this.podEndsAt = earlierEnd(this.podEndsAt, at);
    if (this.exitDeadline() >= before) return;
    this.deps.metrics.gracePeriodShortened();
    this.log.warn({ graceEndsAt: iso(at), source, exitDeadlineWas: iso(before), exitDeadline: iso(this.exitDeadline()) }, 'Kubernetes ends the grace period earlier than DRAINER_GRACE_PERIOD_SECONDS: cutting the drain to fit');
    const r = this.record;
    if (r && (isDraining(this.state.phase) || this.state.phase === 'aborting')) {
      r.deadlines.learnPodEnd(at);
      r.problems.push(`the grace period ends at ${iso(at)} (${source}), earlier than DRAINER_GRACE_PERIOD_SECONDS: waits are cut at ${iso(r.deadlines.current().answerBy)}`);
    }
    if (this.resolveExit) this.armDeadline();
  }

  /** GET/POST /prestop: start a drain, join the running one, or return the finished report. */
  prestop(): Promise<DrainReport> {
    const actions = this.dispatch('prestop');
    if (actions.includes('start_drain')) {
      this.deps.metrics.prestopRequest('started');
      return this.perform(actions) ?? this.running!;
    }
    if (actions.includes('join_drain') && this.running) {
      this.deps.metrics.prestopRequest('joined');
      return this.running;
    }
    if (actions.includes('answer_last_report') && this.lastReport) {
      this.deps.metrics.prestopRequest('finished');
      return Promise.resolve(this.lastReport);
    }
    // Queued behind an abort: the decider starts the drain when the abort is done.
    this.deps.metrics.prestopRequest('queued');
    return this.nextDrain(Number.POSITIVE_INFINITY).then((run) => run ?? this.prestop());
  }

  /**
   * GET/POST /prestop/join, the drainer container's own preStop: join the
   * drain the app's preStop starts, or answer quickly if none starts. On a
   * pod termination both hooks run at once and this returns with the drain;
   * on a restart of the drainer container alone only this hook runs, and the
   * instance stays in service.
   */
  async join(): Promise<DrainReport | NotJoined> {
    const actions = this.dispatch('join');
    if (actions.includes('join_drain') && this.running) {
      this.deps.metrics.prestopRequest('join_joined');
      return this.running;
    }
    if (actions.includes('answer_last_report') && this.lastReport) {
      this.deps.metrics.prestopRequest('join_joined');
      return this.lastReport;
    }
    const run = await this.nextDrain(this.deps.config.sigtermPrestopWaitMs);
    if (run) {
      this.deps.metrics.prestopRequest('join_joined');
      return run;
    }
    this.dispatch('join_timed_out');
    this.deps.metrics.prestopRequest('join_no_drain');
    this.log.info({ waitedMs: this.deps.config.sigtermPrestopWaitMs }, 'our own preStop ran and the app’s did not: this container alone is stopping; the instance stays in service');
    return { joined: false, reason: 'no drain started: only this container is stopping', phase: this.state.phase };
  }

  /**
   * The guard refused a call that looks like the kubelet's preStop (token or
   * source mismatch). The kubelet ignores the answer and sends the app SIGTERM
   * at once: with our own SIGTERM (which cannot be forged) that means the app
   * is stopping undrained, so drain anyway as far as the grace period allows.
   */
  hookRefused(): void {
    const actions = this.dispatch('hook_refused');
    if (actions.includes('start_drain')) {
      this.log.error('draining after a refused preStop call: fix the token or the allow-list (see the line before)');
      void this.perform(actions);
      return;
    }
    void this.deps.clock.sleep(this.deps.config.sigtermPrestopWaitMs).then(() => this.dispatch('hook_refusal_expired'));
  }

  /** POST /drain/abort: before the app was told to exit, put the instance back in service. */
  async abort(): Promise<AbortAnswer> {
    const before = this.state.phase;
    const actions = this.dispatch('abort');
    if (!actions.includes('cancel_drain')) {
      return { aborted: false, phase: before, reason: before === 'idle' ? 'no drain is running' : `too late: the drain is ${before}` };
    }
    this.abortController?.abort(new DrainAborted('aborted by POST /drain/abort'));
    await this.running?.catch(() => undefined);
    return { aborted: true, phase: this.state.phase };
  }

  /**
   * SIGTERM. Resolves with the exit code once nothing is left to do: the
   * drain and the clean-up finished, this container alone is restarting, or
   * the grace period is about to end.
   */
  terminate(): Promise<number> {
    const actions = this.dispatch('sigterm');
    if (this.exitCode) return this.exitCode;
    this.exitCode = new Promise((resolve) => (this.resolveExit = resolve));
    this.armDeadline();
    if (actions.includes('start_drain')) this.log.error({ why: 'refused preStop' }, 'SIGTERM right after a refused preStop call: draining anyway; fix the token or the allow-list');
    if (actions.includes('wait_for_prestop')) {
      this.log.info({ waitMs: this.deps.config.sigtermPrestopWaitMs }, 'SIGTERM while idle: waiting for the /prestop call');
      void this.nextDrain(this.deps.config.sigtermPrestopWaitMs).then((run) => {
        if (run) this.log.info('/prestop arrived after SIGTERM: finishing the drain before exit');
        else {
          this.log.info('no /prestop call: cleaning up once the app is gone');
          void this.perform(this.dispatch('prestop_wait_over'));
        }
      });
    } else if (isDraining(this.state.phase)) this.log.info({ phase: this.state.phase }, 'SIGTERM during a drain: finishing the drain and the clean-up first');
    void this.perform(actions);
    return this.exitCode;
  }

  /** At the exit deadline, tell the decider (it ends a terminating process). Re-armed when the deadline moves earlier. */
  private armDeadline(): void {
    const at = this.exitDeadline();
    void this.deps.clock.sleep(Math.max(0, at - this.deps.clock.now())).then(() => {
      if (this.exitDeadline() === at) void this.perform(this.dispatch('deadline'));
    });
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
    const r = this.record;
    if (!r || !isDraining(this.state.phase)) return 0;
    const planned = r.windowEnd === undefined ? r.startedAt + this.deps.plan.drainMs : r.windowEnd + this.deps.config.timings.tailMs;
    return Math.max(0, Math.min(planned, r.deadlines.current().answerBy) - this.deps.clock.now());
  }

  /** /drain: what the drain is doing now. */
  snapshot(): Record<string, unknown> {
    const now = this.deps.clock.now();
    const r = this.record;
    return {
      phase: this.state.phase,
      mode: this.deps.mode.name,
      terminating: this.state.terminating,
      instanceId: r?.instanceId ?? null,
      startedAt: r === undefined ? null : iso(r.startedAt),
      elapsedMs: r === undefined ? 0 : now - r.startedAt,
      remainingMs: this.remainingMs(),
      deadlineAt: r === undefined ? null : iso(r.deadlines.current().answerBy),
      phases: Object.fromEntries(Object.entries(this.phaseAt).map(([k, v]) => [k, iso(v)])),
      servers: r === undefined ? [] : r.servers.map((s) => serverReport(s, r.startedAt)),
      report: this.lastReport ?? null,
    };
  }

  /** Tells the decider one event; logs a phase change; returns what to do. */
  private dispatch(type: LifecycleEventType, fields: Record<string, unknown> = {}): readonly LifecycleAction[] {
    const now = this.deps.clock.now();
    const from = this.state;
    const decision = decide(from, { type, at: now });
    this.state = decision.state;
    const to = decision.state.phase;
    if (to !== from.phase) {
      if (to === 'locating') for (const key of Object.keys(this.phaseAt)) delete this.phaseAt[key as DrainPhase];
      this.phaseAt[to] = now;
      this.deps.metrics.setPhase(to);
      const r = this.record;
      this.log.info({ from: from.phase, to, event: type, why: decision.why, elapsedMs: r === undefined ? 0 : now - r.startedAt, instanceId: r?.instanceId, ...fields }, 'drain phase changed');
    } else {
      this.log.debug({ phase: to, event: type, why: decision.why, actions: decision.actions }, 'lifecycle event');
    }
    return decision.actions;
  }

  /** Carries out the actions that change the world; returns the new drain when one starts. */
  private perform(actions: readonly LifecycleAction[]): Promise<DrainReport> | undefined {
    let started: Promise<DrainReport> | undefined;
    for (const action of actions) {
      if (action === 'start_drain') started = this.startDrain();
      else if (action === 'watch_app') this.watch();
      else if (action === 'start_cleanup') void this.cleanUp();
      else if (action === 'put_back') void this.putBackAfterRestart();
      else if (action === 'exit') this.exit();
    }
    return started;
  }

  /** Resolves with the next drain that starts within `ms`, or undefined. */
  private nextDrain(ms: number): Promise<Promise<DrainReport> | undefined> {
    return new Promise((resolve) => {
      const wake = (): void => resolve(this.running);
      this.drainStartWaiters.add(wake);
      if (Number.isFinite(ms)) {
        void this.deps.clock.sleep(ms).then(() => {
          if (this.drainStartWaiters.delete(wake)) resolve(undefined);
        });
      }
    });
  }

  private startDrain(): Promise<DrainReport> {
    const { clock, plan, config } = this.deps;
    const startedAt = clock.now();
    const deadlines = new LiveDeadlines(this.deadlineRules, this.state.terminationStartedAt ?? startedAt, startedAt, this.podEndsAt);
    const deadline = deadlines.current().answerBy;
    const record = newRecord(
      config.servers.map((s) => s.label),
      startedAt,
      deadlines,
    );
    if (!plan.fits) record.problems.push(`plan does not fit the grace period; waits are cut at ${iso(deadline)}`);
    if (this.state.appNotHeld) {
      // Never better than what happened: the app was stopped before its callers let go.
      record.cutShort = true;
      record.problems.push('started after a refused preStop call (token or source mismatch): nothing held the app, which got SIGTERM at once; callers may have failed until they let go of it');
    }
    this.record = record;
    this.lastReport = undefined;
    this.cleanupLeftSomething = false;
    this.abortController = new AbortController();
    this.log.info({ deadlineAt: iso(deadline), plannedDrainMs: plan.drainMs }, 'drain started');
    const run = this.drive(record, this.abortController.signal);
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = undefined;
    });
    for (const wake of this.drainStartWaiters) wake();
    this.drainStartWaiters.clear();
    return run;
  }

  private async drive(record: DrainRecord, signal: AbortSignal): Promise<DrainReport> {
    const step = (event: Parameters<Parameters<typeof runDrain>[3]>[0], fields?: Record<string, unknown>): void => {
      const actions = this.dispatch(event, fields);
      // The report stands from the moment the drain answered, before anything watches the app.
      if (event === 'app_told') this.lastReport = this.report(record);
      void this.perform(actions);
    };
    try {
      await runDrain(this.deps, record, signal, step);
    } catch (error) {
      // A bug must not cost the answer: report what is known, never better than it was.
      record.cutShort = true;
      record.problems.push(`internal error: ${describeError(error)}`);
      this.log.error({ err: error }, 'drain failed unexpectedly; answering with what is known');
      for (const event of ['not_located', 'taken_out', 'verified', 'window_elapsed', 'tail_elapsed'] as const) this.dispatch(event);
      if (this.state.phase === 'exiting_app') step('app_told');
    }
    const report = record.aborted || !this.lastReport ? this.report(record) : this.lastReport;
    this.lastReport = report;
    this.deps.metrics.drainFinished(report.outcome, report.durationMs / 1000);
    this.deps.metrics.setRemaining(0);
    if (report.outcome === 'not_taken_out') this.log.error({ report }, 'drain finished: the instance was NOT taken out; callers may still select it');
    else this.log.info({ report }, 'drain finished');
    if (record.aborted) {
      void this.perform(this.dispatch('abort_done'));
      this.watchPutBack(record);
    }
    return report;
  }

  private report(record: DrainRecord): DrainReport {
    return buildReport(record, this.deps.plan, this.phaseAt, this.deps.clock.now(), this.deps.mode.name);
  }

  /** Polls until the app is gone or back, then tells the decider. One watcher at a time. */
  private watch(): void {
    const generation = ++this.watchGeneration;
    const record = this.record;
    const stillCurrent = (): boolean => generation === this.watchGeneration;
    const loop = async (): Promise<void> => {
      for (;;) {
        const fate = await watchApp(this.deps, {
          instanceId: record?.instanceId,
          registeredAt: record?.registeredAt,
          terminating: () => this.state.terminating,
          until: () => (this.state.terminating ? this.exitDeadline() : this.deps.clock.now() + this.deps.plan.gracePeriodMs),
          appWasGone: this.state.phase === 'done',
        });
        if (!stillCurrent()) return;
        if (fate === 'gone') return void this.perform(this.dispatch('app_gone'));
        if (fate === 'back') return void this.perform(this.dispatch('app_back'));
        // 'deadline': when terminating, the deadline timer ends the process; otherwise keep watching for a restart.
        if (this.state.terminating) return;
      }
    };
    void loop().catch((error: unknown) => this.log.warn({ err: error }, 'watching the app failed'));
  }

  private async cleanUp(): Promise<void> {
    const { config, clock } = this.deps;
    const record = this.record;
    const servers: ServerState[] = record?.servers ?? config.servers.map((s) => ({ server: s.label, put: 'pending', restored: 0 }));
    const until = this.state.terminating ? this.exitDeadline() : clock.now() + 10_000;
    let result: CleanupResult | undefined;
    try {
      result = await cleanUp(this.deps, servers, record?.instanceId, until);
    } catch (error) {
      this.log.error({ err: error }, 'clean-up failed');
    }
    const left = result?.leftSomething ?? true;
    this.cleanupLeftSomething = left;
    // The `done` line says what is left and where, and whether a late replication was waited out.
    void this.perform(
      this.dispatch('cleaned', {
        instanceId: result?.instanceId,
        leftSomething: left,
        left: result?.left ?? [],
        replicationSettled: result?.settled ?? false,
        servers: servers.map((s) => ({ server: s.server, cleanup: s.cleanup })),
      }),
    );
    for (const wake of this.cleanedWaiters) wake(!left);
    this.cleanedWaiters.clear();
  }

  /** The app came back after a drain without the pod terminating: take our override off (the new process inherited it). */
  private async putBackAfterRestart(): Promise<void> {
    const record = this.record;
    this.log.info({ instanceId: record?.instanceId }, 'app restarted after a drain: putting the instance back in service; the next preStop drains again');
    this.watchGeneration++;
    this.record = undefined;
    this.lastReport = undefined;
    if (record === undefined) return;
    for (const failure of await this.deps.mode.putBack(this.deps, record)) this.log.warn({ reason: failure }, 'could not put the instance back after the app restarted');
    this.watchPutBack(record);
  }

  /** Companion mode: an override our earlier PUT left in a peer's replication queue may land again; remove it while no new drain runs. */
  private watchPutBack(record: DrainRecord): void {
    const id = record.instanceId;
    if (id === undefined || this.deps.mode.name !== 'companion') return;
    // Back while idle with this record, or none (a restart forgets it); a new drain ends the watch.
    const stillBack = (): boolean => (this.record === record || this.record === undefined) && this.state.phase === 'idle';
    void keepBack(this.deps, id, stillBack).catch((error: unknown) => this.log.warn({ err: error }, 'watching the put-back failed'));
  }

  private exit(): void {
    if (!this.resolveExit) return;
    const code = exitCodeFor(this.state, this.cleanupLeftSomething);
    this.log.info({ phase: this.state.phase, code, joinFoundNoDrain: this.state.joinFoundNoDrain }, code === 0 ? 'nothing of ours is left: exiting' : 'exiting with something possibly left behind (see the clean-up lines)');
    this.resolveExit(code);
    this.resolveExit = undefined;
  }
}
