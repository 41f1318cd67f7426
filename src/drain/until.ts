import type { Clock } from '../clock';

/**
 * A signal that aborts with `parent`, or when the injected clock reaches `at`
 * (real timers would not follow a manual clock under test). `cancel` stops
 * the timer once the bounded work is done.
 */
export function untilSignal(clock: Clock, at: number, parent?: AbortSignal, reason = 'deadline reached'): { signal: AbortSignal; expired: () => boolean; cancel: () => void } {
  const expiry = new AbortController();
  const stopTimer = new AbortController();
  let expired = false;
  clock.sleep(Math.max(0, at - clock.now()), stopTimer.signal).then(
    () => {
      expired = true;
      expiry.abort(new Error(reason));
    },
    () => undefined,
  );
  const signal = parent ? AbortSignal.any([parent, expiry.signal]) : expiry.signal;
  return { signal, expired: () => expired, cancel: () => stopTimer.abort() };
}

/** Runs `work` under a signal that ends at `at`; the timer never outlives the work. */
export async function bounded<T>(clock: Clock, at: number, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const until = untilSignal(clock, at, parent);
  try {
    return await work(until.signal);
  } finally {
    until.cancel();
  }
}
