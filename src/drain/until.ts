import type { Clock } from '../clock';

/**
 * A time that can move earlier while something waits for it: a deadline
 * Kubernetes shortens mid-drain (live-deadlines.ts). `at()` is the time now;
 * `watch` calls `moved` whenever it may have changed and returns the
 * unsubscribe.
 */
export interface MovingTime {
  at(): number;
  watch(moved: () => void): () => void;
}

/** A fixed time, or one that can move earlier. */
export type Until = number | MovingTime;

export interface Bound {
  readonly signal: AbortSignal;
  /** True once the time was reached (not when the parent aborted). */
  expired(): boolean;
  /** Stops the timer once the bounded work is done. */
  readonly cancel: () => void;
}

const never = (): void => undefined;

function timeOf(until: Until): MovingTime {
  return typeof until === 'number' ? { at: () => until, watch: () => never } : until;
}

/**
 * A signal that aborts with `parent`, or when the injected clock reaches
 * `until` (real timers would not follow a manual clock under test). When
 * `until` moves, the timer is armed again from its new time, so work that
 * started before a deadline moved still ends by the new one.
 */
export function untilSignal(clock: Clock, until: Until, parent?: AbortSignal, reason = 'deadline reached'): Bound {
  const time = timeOf(until);
  const expiry = new AbortController();
  let timer: AbortController | undefined;
  let expired = false;
  const arm = (): void => {
    timer?.abort();
    if (expiry.signal.aborted) return;
    const stop = new AbortController();
    timer = stop;
    clock.sleep(Math.max(0, time.at() - clock.now()), stop.signal).then(
      () => {
        expired = true;
        unwatch();
        expiry.abort(new Error(reason));
      },
      () => undefined,
    );
  };
  const unwatch = time.watch(arm);
  arm();
  const signal = parent ? AbortSignal.any([parent, expiry.signal]) : expiry.signal;
  return {
    signal,
    expired: () => expired,
    cancel: () => {
      unwatch();
      timer?.abort();
    },
  };
}

/** Runs `work` under a signal that ends at `until`; the timer never outlives the work. */
export async function bounded<T>(clock: Clock, until: Until, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const bound = untilSignal(clock, until, parent);
  try {
    return await work(bound.signal);
  } finally {
    bound.cancel();
  }
}

/**
 * Sleeps `ms`, or less if `until` comes first (also when it moves earlier
 * during the sleep): a wait between two polls never overruns a deadline.
 * Rejects when `signal` aborts.
 */
export async function sleepBefore(clock: Clock, ms: number, until: Until, signal?: AbortSignal): Promise<void> {
  const bound = untilSignal(clock, until, signal);
  try {
    await clock.sleep(ms, bound.signal);
  } catch (error) {
    if (signal?.aborted || !bound.expired()) throw error;
  } finally {
    bound.cancel();
  }
}
