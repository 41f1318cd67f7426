import type { Clock } from '../clock';

/** Callers waiting for the next time something happens (a drain starts, a clean-up ends); each may stop waiting after a while. */
export class Waiters<T> {
  private readonly waiting = new Set<(value: T | undefined) => void>();

  constructor(private readonly clock: Clock) {}

  /** The next value, or undefined once `ms` passed on the injected clock (never, when infinite). */
  next(ms = Number.POSITIVE_INFINITY): Promise<T | undefined> {
    return new Promise((resolve) => {
      this.waiting.add(resolve);
      if (Number.isFinite(ms)) void this.clock.sleep(ms).then(() => this.waiting.delete(resolve) && resolve(undefined));
    });
  }

  /** Gives `value` to everyone waiting now. */
  wake(value: T): void {
    for (const resolve of this.waiting) resolve(value);
    this.waiting.clear();
  }
}
