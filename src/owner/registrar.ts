import type { Clock } from '../clock';
import type { EurekaServerConfig } from '../config';
import { EurekaRequestError, describeError } from '../errors';
import type { Logger } from '../logger';
import type { OwnerConfig } from './config';
import { RegistrationRejectedError } from './errors';
import type { OwnerEurekaApi } from './eureka';
import { INITIAL_HEALTH, observeHealth, type HealthGate } from './health';
import { HealthPoller } from './health-poller';
import type { HealthAnswer, HealthRead } from './health-read';
import { Heartbeat, type ReregisterReason } from './heartbeat';
import { buildInstanceInfo, encodeInstanceDocument, type RegisteredStatus } from './instance';
import { INITIAL_REGISTRATION, isRegistered, nextRegistration, resumeBy, type RegistrationEvent, type RegistrationState } from './lifecycle';
import type { OwnerMetrics, RegistrationReason } from './metrics';

export interface RegistrarOptions {
  readonly config: OwnerConfig;
  /** Every Eureka server, each addressed directly (per-pod URLs). */
  readonly servers: readonly EurekaServerConfig[];
  readonly eureka: OwnerEurekaApi;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: OwnerMetrics;
  readonly readHealth: HealthRead;
  /** First wait between health reads while the app starts; doubles up to the health interval. Default 250 ms. */
  readonly startupBackoffMs?: number;
  /** First wait after a round in which no server took the registration, and the heartbeat's outage backoff; doubles up to the renewal interval. Default 1000 ms. */
  readonly retryBackoffMs?: number;
  readonly random?: () => number;
}

export type RegisterResult = 'accepted' | 'rejected' | 'failed';

export interface ServerRegistration {
  readonly server: string;
  readonly result: RegisterResult;
  readonly error?: string;
}

interface Attempt {
  readonly server: EurekaServerConfig;
  readonly result: RegisterResult | 'aborted';
  readonly error?: unknown;
}

/**
 * Owner mode's Eureka client for an app that has none: waits for the app to
 * answer its health URL, registers a complete instance on every server,
 * renews it, and keeps its status in step with the app's health (each change
 * re-registered at once, as the Java client's on-demand update does; never a
 * status override, which later UP registrations could not clear).
 *
 * The drain (drain/owner-mode.ts) takes it out with stopHeartbeats(), then
 * cancel() on every server, and an abort puts it back with resume(). While
 * stopped, nothing registers: not a late heartbeat answer, not a health
 * change, not a registration that was in flight (it is aborted, and
 * stopHeartbeats() waits for it to settle). Whether it is running and which
 * servers hold it is lifecycle.ts's table.
 */
export class Registrar {
  private readonly logger: Logger;
  private gate: HealthGate = INITIAL_HEALTH;
  private dirtyAt = 0;
  private lifecycle: RegistrationState = INITIAL_REGISTRATION;
  /** Aborted by stopHeartbeats(): every request of one running period listens to it. */
  private epoch = new AbortController();
  private heartbeat: Heartbeat | undefined;
  private poller: HealthPoller | undefined;
  private bringingUp: Promise<void> | undefined;
  /** Registrations go out one round at a time, so an older status never lands after a newer one. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly options: RegistrarOptions) {
    if (options.servers.length === 0) throw new Error('owner mode needs at least one Eureka server');
    this.logger = options.logger.child({ component: 'owner' });
  }

  /** A server has accepted the registration and it was not cancelled since: /readyz may say ready. */
  isRegistered(): boolean {
    return isRegistered(this.lifecycle);
  }

  /** The status registrations carry: the health gate's (STARTING until the app's first healthy answers). */
  status(): RegisteredStatus {
    return this.gate.status;
  }

