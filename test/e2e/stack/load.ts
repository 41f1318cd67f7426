/**
 * Constant-rate load through the gateway, as a caller would send it.
 *
 * - Node `http` with a keep-alive agent (the gateway sees a handful of long-lived connections, like a real
 *   upstream), loopback targets only.
 * - Open-loop pacing: the number of requests due is computed from the elapsed time (rate × t), so a slow
 *   answer never lowers the offered rate and timer drift does not accumulate.
 * - Bounded in count (`maxRequests`) and in time (`maxDurationMs`); `stop()` also waits for the requests still
 *   in flight, each bounded by `timeoutMs`.
 * - Every non-2xx answer and every connection error is recorded with its time and cause; every 2xx answer is
 *   attributed to the instance named in the body (`{"instanceId": ...}`, demo-service's /hello), keeping the
 *   time of the last request each instance served.
 */
import { Agent, request as httpRequest } from 'node:http';
import { isIP } from 'node:net';

export interface LoadOptions {
  /** e.g. `http://127.0.0.1:<gw>/demo/hello`. Must be a loopback address. */
  readonly url: string;
  /** Requests per second offered, whatever the answers do. */
  readonly ratePerSecond: number;
  /** Hard cap on requests sent. */
  readonly maxRequests: number;
  /** Hard cap on the sending time; sending stops after it even if `stop()` is never called. */
  readonly maxDurationMs: number;
  /** Per-request timeout (socket idle + whole answer). Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Keep-alive pool size towards the gateway. Default 256. */
  readonly maxSockets?: number;
}

export interface LoadFailure {
  /** When the failure was seen (epoch ms). */
  readonly at: number;
  /** When the request was sent (epoch ms). */
  readonly sentAt: number;
  readonly kind: 'status' | 'error' | 'timeout';
  /** HTTP status for kind=status. */
  readonly status?: number;
  /** e.g. ECONNRESET, ECONNREFUSED, for kind=error. */
  readonly code?: string;
  /** Error message or the start of the body. */
  readonly detail: string;
}

export interface InstanceStats {
  readonly instanceId: string;
  served: number;
  /** Answer time (epoch ms) of the first / last request this instance served. */
  firstServedAt: number;
  lastServedAt: number;
  /** Send time of the last request this instance served. */
  lastServedSentAt: number;
}

export interface LoadResult {
  readonly startedAt: number;
  readonly stoppedAt: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: readonly LoadFailure[];
  readonly perInstance: Readonly<Record<string, InstanceStats>>;
  /** 2xx answers whose body named no instance (should be 0). */
  readonly unattributed: number;
  /** Offered rate actually achieved: sent / sending time. */
  readonly achievedRate: number;
  /** Answer latency percentiles over the 2xx answers, ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Throws unless `url` points at a loopback address: the load must never leave the machine. */
export function assertLoopback(url: string): URL {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (!loopback) throw new Error(`load target must be a loopback address, got ${parsed.host}`);
  if (parsed.protocol !== 'http:') throw new Error(`load target must be plain http, got ${parsed.protocol}`);
  return parsed;
}

export class LoadGenerator {
  private readonly target: URL;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly failures: LoadFailure[] = [];
  private readonly perInstance: Record<string, InstanceStats> = {};
  private readonly latencies: number[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sendingEndedAt = 0;
  private sent = 0;
  private ok = 0;
  private unattributed = 0;
  private completed = 0;

  constructor(private readonly options: LoadOptions) {
    if (!(options.ratePerSecond > 0) || !(options.maxRequests > 0) || !(options.maxDurationMs > 0)) {
      throw new Error('ratePerSecond, maxRequests and maxDurationMs must be positive');
    }
    this.target = assertLoopback(options.url);
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  }

  /** Starts sending at the configured rate. */
  start(): this {
    if (this.timer) throw new Error('load already started');
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 5);
    return this;
  }

  get isSending(): boolean {
    return this.timer !== undefined;
  }

  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.startedAt;
    if (elapsed >= this.options.maxDurationMs || this.sent >= this.options.maxRequests) {
      this.stopSending();
      return;
    }
    const due = Math.min(this.options.maxRequests, Math.floor((elapsed * this.options.ratePerSecond) / 1000) + 1);
    while (this.sent < due) this.send();
  }

