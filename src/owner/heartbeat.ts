import type { Clock } from '../clock';
import type { EurekaServerConfig } from '../config';
import type { Logger } from '../logger';
import type { OwnerEurekaApi } from './eureka';
import type { RegisteredStatus } from './instance';
import type { OwnerMetrics } from './metrics';

export type ReregisterReason = 'not_found' | 'after_outage';

export interface HeartbeatOptions {
  readonly eureka: Pick<OwnerEurekaApi, 'heartbeat'>;
  readonly servers: readonly EurekaServerConfig[];
  readonly app: string;
  readonly instanceId: string;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Pick<OwnerMetrics, 'heartbeat'>;
  /** The registered status and dirty time, read at every beat (the PUT carries both). */
  readonly current: () => { readonly status: RegisteredStatus; readonly lastDirtyTimestamp: number };
  /**
   * Registers again; true when `server` took it. not_found: that server lost
   * the lease. after_outage: every server had failed and `server` answers
   * again. Never called after stop().
   */
  readonly reregister: (reason: ReregisterReason, server: EurekaServerConfig, signal: AbortSignal) => Promise<boolean>;
  /** First retry after every server failed; doubles up to the renewal interval. Default 1 s. */
  readonly backoffBaseMs?: number;
  /** A renewal accepted more than this after its due time is logged as late. Default a tenth of the interval, at least 1 s. */
  readonly lateAfterMs?: number;
  /** Picks the first server, so a fleet's heartbeats spread over the servers as the Java client's do. */
  readonly random?: () => number;
}

type Beat = { readonly renewed: true; readonly server: EurekaServerConfig } | { readonly renewed: false };

/**
 * Renews the lease like the Java DiscoveryClient: every renewal interval one
 * PUT to one server, sticking to the server that last answered and failing
 * over to the next on an error; a 404 re-registers at once (eureka-facts §2).
 * When every server fails, it retries with a backoff capped at the interval
 * and re-registers when one answers again (status changes sent during the
 * outage were lost). The schedule is fixed-rate: a slow beat does not push
 * the next one later, so the lease keeps its margin.
 *
 * stop() is final: no timer, no in-flight answer and no caller can make a
 * stopped heartbeat send or re-register again.
 */
export class Heartbeat {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private current: number;
  private halted = false;

  constructor(private readonly options: HeartbeatOptions) {
    if (options.servers.length === 0) throw new Error('heartbeat needs at least one Eureka server');
    this.current = Math.floor((options.random ?? Math.random)() * options.servers.length) % options.servers.length;
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** Starts the schedule: the first beat one interval from now (the registration just renewed the lease). */
  start(): void {
    if (this.halted || this.loop) return;
    this.loop = this.run(this.controller.signal).catch((error: unknown) => {
      if (!this.halted) this.options.logger.error({ err: error }, 'heartbeat loop ended unexpectedly');
    });
  }

  /** Stops for good; resolves once an in-flight beat has settled. */
  stop(): Promise<void> {
    this.halted = true;
    this.controller.abort(new Error('heartbeats stopped'));
    return this.loop ?? Promise.resolve();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs, logger } = this.options;
    const lateAfterMs = this.options.lateAfterMs ?? Math.max(1_000, intervalMs / 10);
    const backoffBaseMs = this.options.backoffBaseMs ?? 1_000;
    let due = clock.now() + intervalMs;
    let failedRounds = 0;
    let outageSince: number | undefined;
    for (;;) {
      try {
        await clock.sleep(Math.max(0, due - clock.now()), signal);
      } catch {
        return;
      }
      if (this.halted) return;
      const firedLateMs = clock.now() - due;
      const beat = await this.beat(signal, outageSince !== undefined);
      if (this.halted) return;
      const now = clock.now();
      if (!beat.renewed) {
        failedRounds++;
        outageSince ??= due;
        const waitMs = Math.min(backoffBaseMs * 2 ** (failedRounds - 1), intervalMs);
        if (failedRounds === 1) logger.warn({ servers: this.options.servers.length, retryInMs: waitMs }, 'every eureka server failed the heartbeat; retrying with backoff');
        else logger.debug({ failedRounds, retryInMs: waitMs }, 'heartbeat still failing on every eureka server');
        due = now + waitMs;
        continue;
      }
      if (outageSince !== undefined) {
        logger.info({ server: beat.server.label, outageMs: now - outageSince, failedRounds }, 'a eureka server answers the heartbeat again after an outage');
        failedRounds = 0;
        outageSince = undefined;
      } else if (now - due > lateAfterMs) {
        // Late because the timer fired late (event-loop stall) or the servers were slow (fail-over, latency).
        logger.warn({ server: beat.server.label, lateMs: now - due, firedLateMs, intervalMs }, 'heartbeat late');
      }
      due += intervalMs;
      // Overran a whole interval: beat again at once rather than twice in a row later.
      if (due < now) due = now;
    }
  }

  /** One renewal: each server once, starting at the sticky one. */
  private async beat(signal: AbortSignal, inOutage: boolean): Promise<Beat> {
    const { servers, eureka, app, instanceId, logger, metrics } = this.options;
    for (let k = 0; k < servers.length; k++) {
      const index = (this.current + k) % servers.length;
      const server = servers[index]!;
      const { status, lastDirtyTimestamp } = this.options.current();
      let outcome: 'ok' | 'not_found';
      try {
        outcome = await eureka.heartbeat(server, app, instanceId, status, lastDirtyTimestamp, signal);
      } catch (error) {
        if (this.halted) return { renewed: false };
        metrics.heartbeat('error');
        const level = inOutage ? 'debug' : 'warn';
        logger[level]({ server: server.label, err: error, next: servers.length > 1 ? servers[(index + 1) % servers.length]!.label : undefined }, 'heartbeat failed');
        continue;
      }
      // The answer may land after stop(): it must not lead to anything.
      if (this.halted) return { renewed: false };
      metrics.heartbeat(outcome === 'ok' ? 'success' : 'not_found');
      if (outcome === 'ok' && !inOutage) {
        this.current = index;
        return { renewed: true, server };
      }
      const reason: ReregisterReason = inOutage ? 'after_outage' : 'not_found';
      if (outcome === 'not_found') logger.info({ server: server.label, reason }, 'heartbeat answered 404; registering again');
      let took = false;
      try {
        took = await this.options.reregister(reason, server, signal);
      } catch (error) {
        if (this.halted) return { renewed: false };
        logger.warn({ server: server.label, reason, err: error }, 'registering again failed');
      }
      if (this.halted) return { renewed: false };
      // After an outage the heartbeat itself renewed; a failed re-register is retried by the next 404.
      if (took || outcome === 'ok') {
        this.current = index;
        return { renewed: true, server };
      }
    }
    return { renewed: false };
  }
}
