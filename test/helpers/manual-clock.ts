import type { Clock } from '../../src/clock';

interface Sleeper {
  readonly at: number;
  readonly resolve: () => void;
}

/**
 * A clock whose time moves only when everything else is waiting on it: run()
 * lets pending callbacks and I/O settle, then jumps to the next sleeper. A
 * 95-second drain runs in milliseconds.
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly sleepers: Sleeper[] = [];

  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** How many sleeps are pending: a wait that ended early must not leave its timer behind. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.sleepers.indexOf(sleeper);
        if (index >= 0) this.sleepers.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Advances time sleeper by sleeper until `promise` settles. */
  async run<T>(promise: Promise<T>, maxSteps = 100_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; step < maxSteps; step++) {
      await settle();
      if (settled) return promise;
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers.shift();
      if (!next) throw new Error('ManualClock.run: the promise is pending and nothing sleeps');
      this.time = Math.max(this.time, next.at);
      next.resolve();
    }
    throw new Error('ManualClock.run: too many steps');
  }

  /** Moves time forward, waking every sleeper due by then. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.time = Math.max(this.time, next.at);
      next.resolve();
    }
    this.time = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