  private stopSending(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sendingEndedAt = Date.now();
      this.wake();
    }
  }

  private send(): void {
    this.sent++;
    const sentAt = Date.now();
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const finish = (outcome: { status: number; body: string } | { error: NodeJS.ErrnoException; timeout: boolean }): void => {
        if (settled) return;
        settled = true;
        const at = Date.now();
        this.completed++;
        if ('status' in outcome) {
          if (outcome.status >= 200 && outcome.status < 300) {
            this.ok++;
            this.latencies.push(at - sentAt);
            const id = instanceIdOf(outcome.body);
            if (id === undefined) this.unattributed++;
            else {
              const stats = (this.perInstance[id] ??= { instanceId: id, served: 0, firstServedAt: at, lastServedAt: 0, lastServedSentAt: 0 });
              stats.served++;
              if (at >= stats.lastServedAt) {
                stats.lastServedAt = at;
                stats.lastServedSentAt = sentAt;
              }
            }
          } else {
            this.failures.push({ at, sentAt, kind: 'status', status: outcome.status, detail: outcome.body.slice(0, 300) });
          }
        } else {
          this.failures.push({
            at,
            sentAt,
            kind: outcome.timeout ? 'timeout' : 'error',
            ...(outcome.error.code ? { code: outcome.error.code } : {}),
            detail: outcome.error.message.slice(0, 300),
          });
        }
        this.wake();
        resolve();
      };
      const req = httpRequest(
        {
          host: this.target.hostname.replace(/^\[|\]$/g, ''),
          port: this.target.port,
          path: `${this.target.pathname}${this.target.search}`,
          method: 'GET',
          agent: this.agent,
          headers: { Accept: 'application/json' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (body.length < 4_096) body += chunk;
          });
          res.on('end', () => finish({ status: res.statusCode ?? 0, body }));
          res.on('error', (error: NodeJS.ErrnoException) => finish({ error, timeout: false }));
          res.on('aborted', () => finish({ error: Object.assign(new Error('response aborted'), { code: 'ECONNRESET' }), timeout: false }));
        },
      );
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no complete answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
        finish({ error, timeout: true });
        req.destroy(error);
      }, this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => finish({ error, timeout: false }));
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Resolves once `check()` holds (re-checked after every answer), rejects after `timeoutMs` or when the load
   * has stopped sending and nothing is in flight any more. Not a sleep: it is driven by the answers.
   */
  waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (check()) {
          cleanup();
          resolve();
        } else if (!this.isSending && this.inFlight.size === 0) {
          cleanup();
          reject(new Error(`load stopped before ${what}: ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.describe()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      wake();
    });
  }

  /** Waits until `instanceId` has served `count` more requests than it had when called. */
  waitForServed(instanceId: string, count: number, timeoutMs = 30_000): Promise<void> {
    const base = this.perInstance[instanceId]?.served ?? 0;
    return this.waitFor(`${count} answers from ${instanceId}`, () => (this.perInstance[instanceId]?.served ?? 0) >= base + count, timeoutMs);
  }

  /** Waits until `count` more requests have completed (any outcome) than had when called. */
  waitForCompleted(count: number, timeoutMs = 30_000): Promise<void> {
    const base = this.completed;
    return this.waitFor(`${count} more completed requests`, () => this.completed >= base + count, timeoutMs);
  }

  stats(instanceId: string): InstanceStats | undefined {
    const stats = this.perInstance[instanceId];
    return stats === undefined ? undefined : { ...stats };
  }

  get failedCount(): number {
    return this.failures.length;
  }

  /** The failures so far, oldest first (a copy). */
  snapshotFailures(): LoadFailure[] {
    return [...this.failures];
  }

  describe(): string {
    const served = Object.values(this.perInstance)
      .map((s) => `${s.instanceId}=${s.served}`)
      .join(', ');
    return `sent ${this.sent}, ok ${this.ok}, failed ${this.failures.length}, in flight ${this.inFlight.size}; served: ${served || 'none'}`;
  }

  /** Stops sending, waits for the requests in flight (each bounded by its timeout), returns the result. */
  async stop(): Promise<LoadResult> {
    this.stopSending();
    await Promise.all([...this.inFlight]);
    this.agent.destroy();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
    const sendingMs = Math.max(1, (this.sendingEndedAt || Date.now()) - this.startedAt);
    return {
      startedAt: this.startedAt,
      stoppedAt: Date.now(),
      sent: this.sent,
      ok: this.ok,
      failed: this.failures.length,
      failures: [...this.failures],
      perInstance: Object.fromEntries(Object.entries(this.perInstance).map(([k, v]) => [k, { ...v }])),
      unattributed: this.unattributed,
      achievedRate: Math.round((this.sent * 1000 * 10) / sendingMs) / 10,
      latencyMs: { p50: pct(50), p99: pct(99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! },
    };
  }
}

function instanceIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { instanceId?: unknown };
    return typeof parsed.instanceId === 'string' ? parsed.instanceId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before an app's SIGTERM a request may have been sent and still fail because of the stop: it can still be
 * on its way through the gateway (or in its connection pool) when the app stops accepting. On a loaded 2-core
 * machine that hop took 50–80 ms (two CI failures with a 50 ms bound); failures sent earlier than this are not
 * the stop's.
 */
export const SENT_BEFORE_SIGTERM_MS = 500;

/** Failures grouped by cause, for messages: e.g. `{"HTTP 500": 12, "ECONNRESET": 1}`. */
export function failureSummary(failures: readonly LoadFailure[]): Record<string, number> {
  const summary: Record<string, number> = {};
  for (const f of failures) {
    const key = f.kind === 'status' ? `HTTP ${f.status}` : f.kind === 'timeout' ? 'timeout' : (f.code ?? 'error');
    summary[key] = (summary[key] ?? 0) + 1;
  }
  return summary;
}
