import type { AppExit, AppExitResult } from '../app-exit';
import type { PortState } from '../app-probe';
import { sleepUntil, type Clock } from '../clock';
import type { Config, EurekaServerConfig } from '../config';
import { describeError } from '../errors';
import type { EurekaApi } from '../eureka/client';
import { findOwnInstance } from '../eureka/find-instance';
import type { Logger } from '../logger';
import type { DrainOutcome, Metrics } from '../metrics';
import type { Plan } from '../plan';
import type { InFlightReading } from '../tail';
import { isDraining, transition, type DrainEvent, type DrainPhase } from './machine';
import { clientWindowEnd, isVerified, primedInTime, serverSettledAt, verificationCutoff } from './timing';

export interface ServerState {
  readonly server: string;
  put: 'pending' | 'ok' | 'not_found' | 'failed';
  primedAt?: number;
  putAt?: number;
  trusted?: boolean;
  liveVerifiedAt?: number;
  cacheVerifiedAt?: number;
  lastStaleSeenAt?: number;
  settledAt?: number;
  error?: string;
  cleanup?: 'pending' | 'deleted' | 'absent' | 'failed' | 'skipped';
}

export type TailEnd = 'fixed' | 'idle' | 'metric_unreadable' | 'deadline';

export interface DrainReport {
  readonly outcome: DrainOutcome;
  readonly instanceId: string | null;
  readonly startedAt: string;
  readonly answeredAt: string;
  readonly durationMs: number;
  readonly deadlineAt: string;
  readonly phases: Readonly<Partial<Record<DrainPhase, string>>>;
  readonly servers: readonly ServerReport[];
  readonly plan: { readonly selectMs: number; readonly drainMs: number; readonly drainBudgetMs: number; readonly fits: boolean };
  readonly actual: {
    readonly clientWindowMs: number | null;
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
  readonly liveVerifiedMs: number | null;
  readonly cacheVerifiedMs: number | null;
  readonly settledMs: number | null;
  readonly verified: boolean;
  readonly error: string | null;
  readonly cleanup: ServerState['cleanup'] | null;
}

export interface DrainControllerDeps {
  readonly config: Config;
  readonly plan: Plan;
  readonly clock: Clock;
  readonly eureka: EurekaApi;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly appExit: AppExit;
  readonly probeApp: () => Promise<PortState>;
  readonly readInFlight?: (signal: AbortSignal) => Promise<InFlightReading>;
}

class DrainAborted extends Error {
  override name = 'DrainAborted';
}

/**
 * Runs the drain: the I/O shell around the pure machine and timing. One drain
 * at a time; /prestop calls join it; nothing that fails shortens a wait that
 * was not verified, and every wait is clipped to the deadline so /prestop is
 * always answered before the grace period ends.
 */
export class DrainController {
  private phase: DrainPhase = 'idle';
  private readonly phaseAt: Partial<Record<DrainPhase, number>> = {};
  private running: Promise<DrainReport> | undefined;
  private lastReport: DrainReport | undefined;
  private abortController: AbortController | undefined;
  private servers: ServerState[] = [];
  private instanceId: string | undefined;
  private startedAt: number | undefined;
  private deadlineAt: number | undefined;
  private expectedAnswerAt: number | undefined;
  private terminationStartedAt: number | undefined;
  private signalled = false;
  private cleanupPromise: Promise<boolean> | undefined;
  private readonly drainStartWaiters = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly deps: DrainControllerDeps) {
    this.log = deps.logger.child({ component: 'drain' });
    deps.metrics.setPhase('idle');
  }

  get currentPhase(): DrainPhase {
    return this.phase;
  }

  /** The kubelet started terminating the pod (SIGTERM or /prestop, whichever came first). */
  terminationStarted(at = this.deps.clock.now()): void {
    if (this.terminationStartedAt === undefined || at < this.terminationStartedAt) this.terminationStartedAt = at;
  }

  /** The process got SIGTERM: the pod is terminating, the app will not come back. */
  signalReceived(): void {
    this.signalled = true;
    this.terminationStarted();
  }

