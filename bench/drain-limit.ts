/**
 * Pure: how long a drain was against what it had to be (issue 23, "What to show").
 *
 * Every time is in ms since the kubelet called the app container's preStop (`/prestop`).
 *
 * - **Physical limit**: seen from the caller, when the drained instance answered its last request. Before that
 *   the pod could not have stopped without failing a request; after it, the pod served nothing. It includes the
 *   in-flight tail by construction: it is the end of the last request, not its start.
 * - **Provable bound**: what a drain can prove without seeing the callers: the slowest server's observed flip
 *   (its callers' view first showed the instance out) + the registry fetch interval + the load balancer's refresh,
 *   then the real in-flight end (the last request's answer, when it came after that window).
 *
 * The drain's length over each is the safety margin: over the limit, all of it; over the bound, only ours.
 */

/** The last request the drained instance served, as the caller saw it. */
export interface LastServed {
  readonly sentMs: number;
  readonly answeredMs: number;
}

/** What the drain's own report says, in the bench's frame (ms since `/prestop`). */
export interface BoundTerms {
  /** Each server's observed flip (the report's `cacheVerifiedMs` shifted to `/prestop`); null: not verified. */
  readonly flipsMs: readonly (number | null)[];
  readonly registryFetchMs: number;
  readonly loadBalancerMs: number;
}

export interface DrainLimit {
  readonly drainMs: number;
  readonly lastServed: LastServed | null;
  /** The last answer's time (0 when it came before `/prestop`); null when the instance served nothing. */
  readonly physicalLimitMs: number | null;
  readonly drainOverLimit: number | null;
  /** Null without a drain report, or when a server was never verified (no observed flip to count from). */
  readonly slowestFlipMs: number | null;
  readonly boundMs: number | null;
  readonly drainOverBound: number | null;
}

function assertTime(name: string, value: number, { nonNegative }: { nonNegative: boolean }): void {
  if (!Number.isFinite(value)) throw new Error(`${name} must be a finite number of ms, got ${value}`);
  if (nonNegative && value < 0) throw new Error(`${name} must not be negative, got ${value} ms`);
}

/** Pure: the physical limit, from the caller's last answer from the drained instance (null: it served nothing). */
export function physicalLimitMs(lastServed: LastServed | null): number | null {
  if (lastServed === null) return null;
  assertTime('lastServed.sentMs', lastServed.sentMs, { nonNegative: false });
  assertTime('lastServed.answeredMs', lastServed.answeredMs, { nonNegative: false });
  if (lastServed.answeredMs < lastServed.sentMs) {
    throw new Error(`the last request was answered (${lastServed.answeredMs} ms) before it was sent (${lastServed.sentMs} ms)`);
  }
  return Math.max(0, lastServed.answeredMs);
}

/**
 * Pure: the provable bound — slowest observed flip + fetch + LB, or the last answer if that came later (a request
 * still in flight when the window closed has to end). Null when a server has no observed flip: its term is then the
 * worst case the drain waited, not an observation.
 */
export function provableBoundMs(terms: BoundTerms, lastServed: LastServed | null): number | null {
  assertTime('registryFetchMs', terms.registryFetchMs, { nonNegative: true });
  assertTime('loadBalancerMs', terms.loadBalancerMs, { nonNegative: true });
  const flipMs = slowestFlipMs(terms.flipsMs);
  if (flipMs === null) return null;
  const windowEndMs = flipMs + terms.registryFetchMs + terms.loadBalancerMs;
  const inFlightEndMs = physicalLimitMs(lastServed) ?? 0;
  return Math.max(windowEndMs, inFlightEndMs);
}

/** Pure: the last server's observed flip; null when a server has none. */
export function slowestFlipMs(flipsMs: readonly (number | null)[]): number | null {
  if (flipsMs.length === 0) throw new Error('no server flips: the drain report lists no servers');
  let slowest = -Infinity;
  for (const [i, flip] of flipsMs.entries()) {
    if (flip === null) return null;
    assertTime(`flipsMs[${i}]`, flip, { nonNegative: false });
    slowest = Math.max(slowest, flip);
  }
  return slowest;
}

/** Pure: `part ÷ whole` to two decimals; null when either is unknown or the whole is not positive. */
export function ratio(part: number | null, whole: number | null): number | null {
  if (part === null || whole === null || whole <= 0) return null;
  assertTime('ratio part', part, { nonNegative: true });
  return Math.round((part / whole) * 100) / 100;
}

/** Pure: one drain's limit, bound and both ratios. `terms` is absent for a drain with no report (the fixed sleep). */
export function drainLimit(drainMs: number, lastServed: LastServed | null, terms?: BoundTerms): DrainLimit {
  assertTime('drainMs', drainMs, { nonNegative: true });
  const limit = physicalLimitMs(lastServed);
  const bound = terms ? provableBoundMs(terms, lastServed) : null;
  return {
    drainMs,
    lastServed,
    physicalLimitMs: limit,
    drainOverLimit: ratio(drainMs, limit),
    slowestFlipMs: terms ? slowestFlipMs(terms.flipsMs) : null,
    boundMs: bound,
    drainOverBound: ratio(drainMs, bound),
  };
}