  /**
   * Waits for the app, registers on every server, then heartbeats and follows
   * the app's health. Resolves once a server took the registration (or once
   * stopHeartbeats() ended the wait); rejects with RegistrationRejectedError
   * when every server refused the document. Calling it again joins the first call.
   */
  start(): Promise<void> {
    if (this.lifecycle.phase === 'closed') return Promise.reject(new Error('the registrar is closed'));
    if (this.bringingUp) return this.bringingUp;
    // A start after a stop (resume before the first registration) needs a live epoch.
    if (this.epoch.signal.aborted) this.epoch = new AbortController();
    this.tell({ type: 'start' });
    this.bringingUp = this.bringUp('initial', this.epoch.signal).finally(() => (this.bringingUp = undefined));
    return this.bringingUp;
  }

  /**
   * Stops heartbeats and health-driven registration (the drain's first step),
   * and aborts a registration in flight. Resolves when everything in flight
   * has settled. Idempotent.
   */
  stopHeartbeats(): Promise<void> {
    if (this.running()) {
      this.tell({ type: 'stop' });
      this.epoch.abort(new Error('heartbeats stopped'));
      this.logger.info({ instanceId: this.options.config.instanceId }, 'heartbeats stopped');
    }
    const heartbeat = this.heartbeat;
    this.heartbeat = undefined;
    return this.settled(heartbeat?.stop());
  }

  /**
   * The drain's take-out on one server, after stopHeartbeats() and the
   * replication settle (drain/owner-mode.ts): cancels the lease there. Absent
   * is as good as cancelled. Once no server holds the registration, the
   * registered_status metric says so. Throws what the request threw.
   */
  async cancel(server: EurekaServerConfig, signal?: AbortSignal): Promise<'cancelled' | 'absent'> {
    const { app, instanceId } = this.options.config;
    const outcome = await this.options.eureka.cancel(server, app, instanceId, signal);
    this.tell({ type: 'cancelled', server: server.label });
    if (!this.isRegistered()) this.options.metrics.registeredStatus(undefined);
    return outcome === 'ok' ? 'cancelled' : 'absent';
  }

  /**
   * An aborted drain: registers again (with the gate's status: UP for a
   * healthy app) and resumes heartbeats. The heartbeats start even when no
   * server took this registration: their 404 and outage paths register it.
   */
  async resume(signal?: AbortSignal): Promise<readonly ServerRegistration[]> {
    const by = resumeBy(this.lifecycle);
    if (by === 'refuse') throw new Error('the registrar is closed');
    if (by === 'nothing') return [];
    if (by === 'start') {
      await this.start();
      return [];
    }
    this.tell({ type: 'start' });
    this.epoch = new AbortController();
    const epoch = this.epoch.signal;
    this.bumpDirty();
    const attempts = await this.registerRound('resume', this.options.servers, signal ? AbortSignal.any([epoch, signal]) : epoch);
    if (this.running()) this.startHeartbeat();
    return attempts.filter((a) => a.result !== 'aborted').map((a) => report(a));
  }

  /** Stops everything for process exit, health polling included. */
  async close(): Promise<void> {
    await this.stopHeartbeats();
    this.tell({ type: 'close' });
    await this.poller?.stop();
  }

  private async bringUp(reason: 'initial', signal: AbortSignal): Promise<void> {
    try {
      await this.waitForApp(signal);
      this.dirtyAt = this.options.clock.now();
      await this.registerUntilAccepted(reason, signal);
    } catch (error) {
      // stopHeartbeats() during the wait: the drain goes on without us.
      if (signal.aborted) return;
      throw error;
    }
    if (!this.running() || signal.aborted) return;
    this.startHeartbeat();
    this.poller ??= new HealthPoller({
      read: this.options.readHealth,
      url: this.options.config.healthUrl,
      intervalMs: this.options.config.healthIntervalMs,
      clock: this.options.clock,
      onAnswer: (answer) => this.onHealth(answer),
    });
    this.poller.start();
  }