  /** When the process must be gone: the grace period from termination start, less a second. */
  exitDeadline(): number {
    const start = this.terminationStartedAt ?? this.deps.clock.now();
    return start + this.deps.plan.gracePeriodMs - 1_000;
  }

  /** GET/POST /prestop: start a drain, join the running one, or return the finished report. */
  prestop(): Promise<DrainReport> {
    if (this.running) {
      this.deps.metrics.prestopRequest('joined');
      return this.running;
    }
    if (this.lastReport && this.phase !== 'aborted' && this.phase !== 'idle') {
      this.deps.metrics.prestopRequest('finished');
      return Promise.resolve(this.lastReport);
    }
    this.deps.metrics.prestopRequest('started');
    this.terminationStarted();
    const run = this.run();
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = undefined;
    });
    for (const wake of this.drainStartWaiters) wake();
    this.drainStartWaiters.clear();
    return run;
  }

  /** Resolves true if a drain starts within `ms` (SIGTERM may beat the kubelet's /prestop call). */
  waitForDrainStart(ms: number): Promise<boolean> {
    if (this.running || this.phase !== 'idle') return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => resolve(true);
      this.drainStartWaiters.add(wake);
      void this.deps.clock.sleep(ms).then(() => {
        if (this.drainStartWaiters.delete(wake)) resolve(false);
      });
    });
  }

  /**
   * Startup hygiene for stable instance ids (StatefulSets, explicit ids): a
   * pod killed before its clean-up leaves an OUT_OF_SERVICE override that the
   * next process with the same id inherits, and it would never get traffic.
   * Once the app listens and is registered, remove such an override. Gives up
   * after `maxMs`, or as soon as a drain starts or the pod terminates.
   */
  async clearStaleOverride(maxMs = 300_000, everyMs = 5_000): Promise<'cleared' | 'none' | 'gave_up'> {
    const { clock, config, eureka } = this.deps;
    const giveUpAt = clock.now() + maxMs;
    while (clock.now() < giveUpAt) {
      if (this.phase !== 'idle' || this.signalled) return 'gave_up';
      if ((await this.deps.probeApp()) === 'open') {
        const signal = AbortSignal.timeout(config.eurekaTimeoutMs * 3);
        const id = await findOwnInstance(config, eureka, this.log, signal).catch(() => undefined);
        if (id !== undefined) {
          let cleared = false;
          for (const server of config.servers) {
            const live = await eureka.getInstance(server, config.appName, id, signal).catch(() => undefined);
            if (live?.overriddenStatus !== 'OUT_OF_SERVICE' || this.phase !== 'idle') continue;
            await eureka.removeStatusOverride(server, config.appName, id, clock.now(), signal).then(
              () => {
                cleared = true;
                this.log.warn({ server: server.label, instanceId: id }, 'cleared a stale OUT_OF_SERVICE override left by an earlier drain');
              },
              (error: unknown) => this.log.warn({ server: server.label, err: describeError(error) }, 'could not clear a stale override'),
            );
          }
          return cleared ? 'cleared' : 'none';
        }
      }
      await clock.sleep(everyMs);
    }
    return 'gave_up';
  }

  /** POST /drain/abort: before the app was told to exit, put the instance back in service. */
  async abort(): Promise<{ readonly aborted: boolean; readonly phase: DrainPhase; readonly reason?: string }> {
    const before = this.phase;
    if (!isDraining(before) || before === 'exiting_app') {
      return { aborted: false, phase: before, reason: before === 'idle' ? 'no drain is running' : `too late: the drain is ${before}` };
    }
    this.abortController?.abort(new DrainAborted('aborted by POST /drain/abort'));
    await this.running?.catch(() => undefined);
    return { aborted: true, phase: this.phase };
  }

  /**
   * Resolves when the clean-up after the app exited is finished (true: it
   * went well). With no drain, it runs the clean-up on its own: the app may
   * be stopping without a preStop call.
   */
  settled(): Promise<boolean> {
    if (this.cleanupPromise) return this.cleanupPromise;
    if (this.running) return this.running.then(() => this.cleanupPromise ?? Promise.resolve(false));
    this.cleanupPromise = this.cleanup();
    return this.cleanupPromise;
  }

  /** How long the running drain still plans to wait before /prestop answers; 0 when none runs. */
  remainingMs(): number {
    return this.running && this.expectedAnswerAt !== undefined ? Math.max(0, this.expectedAnswerAt - this.deps.clock.now()) : 0;
  }

  /** /drain: what the drain is doing now. */
  snapshot(): Record<string, unknown> {
    const now = this.deps.clock.now();
    const remainingMs = this.remainingMs();
    return {
      phase: this.phase,
      instanceId: this.instanceId ?? null,
      startedAt: this.startedAt === undefined ? null : iso(this.startedAt),
      elapsedMs: this.startedAt === undefined ? 0 : now - this.startedAt,
      remainingMs,
      deadlineAt: this.deadlineAt === undefined ? null : iso(this.deadlineAt),
      servers: this.servers.map((s) => this.serverReport(s)),
      report: this.lastReport ?? null,
    };
  }

  private fire(event: DrainEvent, fields: Record<string, unknown> = {}): void {
    const from = this.phase;
    const to = transition(from, event);
    if (to === from) {
      this.log.debug({ phase: from, event }, 'drain event ignored in this phase');
      return;
    }
    const now = this.deps.clock.now();
    this.phase = to;
    this.phaseAt[to] = now;
    this.deps.metrics.setPhase(to);
    this.log.info(
      { from, to, event, elapsedMs: this.startedAt === undefined ? 0 : now - this.startedAt, instanceId: this.instanceId, ...fields },
      'drain phase changed',
    );
  }

  private async run(): Promise<DrainReport> {
    const { clock, plan, config } = this.deps;
    const startedAt = clock.now();
    this.startedAt = startedAt;
    for (const key of Object.keys(this.phaseAt)) delete this.phaseAt[key as DrainPhase];
    this.cleanupPromise = undefined;
    this.instanceId = undefined;
    this.servers = config.servers.map((s) => ({ server: s.label, put: 'pending' }));
    const deadline = Math.max(startedAt, (this.terminationStartedAt ?? startedAt) + plan.drainBudgetMs);
    this.deadlineAt = deadline;
    this.expectedAnswerAt = Math.min(startedAt + plan.drainMs, deadline);
    this.abortController = new AbortController();
    const signal = this.abortController.signal;
    const problems: string[] = [];
    if (!plan.fits) problems.push(`plan does not fit the grace period; waits are cut at ${iso(deadline)}`);
    this.fire('start', { deadlineAt: iso(deadline), plannedDrainMs: plan.drainMs });

    let windowEnd: number | null = null;
    let tailEnd: TailEnd | null = null;
    let tailEndedAt: number | null = null;
    let appExit: AppExitResult | null = null;
    let aborted = false;
    try {
      // Locating, taking out and verifying end at the verification cutoff even
      // if a server hangs: what is not verified by then counts at its worst case.
      const cutoff = Math.min(verificationCutoff(startedAt, config.timings, config.verifyPollMs), deadline);
      const stage = this.deadlineSignal(signal, cutoff);
      try {
        const instanceId = await this.locate(cutoff, stage.signal, problems);
        if (instanceId === undefined) {
          this.fire('not_located');
        } else {
          this.instanceId = instanceId;
          this.fire('located', { instanceId });
          await this.takeOutAndVerify(instanceId, startedAt, cutoff, stage.signal);
        }
      } catch (error) {
        if (!stage.expired()) throw error;
        problems.push('verification cutoff reached before every server was verified');
        this.log.warn({ phase: this.phase }, 'verification cutoff reached while eureka calls were pending');
      } finally {
        stage.cancel();
      }
      if (this.phase === 'locating') this.fire('not_located');
      if (this.phase === 'taking_out') this.fire('taken_out');
      this.fire('verified', { verified: this.servers.filter(isVerified).length, of: this.servers.length });
      for (const s of this.servers) {
        s.settledAt = serverSettledAt(s, startedAt, config.timings);
        if (s.cacheVerifiedAt !== undefined && isVerified(s)) this.deps.metrics.serverVerified(s.server, (s.cacheVerifiedAt - (s.putAt ?? startedAt)) / 1000);
        else problems.push(`${s.server}: not verified (${s.error ?? 'still offered to callers'}); counted at its worst case`);
      }
      windowEnd = clientWindowEnd(this.servers, startedAt, config.timings);
      const fixedTailEnd = windowEnd + config.timings.tailMs;
      this.expectedAnswerAt = Math.min(fixedTailEnd, deadline);
      await sleepUntil(clock, Math.min(windowEnd, deadline), signal);
      this.fire('window_elapsed', { clientWindowEndsAt: iso(windowEnd) });
      tailEnd = await this.waitTail(windowEnd, fixedTailEnd, deadline, signal, problems);
      tailEndedAt = clock.now();
      if (windowEnd > deadline || (tailEnd === 'fixed' && fixedTailEnd > deadline)) tailEnd = 'deadline';
      this.fire('tail_elapsed', { tailEndedBy: tailEnd });
    } catch (error) {
      if (!(signal.aborted && signal.reason instanceof DrainAborted)) throw error;
      aborted = true;
    }

    if (aborted) {
      if (this.instanceId !== undefined) problems.push(...(await this.removeOverrides(this.instanceId)));
      this.fire('abort');
    } else {
      appExit = await this.deps.appExit();
      if (!appExit.ok) problems.push(`app exit (${appExit.strategy}): ${appExit.detail}`);
      this.fire('app_told', { appExit: appExit.strategy, ok: appExit.ok, detail: appExit.detail });
    }

    const answeredAt = clock.now();
    const verifiedCount = this.servers.filter(isVerified).length;
    const outcome: DrainOutcome = aborted
      ? 'aborted'
      : tailEnd === 'deadline'
        ? 'cut_short'
        : verifiedCount === this.servers.length && this.instanceId !== undefined
          ? 'verified'
          : verifiedCount > 0
            ? 'partly_verified'
            : 'unverified';
    const report: DrainReport = {
      outcome,
      instanceId: this.instanceId ?? null,
      startedAt: iso(startedAt),
      answeredAt: iso(answeredAt),
      durationMs: answeredAt - startedAt,
      deadlineAt: iso(deadline),
      phases: Object.fromEntries(Object.entries(this.phaseAt).map(([k, v]) => [k, iso(v)])),
      servers: this.servers.map((s) => this.serverReport(s)),
      plan: { selectMs: plan.selectMs, drainMs: plan.drainMs, drainBudgetMs: plan.drainBudgetMs, fits: plan.fits },
      actual: {
        clientWindowMs: windowEnd === null ? null : windowEnd - startedAt,
        tailMs: windowEnd === null || tailEndedAt === null ? null : Math.max(0, tailEndedAt - windowEnd),
        tailEndedBy: tailEnd,
        drainMs: answeredAt - startedAt,
      },
      appExit,
      problems,
    };
    this.lastReport = report;
    this.deps.metrics.drainFinished(outcome, report.durationMs / 1000);
    this.deps.metrics.setRemaining(0);
    this.log.info({ report }, 'drain finished');
    if (!aborted) this.cleanupPromise = this.cleanup();
    return report;
  }

  /** A signal that aborts with `parent`, or when the injected clock reaches `at`. */
  private deadlineSignal(parent: AbortSignal, at: number): { signal: AbortSignal; expired: () => boolean; cancel: () => void } {
    const expiry = new AbortController();
    const cancelTimer = new AbortController();
    let expired = false;
    this.deps.clock.sleep(Math.max(0, at - this.deps.clock.now()), cancelTimer.signal).then(
      () => {
        expired = true;
        expiry.abort(new Error('verification cutoff reached'));
      },
      () => undefined,
    );
    return { signal: AbortSignal.any([parent, expiry.signal]), expired: () => expired, cancel: () => cancelTimer.abort() };
  }

  /** The app list is cached on the server: a fresh registration gets until the verification cutoff to appear. */
  private async locate(giveUpAt: number, signal: AbortSignal, problems: string[]): Promise<string | undefined> {
    const { config, clock, eureka, logger } = this.deps;
    for (;;) {
      const id = await findOwnInstance(config, eureka, logger, signal);
      if (id !== undefined) return id;
      if (clock.now() + config.verifyPollMs >= giveUpAt) break;
      await clock.sleep(config.verifyPollMs, signal);
    }
    problems.push(`instance not found in eureka (app ${config.appName}, POD_IP ${config.podIp ?? '-'}, port ${config.appPort}); waiting the full plan`);
    this.log.warn({ app: config.appName, podIp: config.podIp, port: config.appPort }, 'own instance not found in eureka; waiting the full plan');
    return undefined;
  }

  /**
   * Per server, independently (a dead or hanging server must not hold up the
   * others): prime the delta key callers poll, PUT the override, verify.
   */
  private async takeOutAndVerify(instanceId: string, startedAt: number, cutoff: number, signal: AbortSignal): Promise<void> {
    const { config, clock, eureka } = this.deps;
    let firstAttempts = 0;
    await Promise.all(
      config.servers.map(async (server, i) => {
        const state = this.servers[i]!;
        // A cache key nobody asked for is computed fresh on its first read and
        // would look verified too early; reading it first puts it in the
        // read-only cache, on the same refresh timer as the callers' copy.
        try {
          await eureka.getDelta(server, signal);
          state.primedAt = clock.now();
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          state.error = `cannot read the callers' view: ${describeError(error)}`;
        }
        await this.putOverride(server, state, instanceId, signal);
        if (++firstAttempts === config.servers.length) this.fire('taken_out', { servers: this.servers.map((s) => ({ server: s.server, put: s.put })) });
        await this.verifyServer(server, state, instanceId, startedAt, cutoff, signal);
      }),
    );
  }

  private async putOverride(server: EurekaServerConfig, state: ServerState, instanceId: string, signal: AbortSignal): Promise<void> {
    const { eureka, clock, config } = this.deps;
    try {
      const outcome = await eureka.setStatusOverride(server, config.appName, instanceId, 'OUT_OF_SERVICE', clock.now(), signal);
      state.put = outcome;
      if (outcome === 'ok') {
        state.putAt ??= clock.now();
        delete state.error;
      } else state.error = 'instance not registered on this server (yet)';
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      state.put = 'failed';
      state.error = describeError(error);
      this.log.warn({ server: server.label, err: state.error }, 'out-of-service request failed');
    }
  }

  /** One server: the live view first, then the cached delta view that callers poll. */
  private async verifyServer(
    server: EurekaServerConfig,
    state: ServerState,
    instanceId: string,
    startedAt: number,
    cutoff: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { config, clock, eureka } = this.deps;
    for (;;) {
      try {
        if (state.put !== 'ok') await this.putOverride(server, state, instanceId, signal);
        if (state.put === 'ok' && state.liveVerifiedAt === undefined) {
          const live = await eureka.getInstance(server, config.appName, instanceId, signal);
          if (live?.status === 'OUT_OF_SERVICE') state.liveVerifiedAt = clock.now();
          else if (live === null) state.put = 'not_found';
        }
        if (state.liveVerifiedAt !== undefined) {
          const delta = await eureka.getDelta(server, signal);
          const seen = delta.instances.find((x) => x.instanceId === instanceId);
          const offered = seen === undefined || (seen.status === 'UP' && seen.actionType !== 'DELETED');
          if (!offered) {
            state.cacheVerifiedAt = clock.now();
            state.trusted = primedInTime(state.primedAt, this.firstPutAt());
            if (state.trusted) delete state.error;
            else state.error = "the callers' view was primed too late to prove anything; counted at its worst case";
            this.log.info(
              { server: server.label, liveMs: state.liveVerifiedAt - startedAt, cacheMs: state.cacheVerifiedAt - startedAt, trusted: state.trusted },
              'server verified: callers no longer get the instance as UP',
            );
            return;
          }
          state.lastStaleSeenAt = clock.now();
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        state.error = describeError(error);
      }
      if (clock.now() + config.verifyPollMs > cutoff) return;
      await clock.sleep(config.verifyPollMs, signal);
    }
  }

  private firstPutAt(): number | undefined {
    const times = this.servers.map((s) => s.putAt).filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  private async waitTail(windowEnd: number, fixedEnd: number, deadline: number, signal: AbortSignal, problems: string[]): Promise<TailEnd> {
    const { clock, config } = this.deps;
    const end = Math.min(fixedEnd, deadline);
    if (config.tailMode === 'fixed' || !this.deps.readInFlight) {
      await sleepUntil(clock, end, signal);
      return 'fixed';
    }
    for (;;) {
      const reading = await this.deps.readInFlight(signal);
      if (!reading.ok) {
        problems.push(`adaptive tail: ${reading.reason}; waiting the fixed tail`);
        this.log.warn({ reason: reading.reason }, 'cannot read in-flight requests; falling back to the fixed tail');
        await sleepUntil(clock, end, signal);
        return 'metric_unreadable';
      }
      if (reading.value <= config.tailIdleThreshold) {
        this.log.info({ inFlight: reading.value, tailMs: clock.now() - windowEnd }, 'app idle: ending the tail early');
        return 'idle';
      }
      if (clock.now() >= end) return 'fixed';
      await clock.sleep(Math.min(config.verifyPollMs, Math.max(0, end - clock.now())), signal);
    }
  }

  /**
   * Removes our override on every server, with the form that lets the app
   * re-register with its real status. Returns what failed, one line a server.
   */
  private async removeOverrides(instanceId: string, signal?: AbortSignal): Promise<string[]> {
    const { config, eureka, clock } = this.deps;
    const failures = await Promise.all(
      config.servers.map((server) =>
        eureka.removeStatusOverride(server, config.appName, instanceId, clock.now(), signal).then(
          () => undefined,
          (error: unknown) => `${server.label}: could not remove the override: ${describeError(error)}`,
        ),
      ),
    );
    return failures.filter((f): f is string => f !== undefined);
  }

  /**
   * After the app is gone, DELETE whatever registration is left on every
   * server, so no OUT_OF_SERVICE override outlives the pod. Never while the app
   * still heartbeats: that would only make it re-register.
   */
  private async cleanup(): Promise<boolean> {
    const { config, clock, eureka } = this.deps;
    this.fire('cleanup_started');
    const deadline = this.exitDeadline();
    const state = await this.waitForAppGone(deadline);
    if (state === 'restarted') {
      await this.returnToService();
      return true;
    }
    if (state === 'running') {
      this.log.warn({ deadlineAt: iso(deadline) }, 'app still running at the clean-up deadline; leaving its registration alone');
      for (const s of this.servers) s.cleanup = 'skipped';
      this.fire('cleaned', { result: 'skipped' });
      return false;
    }
    const signal = AbortSignal.timeout(Math.max(1_000, deadline - clock.now()));
    let instanceId = this.instanceId;
    if (instanceId === undefined) {
      try {
        instanceId = await findOwnInstance(config, eureka, this.log, signal);
      } catch {
        instanceId = undefined;
      }
    }
    if (this.servers.length === 0) this.servers = config.servers.map((s) => ({ server: s.label, put: 'pending' }));
    let ok = true;
    await Promise.all(
      config.servers.map(async (server, i) => {
        const state = this.servers[i]!;
        if (instanceId === undefined) {
          state.cleanup = 'absent';
          return;
        }
        try {
          const outcome = await eureka.cancel(server, config.appName, instanceId, signal);
          state.cleanup = outcome === 'ok' ? 'deleted' : 'absent';
        } catch (error) {
          state.cleanup = 'failed';
          ok = false;
          this.log.error({ server: server.label, err: describeError(error) }, 'cannot delete the leftover registration');
        }
        this.deps.metrics.cleanupDelete(state.cleanup);
      }),
    );
    this.fire('cleaned', { instanceId, servers: this.servers.map((s) => ({ server: s.server, cleanup: s.cleanup })) });
    if (!this.signalled) void this.watchForRestart();
    return ok;
  }

  /**
   * The app is gone when its port refuses connections and Eureka shows no
   * live heartbeat: the instance is absent (it cancelled itself) or its lease
   * stopped renewing for two renewal intervals. At the deadline a closed port
   * alone is enough: the kubelet is about to kill everything anyway.
   */
  private async waitForAppGone(deadline: number): Promise<'gone' | 'running' | 'restarted'> {
    const { clock, config, eureka } = this.deps;
    let lastRenewal = 0;
    let lastRenewalChangedAt = clock.now();
    let sawClosed = false;
    for (;;) {
      const port = await this.deps.probeApp();
      if (port === 'closed') sawClosed = true;
      // Closed, then open again with no SIGTERM to us: the kubelet restarted
      // the app container (preStop also runs before liveness restarts).
      if (port === 'open' && sawClosed && !this.signalled) return 'restarted';
      if (port !== 'open') {
        if (this.instanceId === undefined) return 'gone';
        const live = await Promise.all(
          config.servers.map((s) => eureka.getInstance(s, config.appName, this.instanceId!, AbortSignal.timeout(config.eurekaTimeoutMs)).catch(() => undefined)),
        );
        const reachable = live.filter((x) => x !== undefined);
        if (reachable.length > 0 && reachable.every((x) => x === null)) return 'gone';
        const renewal = Math.max(0, ...live.map((x) => x?.lastRenewalTimestamp ?? 0));
        const interval = Math.max(1, ...live.map((x) => x?.renewalIntervalInSecs ?? 0)) * 1000;
        if (renewal !== lastRenewal) {
          lastRenewal = renewal;
          lastRenewalChangedAt = clock.now();
        } else if (clock.now() - lastRenewalChangedAt > 2 * interval) return 'gone';
        if (port === 'closed' && clock.now() + config.verifyPollMs >= deadline) return 'gone';
      }
      if (clock.now() + config.verifyPollMs >= deadline) return 'running';
      await clock.sleep(config.verifyPollMs);
    }
  }

  /**
   * The app came back after a drain without the pod terminating: take our
   * override off (the new process inherited it) and return to idle, so the
   * next preStop drains again instead of replaying the old report.
   */
  private async returnToService(): Promise<void> {
    const instanceId = this.instanceId;
    this.log.info({ instanceId }, 'app restarted after a drain: removing the override and returning to idle');
    if (instanceId !== undefined) {
      for (const failure of await this.removeOverrides(instanceId, AbortSignal.timeout(this.deps.config.eurekaTimeoutMs))) this.log.warn({ err: failure }, 'could not remove the override after the app restarted');
    }
    this.reset();
  }

  private reset(): void {
    this.fire('reset');
    this.lastReport = undefined;
    this.cleanupPromise = undefined;
    this.terminationStartedAt = undefined;
    this.instanceId = undefined;
  }

  /** After a clean-up with no SIGTERM (a container restart): back to idle when the app listens again. */
  private async watchForRestart(): Promise<void> {
    const { clock } = this.deps;
    while (this.phase === 'done' && !this.signalled) {
      await clock.sleep(this.deps.config.verifyPollMs * 4);
      if (this.phase !== 'done' || this.signalled) return;
      if ((await this.deps.probeApp()) === 'open') {
        this.log.info('app is listening again after a drain: returning to idle');
        this.reset();
        return;
      }
    }
  }

  private serverReport(s: ServerState): ServerReport {
    const start = this.startedAt ?? 0;
    return {
      server: s.server,
      put: s.put,
      liveVerifiedMs: s.liveVerifiedAt === undefined ? null : s.liveVerifiedAt - start,
      cacheVerifiedMs: s.cacheVerifiedAt === undefined ? null : s.cacheVerifiedAt - start,
      settledMs: s.settledAt === undefined ? null : s.settledAt - start,
      verified: isVerified(s),
      error: s.error ?? null,
      cleanup: s.cleanup ?? null,
    };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
