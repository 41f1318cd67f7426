import type { Timings } from './config';
import { cacheTermMs } from './drain/read-schedule';
import { formatMs } from './duration';

export type PlanTermName = 'replication_settle' | 'server_cache' | 'registry_fetch' | 'load_balancer' | 'tail' | 'app_shutdown' | 'margin';

export interface PlanTerm {
  readonly name: PlanTermName;
  readonly ms: number;
  /** Where the number comes from, for the table and /plan. */
  readonly source: string;
}

export interface Plan {
  readonly terms: readonly PlanTerm[];
  /** Until the last caller stops selecting the instance: cache + fetch + load balancer. */
  readonly selectMs: number;
  /** What /prestop waits at worst: selectMs + tail. */
  readonly drainMs: number;
  /** The grace period this plan needs: drain + app shutdown + margin. */
  readonly requiredGraceMs: number;
  readonly gracePeriodMs: number;
  readonly fits: boolean;
  /**
   * The longest /prestop may block, measured from the start of termination,
   * so the app still gets its shutdown time and the margin before SIGKILL.
   */
  readonly drainBudgetMs: number;
}

/** The load-balancer term for the callers' kind: the larger if both are in use. */
export function loadBalancerTerm(timings: Timings): PlanTerm {
  switch (timings.loadBalancer) {
    case 'loadbalancer':
      return { name: 'load_balancer', ms: timings.loadBalancerTtlMs, source: 'spring.cloud.loadbalancer.cache.ttl' };
    case 'ribbon':
      return { name: 'load_balancer', ms: timings.ribbonRefreshMs, source: 'ribbon.ServerListRefreshInterval' };
    case 'both':
      return timings.loadBalancerTtlMs >= timings.ribbonRefreshMs
        ? { name: 'load_balancer', ms: timings.loadBalancerTtlMs, source: 'spring.cloud.loadbalancer.cache.ttl (larger than Ribbon)' }
        : { name: 'load_balancer', ms: timings.ribbonRefreshMs, source: 'ribbon.ServerListRefreshInterval (larger than LoadBalancer)' };
    case 'none':
      return { name: 'load_balancer', ms: 0, source: 'callers read the Eureka client directly' };
  }
}

/** Pure: the drain window term by term and whether it fits the grace period. */
export function computePlan(timings: Timings, options: { readonly replicationSettleMs?: number } = {}): Plan {
  const lb = loadBalancerTerm(timings);
  // Owner mode waits for the last heartbeat's replication before it cancels (src/drain/owner-mode.ts).
  const settleMs = options.replicationSettleMs ?? 0;
  const serverCacheMs = cacheTermMs(timings.serverCacheMs);
  const terms: PlanTerm[] = [
    ...(settleMs > 0 ? [{ name: 'replication_settle' as const, ms: settleMs, source: 'owner mode: the last heartbeat replicates before the cancel' }] : []),
    // The interval and the tick's slack: a drain counts the server cache at that length (drain/read-schedule.ts), so the plan does too.
    { name: 'server_cache', ms: serverCacheMs, source: 'eureka.server.response-cache-update-interval-ms + tick slack' },
    { name: 'registry_fetch', ms: timings.registryFetchMs, source: 'eureka.client.registry-fetch-interval-seconds' },
    lb,
    { name: 'tail', ms: timings.tailMs, source: 'DRAINER_TAIL_SECONDS' },
    { name: 'app_shutdown', ms: timings.appShutdownMs, source: 'spring.lifecycle.timeout-per-shutdown-phase' },
    { name: 'margin', ms: timings.marginMs, source: 'DRAINER_MARGIN_SECONDS' },
  ];
  const selectMs = settleMs + serverCacheMs + timings.registryFetchMs + lb.ms;
  const drainMs = selectMs + timings.tailMs;
  const requiredGraceMs = drainMs + timings.appShutdownMs + timings.marginMs;
  return {
    terms,
    selectMs,
    drainMs,
    requiredGraceMs,
    gracePeriodMs: timings.gracePeriodMs,
    fits: requiredGraceMs <= timings.gracePeriodMs,
    drainBudgetMs: Math.max(0, timings.gracePeriodMs - timings.appShutdownMs - timings.marginMs),
  };
}

/** One sentence an SRE can act on when the plan does not fit. */
export function describeFit(plan: Plan): string {
  if (plan.fits) return `fits: needs ${formatMs(plan.requiredGraceMs)} of a ${formatMs(plan.gracePeriodMs)} grace period`;
  return (
    `does not fit: the drain needs ${formatMs(plan.requiredGraceMs)} (drain ${formatMs(plan.drainMs)} + app shutdown + margin) ` +
    `but terminationGracePeriodSeconds is ${formatMs(plan.gracePeriodMs)}; set terminationGracePeriodSeconds and ` +
    `DRAINER_GRACE_PERIOD_SECONDS to at least ${Math.ceil(plan.requiredGraceMs / 1000)}, or the drain will be cut to ${formatMs(plan.drainBudgetMs)}`
  );
}

/** The plan as a fixed-width table for `eureka-drainer plan`. */
export function formatPlanTable(plan: Plan): string {
  const rows = plan.terms.map((t) => [t.name, formatMs(t.ms), t.source]);
  rows.push(['drain (/prestop)', formatMs(plan.drainMs), 'server_cache + registry_fetch + load_balancer + tail']);
  rows.push(['grace needed', formatMs(plan.requiredGraceMs), 'drain + app_shutdown + margin']);
  rows.push(['grace period', formatMs(plan.gracePeriodMs), 'DRAINER_GRACE_PERIOD_SECONDS']);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]}`);
  lines.push('', describeFit(plan));
  return lines.join('\n');
}