  /** Reads the health URL with a bounded backoff until the app answers healthy once. */
  private async waitForApp(signal: AbortSignal): Promise<void> {
    const { clock, readHealth, config, metrics } = this.options;
    const started = clock.now();
    let waitMs = this.options.startupBackoffMs ?? 250;
    this.logger.info({ url: config.healthUrl }, 'waiting for the app to answer its health URL');
    for (let attempt = 1; ; attempt++) {
      let answer: HealthAnswer;
      try {
        answer = await readHealth(config.healthUrl, signal);
      } catch (error) {
        signal.throwIfAborted();
        answer = { result: 'error', detail: describeError(error) };
      }
      signal.throwIfAborted();
      metrics.healthCheck(answer.result);
      this.gate = observeHealth(this.gate, answer.result === 'healthy', this.thresholds()).gate;
      if (answer.result === 'healthy') {
        this.logger.info({ url: config.healthUrl, attempts: attempt, waitedMs: clock.now() - started, status: this.gate.status }, 'the app answers its health URL');
        return;
      }
      this.logger.debug({ url: config.healthUrl, attempt, detail: answer.detail, retryInMs: waitMs }, 'the app is not healthy yet');
      await clock.sleep(waitMs, signal);
      waitMs = Math.min(waitMs * 2, config.healthIntervalMs);
    }
  }

  /** Rounds over every server until one accepts; a document every server rejects is an error, not retried. */
  private async registerUntilAccepted(reason: RegistrationReason, signal: AbortSignal): Promise<void> {
    const { clock, config, servers } = this.options;
    let waitMs = this.options.retryBackoffMs ?? 1_000;
    for (let round = 1; ; round++) {
      const attempts = await this.registerRound(reason, servers, signal);
      signal.throwIfAborted();
      if (attempts.some((a) => a.result === 'accepted')) {
        this.logger.info({ instanceId: config.instanceId, status: this.gate.status, servers: attempts.map(report), rounds: round }, 'registered');
        return;
      }
      const rejected = attempts.filter((a) => a.result === 'rejected');
      if (rejected.length === attempts.length) {
        const first = rejected[0]!;
        throw rejectedError(first, `${config.app}/${config.instanceId}`);
      }
      this.logger.warn({ servers: attempts.map(report), retryInMs: waitMs }, 'no eureka server took the registration; retrying');
      await clock.sleep(waitMs, signal);
      waitMs = Math.min(waitMs * 2, config.leaseRenewalSeconds * 1000);
    }
  }

  /** One registration on each of `servers`, in parallel, after any round already in flight. */
  private registerRound(reason: RegistrationReason, servers: readonly EurekaServerConfig[], signal: AbortSignal): Promise<readonly Attempt[]> {
    const run = async (): Promise<readonly Attempt[]> => {
      if (signal.aborted) return servers.map((server) => ({ server, result: 'aborted' as const }));
      // Read at send time: a status change queued behind this round is then already in it.
      const status = this.gate.status;
      const document = encodeInstanceDocument(buildInstanceInfo(this.options.config, status, this.dirtyAt));
      const attempts = await Promise.all(servers.map((server) => this.registerOn(server, reason, document, signal)));
      for (const a of attempts) if (a.result === 'accepted') this.tell({ type: 'accepted', server: a.server.label });
      if (attempts.some((a) => a.result === 'accepted')) this.options.metrics.registeredStatus(status);
      return attempts;
    };
    const round = this.queue.then(run, run);
    this.queue = round.catch(() => undefined);
    return this.track(round);
  }

  private async registerOn(server: EurekaServerConfig, reason: RegistrationReason, document: string, signal: AbortSignal): Promise<Attempt> {
    const { config, eureka, metrics } = this.options;
    try {
      await eureka.registerDocument(server, config.app, document, signal);
    } catch (error) {
      if (signal.aborted) return { server, result: 'aborted' };
      const status = error instanceof EurekaRequestError ? error.status : undefined;
      if (status !== undefined && status >= 400 && status < 500) {
        this.logger.error({ server: server.label, status, reason, err: error }, 'eureka server rejected the registration');
        return { server, result: 'rejected', error };
      }
      this.logger.warn({ server: server.label, reason, err: error }, 'registration failed');
      return { server, result: 'failed', error };
    }
    // Landed after stopHeartbeats(): the cancel that follows removes it; not counted as ours.
    if (signal.aborted) return { server, result: 'aborted' };
    metrics.registered(reason);
    return { server, result: 'accepted' };
  }

