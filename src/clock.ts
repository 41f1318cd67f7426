import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time, injected. Every wait in the drain goes through a Clock so a 95 s drain
 * runs in milliseconds under test (Jest fake timers do not drive
 * node:timers/promises, so faking globals is not enough).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with `signal.reason` when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, signal ? { signal } : undefined);
  },
};

/** Sleeps until `at` (epoch ms); returns at once if it has passed. */
export function sleepUntil(clock: Clock, at: number, signal?: AbortSignal): Promise<void> {
  return clock.sleep(Math.max(0, at - clock.now()), signal);
}

/** A signal that aborts after `ms` of real time, or earlier with `signal`: a per-request timeout under the caller's cancellation. */
export function withTimeout(ms: number, signal?: AbortSignal): AbortSignal {
  return signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}
