import type { Clock } from '../clock';

/** Callers waiting for the next time something happens (a drain starts, a clean-up ends); each may stop waiting after a while. */
export class Waiters<T> {
  private readonly waiting = new Map<(value: T | undefined) => void, AbortController>();

  constructor(private readonly clock: Clock) {}

  /** The next value, or undefined once `ms` passed on the injected clock (never, when infinite). */
  next(ms = Number.POSITIVE_INFINITY): Promise<T | undefined> {
    return new Promise((resolve) => {
      const timer = new AbortController();
      this.waiting.set(resolve, timer);
      if (!Number.isFinite(ms)) return;
      // An early wake aborts the sleep, so no timer outlives the wait (nor keeps the process up).
      this.clock.sleep(ms, timer.signal).then(
        () => this.waiting.delete(resolve) && resolve(undefined),
        () => undefined,
      );
    });
  }

  /** Gives `value` to everyone waiting now. */
  wake(value: T): void {
    for (const [resolve, timer] of this.waiting) {
      timer.abort();
      resolve(value);
    }
    this.waiting.clear();
  }
}