  private startHeartbeat(): void {
    const { config, servers, eureka, clock, metrics } = this.options;
    const epoch = this.epoch.signal;
    this.heartbeat = new Heartbeat({
      eureka,
      servers,
      app: config.app,
      instanceId: config.instanceId,
      intervalMs: config.leaseRenewalSeconds * 1000,
      clock,
      logger: this.logger,
      metrics,
      current: () => ({ status: this.gate.status, lastDirtyTimestamp: this.dirtyAt }),
      reregister: (reason, server) => this.reregister(reason, server, epoch),
      ...(this.options.retryBackoffMs !== undefined ? { backoffBaseMs: this.options.retryBackoffMs } : {}),
      ...(this.options.random !== undefined ? { random: this.options.random } : {}),
    });
    this.heartbeat.start();
  }

  /** The heartbeat's request: a 404 re-registers on that server, an outage's end on every server (status changes may have been lost). */
  private async reregister(reason: ReregisterReason, server: EurekaServerConfig, epoch: AbortSignal): Promise<boolean> {
    if (!this.running() || epoch.aborted) return false;
    // As the Java client does before re-registering: a newer dirty time makes the server take this copy.
    this.bumpDirty();
    const targets = reason === 'not_found' ? [server] : this.options.servers;
    const attempts = await this.registerRound(reason, targets, epoch);
    return attempts.some((a) => a.server === server && a.result === 'accepted');
  }

  private onHealth(answer: HealthAnswer): void {
    this.options.metrics.healthCheck(answer.result);
    const from = this.gate.status;
    const step = observeHealth(this.gate, answer.result === 'healthy', this.thresholds());
    this.gate = step.gate;
    if (!step.changed) return;
    const to = step.gate.status;
    if (!this.running()) {
      this.logger.info({ from, to, detail: answer.detail }, 'app health changed while heartbeats are stopped; not registered');
      return;
    }
    this.logger.info({ from, to, detail: answer.detail }, 'app health changed; registering the new status');
    this.bumpDirty();
    const epoch = this.epoch.signal;
    void this.registerRound('status_change', this.options.servers, epoch).then((attempts) => {
      if (!epoch.aborted && !attempts.some((a) => a.result === 'accepted')) {
        // Not lost: the newer dirty time makes each server answer the next heartbeat with 404, which re-registers.
        this.logger.warn({ to, servers: attempts.map(report) }, 'no eureka server took the status change yet');
      }
    });
  }

  /** Heartbeats and health-driven registrations are on. */
  private running(): boolean {
    return this.lifecycle.phase === 'running';
  }

  private tell(event: RegistrationEvent): void {
    this.lifecycle = nextRegistration(this.lifecycle, event);
  }

  private thresholds(): { failuresDown: number; successesUp: number } {
    return { failuresDown: this.options.config.healthFailuresDown, successesUp: this.options.config.healthSuccessesUp };
  }

  /** A new lastDirtyTimestamp, strictly newer than the last one even when the clock has not moved. */
  private bumpDirty(): void {
    this.dirtyAt = Math.max(this.options.clock.now(), this.dirtyAt + 1);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const done = (): void => void this.inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  private async settled(extra?: Promise<void>): Promise<void> {
    await Promise.allSettled([...(extra ? [extra] : []), ...this.inflight, this.bringingUp ?? Promise.resolve()]);
  }
}

function report(attempt: Attempt): ServerRegistration {
  const result: RegisterResult = attempt.result === 'aborted' ? 'failed' : attempt.result;
  return { server: attempt.server.label, result, ...(attempt.error !== undefined ? { error: describeError(attempt.error) } : {}) };
}

function rejectedError(attempt: Attempt, instance: string): RegistrationRejectedError {
  const error = attempt.error;
  const status = error instanceof EurekaRequestError ? error.status : undefined;
  const message = describeError(error, 600);
  // The client's message ends with the server's own text, which names the field.
  const text = /answered HTTP \d+(?:: (.*))?$/.exec(message);
  const detail = text ? (text[1] ?? 'no reason given') : message;
  return new RegistrationRejectedError(attempt.server.label, status, instance, detail, { cause: error });
}
