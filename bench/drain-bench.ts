/**
 * Drain-time benchmark on the real Spring Cloud stack (not a test: nothing here asserts a speed).
 *
 * Three ways to take a demo instance out before its pod stops, under the same constant load through the
 * gateway and the same cache intervals, in ONE run, interleaved round by round:
 *
 *   fixed     the seed recipe: preStop = PUT status=OUT_OF_SERVICE on both Eureka servers, then sleep
 *             server cache + fetch + LB + tail; the kubelet then sends SIGTERM.
 *   drainer   eureka-drainer as a classic sidecar, fixed tail (DRAINER_TAIL_SECONDS).
 *   adaptive  eureka-drainer with DRAINER_TAIL_MODE=adaptive, reading the instance's /actuator/prometheus
 *             (default metric http_server_requests_active_seconds_count), tail max `--adaptive-tail` seconds.
 *   owner     (scaled phase only) eureka-drainer in owner mode: a plain Node app with no Eureka client
 *             (test/e2e/fixtures/plain-app.js), registered, heartbeated (1 s, lease 5 s) and drained by the drainer,
 *             its pod as k8s/owner-mode.yaml (test/e2e/stack/owner-pods.ts), under its own load through the
 *             gateway's /plain/** route at the same rate; ratio against the fixed-sleep rounds of the same run.
 *
 * Phase 1 (scaled: server cache 1000 ms, fetch 1 s, LB TTL 2 s, tail 1 s): `--rounds` rounds of each; before
 * each drain a replacement instance is started and routed (a rolling update), so the fleet stays at two.
 * Phase 2 (Spring defaults: cache 30 s, fetch 30 s, LB TTL 35 s, tail 10 s, set on the Eureka servers, the
 * gateway and the drainer): `--default-rounds` rounds (default 1) of each, on pre-started instances (a replacement
 * would need up to 95 s just to be routed).
 *
 * Drain time = the app container's preStop duration (from the kubelet's call to its return, when the app
 * gets SIGTERM). Idle time = drain end minus the answer time of the last request the drained instance served.
 * Failed = non-2xx answers and connection errors seen by the load generator during the round.
 * Physical limit = the answer time of the last request the drained instance served, after /prestop; provable
 * bound = the slowest server's observed flip + fetch + LB (or that last answer, if later): each drain's length is
 * printed as a ratio of both (bench/drain-limit.ts).
 *
 * Usage: npm run bench [-- --rounds N] [--default-rounds N] [--variants fixed,drainer,adaptive] [--rate R]
 *        [--skip-defaults] [--skip-scaled] [--skip-owner] [--adaptive-tail S] [--label NAME]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { terminatePod, timeline, type PreStopHook } from '../test/e2e/stack/kubelet';
import { failureSummary, LoadGenerator, type LoadFailure } from '../test/e2e/stack/load';
import type { PrestopReport } from '../test/e2e/stack/scenario';
import { drainLimit, type DrainLimit, type LastServed } from './drain-limit';
import {
  DRAINER_TOKEN,
  eurekaRest,
  fixedSleepMs,
  routingTimeoutMs,
  SCALED,
  SPRING_DEFAULTS,
  Stack,
  type DemoInstance,
  type StackTimings,
} from '../test/e2e/stack/stack';
import { assertJavaToolchain } from '../test/e2e/support/spring-app';
import { rollOutOwned, startOwnedPod, stopOwnedPods, waitRoutedPlain, type OwnedPod } from '../test/e2e/stack/owner-pods';

type DemoVariant = 'fixed' | 'drainer' | 'adaptive';
type Variant = DemoVariant | 'owner';
/** The variants that drain a demo-service instance (each round, in this order). */
const DEMO_VARIANTS: readonly DemoVariant[] = ['fixed', 'drainer', 'adaptive'];
const VARIANTS: readonly Variant[] = [...DEMO_VARIANTS, 'owner'];
const LABEL: Record<Variant, string> = {
  fixed: 'fixed sleep (PUT + sleep)',
  drainer: 'drainer, fixed tail',
  adaptive: 'drainer, adaptive tail',
  owner: 'drainer, owner mode (Node app)',
};

interface Options {
  rounds: number;
  /** Rounds of each variant at Spring's defaults (`--default-rounds`, default 1: each takes 60–105 s). */
  defaultRounds: number;
  /** The demo-service variants to run (`--variants`, default all three). */
  variants: DemoVariant[];
  /** Results go to `bench/results/drain-bench-<label>.json` (default `drain-bench.json`). */
  label: string | undefined;
  rate: number;
  scaled: boolean;
  defaults: boolean;
  adaptiveTailSeconds: number;
  /** The owner-mode rounds in the scaled phase (`--skip-owner` turns them off). */
  owner: boolean;
}

export interface RoundResult {
  readonly variant: Variant;
  readonly round: number;
  readonly instanceId: string;
  readonly drainMs: number;
  readonly idleMs: number | null;
  readonly failed: number;
  readonly failureCauses: Record<string, number>;
  /** When this round's failed requests were sent (first) and seen (last), ms since /prestop; null: none failed. */
  readonly failureSpan: { readonly firstSentMs: number; readonly lastSeenMs: number } | null;
  readonly report?: Pick<PrestopReport, 'outcome' | 'durationMs' | 'plan' | 'actual' | 'problems'> & { readonly cacheVerifiedMs: (number | null)[] };
  /** The physical limit and the provable bound, ms since /prestop, and the drain's ratio to each. */
  readonly limit: DrainLimit;
  readonly timeline: Record<string, number | string | boolean>;
}

export interface PhaseResult {
  readonly name: 'scaled' | 'spring-defaults';
  readonly timings: StackTimings;
  readonly fixedSleepMs: number;
  /** DRAINER_TAIL_SECONDS of the adaptive variant (its maximum). */
  readonly adaptiveTailMaxSeconds: number;
  readonly rate: number;
  readonly load: { sent: number; ok: number; failed: number; achievedRate: number };
  /** The plain app's load through /plain/** (owner-mode rounds). */
  readonly ownerLoad?: { sent: number; ok: number; failed: number; achievedRate: number };
  readonly rounds: RoundResult[];
  readonly summary: Record<Variant, VariantSummary | undefined>;
}

interface VariantSummary {
  readonly rounds: number;
  readonly medianMs: number;
  readonly worstMs: number;
  readonly ratioMedian: number | null;
  readonly ratioWorst: number | null;
  readonly failed: number;
  readonly idleMedianMs: number | null;
  readonly idleWorstMs: number | null;
  /** Drain ÷ physical limit and drain ÷ provable bound over the rounds: median and worst. */
  readonly overLimit: Spread | null;
  readonly overBound: Spread | null;
}

interface Spread {
  readonly median: number;
  readonly worst: number;
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function parseArgs(argv: string[]): Options {
  const options: Options = {
    rounds: 5,
    defaultRounds: 1,
    variants: [...DEMO_VARIANTS],
    label: undefined,
    rate: 100,
    scaled: true,
    defaults: true,
    adaptiveTailSeconds: 2,
    owner: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): number => {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value <= 0) throw new Error(`${arg} needs a positive number`);
      return value;
    };
    if (arg === '--rounds') options.rounds = Math.floor(next());
    else if (arg === '--default-rounds') options.defaultRounds = Math.floor(next());
    else if (arg === '--variants') options.variants = parseVariants(argv[++i]);
    else if (arg === '--label') options.label = parseLabel(argv[++i]);
    else if (arg === '--rate') options.rate = next();
    else if (arg === '--adaptive-tail') options.adaptiveTailSeconds = next();
    else if (arg === '--skip-defaults') options.defaults = false;
    else if (arg === '--skip-scaled') options.scaled = false;
    else if (arg === '--skip-owner') options.owner = false;
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  return options;
}

function parseVariants(list: string | undefined): DemoVariant[] {
  const names = (list ?? '').split(',').filter((name) => name !== '');
  const unknown = names.filter((name) => !(DEMO_VARIANTS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--variants needs a comma-separated list of ${DEMO_VARIANTS.join(', ')}; got ${JSON.stringify(list ?? '')}`);
  }
  return DEMO_VARIANTS.filter((variant) => names.includes(variant));
}

function parseLabel(label: string | undefined): string {
  if (!label || !/^[A-Za-z0-9._-]+$/.test(label)) throw new Error(`--label needs a file-name-safe name (letters, digits, . _ -); got ${JSON.stringify(label ?? '')}`);
  return label;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** Adaptive tail max: `--adaptive-tail` (default 2 s) in the scaled phase, never below the phase's own tail. */
function adaptiveTailSeconds(timings: StackTimings, options: Options): number {
  return Math.max(options.adaptiveTailSeconds, timings.tailSeconds);
}

function drainerEnv(variant: DemoVariant, instance: DemoInstance, tailMaxSeconds: number): Record<string, string> {
  if (variant !== 'adaptive') return {};
  return {
    DRAINER_TAIL_MODE: 'adaptive',
    DRAINER_TAIL_METRICS_URL: `${instance.app.url}/actuator/prometheus`,
    DRAINER_TAIL_SECONDS: String(tailMaxSeconds),
  };
}

/** The seed's preStop, as an exec hook: PUT the override on every server (in parallel), then sleep. */
function fixedSleepHook(stack: Stack, instance: DemoInstance): PreStopHook {
  const sleepMs = fixedSleepMs(stack.timings);
  const path = `apps/DEMO/${encodeURIComponent(instance.instanceId)}/status?value=OUT_OF_SERVICE`;
  return {
    kind: 'exec',
    description: `curl -X PUT …/status?value=OUT_OF_SERVICE on both servers; sleep ${sleepMs / 1000}`,
    run: async () => {
      const statuses = await Promise.all([eurekaRest(stack.eurekaA, 'PUT', path), eurekaRest(stack.eurekaB, 'PUT', path)]);
      if (statuses.some((s) => s !== 200)) log(`fixed-sleep PUT answered ${statuses.join(', ')}`);
      await new Promise((done) => setTimeout(done, sleepMs));
    },
  };
}

async function drainOnce(
  stack: Stack,
  load: LoadGenerator,
  target: DemoInstance,
  variant: DemoVariant,
  round: number,
  options: Options,
  graceSeconds: number,
): Promise<RoundResult> {
  if (variant !== 'fixed') await stack.attachDrainer(target, drainerEnv(variant, target, adaptiveTailSeconds(stack.timings, options)));
  // In rotation under load before the drain starts.
  await load.waitForServed(target.instanceId, 10, routingTimeoutMs(stack.timings));
  const failedBefore = load.failedCount;
  const hook: PreStopHook =
    variant === 'fixed'
      ? fixedSleepHook(stack, target)
      : { kind: 'httpGet', path: '/prestop', port: target.drainer!.port, headers: { 'X-Drainer-Token': DRAINER_TOKEN } };
  const record = await terminatePod({
    app: target.app,
    ...(target.drainer ? { drainer: target.drainer, sidecar: 'classic' as const } : {}),
    appPreStop: hook,
    terminationGracePeriodSeconds: graceSeconds,
  });
  // One more second of load after the pod is gone, so late failures are counted in this round.
  await load.waitForCompleted(options.rate);
  const failures = load.snapshotFailures().slice(failedBefore);
  const hookRecord = record.app.hook!;
  const drainMs = (hookRecord.returnedAt ?? record.appSigtermAt ?? record.startedAt) - hookRecord.startedAt;
  const stats = load.stats(target.instanceId);
  const drainEnd = hookRecord.returnedAt ?? record.appSigtermAt!;
  let report: RoundResult['report'];
  let flipsMs: (number | null)[] | undefined;
  if (variant !== 'fixed' && hookRecord.body) {
    const r = JSON.parse(hookRecord.body) as DrainerReport;
    report = reportOf(r);
    flipsMs = flipsSincePrestop(r, hookRecord.startedAt);
  }
  const result: RoundResult = {
    variant,
    round,
    instanceId: target.instanceId,
    drainMs,
    idleMs: stats ? drainEnd - stats.lastServedAt : null,
    failed: failures.length,
    failureCauses: failureSummary(failures),
    failureSpan: failureSpan(failures, hookRecord.startedAt),
    ...(report ? { report } : {}),
    limit: limitOf(drainMs, stats, hookRecord.startedAt, stack.timings, flipsMs),
    timeline: timeline(record),
  };
  log(
    `${variant} #${round}: drain ${drainMs} ms, idle ${result.idleMs} ms, failed ${result.failed}${spanText(result.failureSpan)}, ${limitLine(result.limit)}` +
      (report ? ` (outcome ${report.outcome}, verified at ${report.cacheVerifiedMs.join('/')} ms, tail ${report.actual.tailEndedBy} ${report.actual.tailMs} ms)` : '') +
      (report?.problems.length ? ` problems: ${report.problems.join('; ')}` : '') +
      (record.killed.length ? ` KILLED ${record.killed.join(',')}` : ''),
  );
  return result;
}

/**
 * One owner-mode round: a replacement plain pod is started and routed (a rolling update), then the oldest one is
 * terminated through the kubelet emulator with the manifest's hooks (classic sidecar). Drain time, idle time and
 * failures are measured as for the demo variants, on the plain app's own load.
 */
async function drainOwnedOnce(stack: Stack, load: LoadGenerator, fleet: OwnedPod[], round: number, options: Options): Promise<RoundResult> {
  const replacement = await startOwnedPod({ eurekaUrls: stack.serviceUrls.join(','), timings: stack.timings });
  await waitRoutedPlain(stack.gateway.url, [replacement.instanceId], routingTimeoutMs(stack.timings));
  fleet.push(replacement);
  const target = fleet.shift()!;
  await load.waitForServed(target.instanceId, 10, routingTimeoutMs(stack.timings));
  await load.waitForServed(replacement.instanceId, 10, routingTimeoutMs(stack.timings));
  const failedBefore = load.failedCount;
  const { record, report } = await rollOutOwned(target);
  const r = report as DrainerReport;
  await load.waitForCompleted(options.rate);
  const failures = load.snapshotFailures().slice(failedBefore);
  const hookRecord = record.app.hook!;
  const drainMs = hookRecord.returnedAt! - hookRecord.startedAt;
  const stats = load.stats(target.instanceId);
  const result: RoundResult = {
    variant: 'owner',
    round,
    instanceId: target.instanceId,
    drainMs,
    idleMs: stats ? hookRecord.returnedAt! - stats.lastServedAt : null,
    failed: failures.length,
    failureCauses: failureSummary(failures),
    failureSpan: failureSpan(failures, hookRecord.startedAt),
    report: reportOf(r),
    limit: limitOf(drainMs, stats, hookRecord.startedAt, stack.timings, flipsSincePrestop(r, hookRecord.startedAt)),
    timeline: timeline(record),
  };
  log(
    `owner #${round}: drain ${drainMs} ms, idle ${result.idleMs} ms, failed ${result.failed}${spanText(result.failureSpan)}, ${limitLine(result.limit)} (outcome ${r.outcome}, verified at ${result.report!.cacheVerifiedMs.join('/')} ms)` +
      (record.killed.length ? ` KILLED ${record.killed.join(',')}` : ''),
  );
  return result;
}

/** The drainer's answer to /prestop, with its start (on the same clock as the kubelet emulator's records). */
type DrainerReport = PrestopReport & { readonly startedAt: string };

function reportOf(r: DrainerReport): NonNullable<RoundResult['report']> {
  return { outcome: r.outcome, durationMs: r.durationMs, plan: r.plan, actual: r.actual, problems: r.problems, cacheVerifiedMs: r.servers.map((s) => s.cacheVerifiedMs) };
}

function failureSpan(failures: readonly LoadFailure[], prestopAt: number): RoundResult['failureSpan'] {
  if (failures.length === 0) return null;
  return { firstSentMs: Math.min(...failures.map((f) => f.sentAt)) - prestopAt, lastSeenMs: Math.max(...failures.map((f) => f.at)) - prestopAt };
}

/** Each server's observed flip (`cacheVerifiedMs`, relative to the drainer's start), shifted to ms since /prestop. */
function flipsSincePrestop(report: DrainerReport, prestopAt: number): (number | null)[] {
  const drainerStartedAt = Date.parse(report.startedAt);
  if (!Number.isFinite(drainerStartedAt)) throw new Error(`the drain report's startedAt is not a time: ${JSON.stringify(report.startedAt)}`);
  return report.servers.map((s) => (s.cacheVerifiedMs === null ? null : drainerStartedAt - prestopAt + s.cacheVerifiedMs));
}

function limitOf(drainMs: number, stats: ReturnType<LoadGenerator['stats']>, prestopAt: number, timings: StackTimings, flipsMs?: (number | null)[]): DrainLimit {
  const lastServed: LastServed | null = stats ? { sentMs: stats.lastServedSentAt - prestopAt, answeredMs: stats.lastServedAt - prestopAt } : null;
  const terms = flipsMs ? { flipsMs, registryFetchMs: timings.fetchSeconds * 1000, loadBalancerMs: timings.lbTtlMs } : undefined;
  return drainLimit(drainMs, lastServed, terms);
}

function spanText(span: RoundResult['failureSpan']): string {
  return span ? ` (sent from ${span.firstSentMs} ms, last seen ${span.lastSeenMs} ms after /prestop)` : '';
}

function limitLine(limit: DrainLimit): string {
  return `limit ${limit.physicalLimitMs ?? '-'} ms (×${limit.drainOverLimit ?? '-'}), bound ${limit.boundMs ?? '-'} ms (×${limit.drainOverBound ?? '-'})`;
}

function spread(values: readonly (number | null)[]): Spread | null {
  const known = values.filter((x): x is number => x !== null);
  return known.length === 0 ? null : { median: Math.round(median(known.map((x) => x * 100))) / 100, worst: Math.max(...known) };
}

function summarise(rounds: readonly RoundResult[]): Record<Variant, VariantSummary | undefined> {
  const of = (v: Variant): RoundResult[] => rounds.filter((r) => r.variant === v);
  const fixed = of('fixed');
  const fixedMedian = fixed.length ? median(fixed.map((r) => r.drainMs)) : undefined;
  const fixedWorst = fixed.length ? Math.max(...fixed.map((r) => r.drainMs)) : undefined;
  const summary = {} as Record<Variant, VariantSummary | undefined>;
  for (const v of VARIANTS) {
    const rs = of(v);
    if (rs.length === 0) {
      summary[v] = undefined;
      continue;
    }
    const drains = rs.map((r) => r.drainMs);
    const idles = rs.map((r) => r.idleMs).filter((x): x is number => x !== null);
    const med = median(drains);
    const worst = Math.max(...drains);
    summary[v] = {
      rounds: rs.length,
      medianMs: med,
      worstMs: worst,
      ratioMedian: fixedMedian ? Math.round((med / fixedMedian) * 100) / 100 : null,
      ratioWorst: fixedWorst ? Math.round((worst / fixedWorst) * 100) / 100 : null,
      failed: rs.reduce((n, r) => n + r.failed, 0),
      idleMedianMs: idles.length ? median(idles) : null,
      idleWorstMs: idles.length ? Math.max(...idles) : null,
      overLimit: spread(rs.map((r) => r.limit.drainOverLimit)),
      overBound: spread(rs.map((r) => r.limit.drainOverBound)),
    };
  }
  return summary;
}

export function formatTable(phase: PhaseResult): string {
  const t = phase.timings;
  const head = `${phase.name}: server cache ${t.serverCacheMs} ms, fetch ${t.fetchSeconds} s, LB TTL ${t.lbTtlMs / 1000} s, tail ${t.tailSeconds} s; fixed sleep ${phase.fixedSleepMs / 1000} s; adaptive tail max ${phase.adaptiveTailMaxSeconds} s; ${phase.rate} req/s`;
  const rows: string[][] = [
    ['variant', 'rounds', 'median ms', 'worst ms', 'ratio median', 'ratio worst', 'failed', 'idle median ms', 'idle worst ms', '÷ limit median', '÷ limit worst', '÷ bound median', '÷ bound worst'],
  ];
  for (const v of VARIANTS) {
    const s = phase.summary[v];
    if (!s) continue;
    rows.push([
      LABEL[v],
      String(s.rounds),
      String(s.medianMs),
      String(s.worstMs),
      String(s.ratioMedian ?? '-'),
      String(s.ratioWorst ?? '-'),
      String(s.failed),
      String(s.idleMedianMs ?? '-'),
      String(s.idleWorstMs ?? '-'),
      times(s.overLimit?.median),
      times(s.overLimit?.worst),
      times(s.overBound?.median),
      times(s.overBound?.worst),
    ]);
  }
  return `${head}\n${alignTable(rows)}\n\nper drain, ms since /prestop (limit: the drained instance's last answer; bound: slowest server flip + fetch + LB, or the last answer if later)\n${alignTable(perDrainRows(phase.rounds))}`;
}

function perDrainRows(rounds: readonly RoundResult[]): string[][] {
  const rows: string[][] = [['variant', 'round', 'drain', 'last request sent', 'answered = limit', 'drain ÷ limit', 'slowest flip', 'bound', 'drain ÷ bound', 'tail']];
  const cell = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : String(value));
  for (const r of rounds) {
    const { limit } = r;
    const tail = r.report ? `${r.report.actual.tailEndedBy ?? '-'} ${cell(r.report.actual.tailMs)}` : '-';
    rows.push([
      LABEL[r.variant],
      String(r.round),
      String(r.drainMs),
      cell(limit.lastServed?.sentMs),
      cell(limit.physicalLimitMs),
      times(limit.drainOverLimit),
      cell(limit.slowestFlipMs),
      cell(limit.boundMs),
      times(limit.drainOverBound),
      tail,
    ]);
  }
  return rows;
}

/** A ratio as the tables print it: two decimals (1.00, not 1), '-' when unknown. */
function times(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value.toFixed(2);
}

function alignTable(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

async function runPhase(name: PhaseResult['name'], timings: StackTimings, rounds: number, options: Options): Promise<PhaseResult> {
  const replace = name === 'scaled';
  // Owner mode needs a replacement pod routed before each drain: scaled phase only (at the defaults a new
  // registration takes up to 95 s to reach the gateway).
  const owner = replace && options.owner;
  const drains = rounds * (options.variants.length + (owner ? 1 : 0));
  const graceSeconds = Math.max(30, Math.ceil((fixedSleepMs(timings) + 12_000) / 1000) + 5);
  const perDrainBudgetMs = fixedSleepMs(timings) + routingTimeoutMs(timings) + 20_000;
  log(`${name}: starting the stack (${replace ? 2 : drains + 1} demo instances)`);
  const stack = await Stack.start({ demos: replace ? 2 : drains + 1, drainers: false, timings, gracePeriodSeconds: graceSeconds, log });
  const maxDurationMs = drains * perDrainBudgetMs + 60_000;
  const load = new LoadGenerator({ url: stack.helloUrl, ratePerSecond: options.rate, maxRequests: Math.ceil((options.rate * maxDurationMs) / 1000), maxDurationMs }).start();
  const fleet: OwnedPod[] = [];
  let plainLoad: LoadGenerator | undefined;
  const results: RoundResult[] = [];
  try {
    if (owner) {
      log('starting two owner-mode pods (plain Node app + drainer, k8s/owner-mode.yaml)');
      for (let i = 0; i < 2; i++) fleet.push(await startOwnedPod({ eurekaUrls: stack.serviceUrls.join(','), timings }));
      await waitRoutedPlain(stack.gateway.url, fleet.map((p) => p.instanceId), routingTimeoutMs(timings));
      plainLoad = new LoadGenerator({ url: `${stack.gateway.url}/plain/hello`, ratePerSecond: options.rate, maxRequests: Math.ceil((options.rate * maxDurationMs) / 1000), maxDurationMs }).start();
    }
    for (let round = 1; round <= rounds; round++) {
      if (plainLoad) results.push(await drainOwnedOnce(stack, plainLoad, fleet, round, options));
      for (const variant of options.variants) {
        const target = stack.instances.find((i) => !i.app.exited)!;
        if (replace) {
          const replacement = await stack.addInstance({ drainer: false });
          await load.waitForServed(replacement.instanceId, 10, routingTimeoutMs(timings));
        }
        results.push(await drainOnce(stack, load, target, variant, round, options, graceSeconds));
      }
    }
  } finally {
    const loadResult = await load.stop();
    const plainResult = await plainLoad?.stop();
    await stopOwnedPods();
    await stack.stop();
    const phase: PhaseResult = {
      name,
      timings,
      fixedSleepMs: fixedSleepMs(timings),
      adaptiveTailMaxSeconds: adaptiveTailSeconds(timings, options),
      rate: options.rate,
      load: { sent: loadResult.sent, ok: loadResult.ok, failed: loadResult.failed, achievedRate: loadResult.achievedRate },
      ...(plainResult ? { ownerLoad: { sent: plainResult.sent, ok: plainResult.ok, failed: plainResult.failed, achievedRate: plainResult.achievedRate } } : {}),
      rounds: results,
      summary: summarise(results),
    };
    lastPhase = phase;
  }
  return lastPhase;
}

let lastPhase: PhaseResult | undefined;

function writeResults(phases: readonly PhaseResult[], options: Options): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, options.label ? `drain-bench-${options.label}.json` : 'drain-bench.json');
  const doc = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench',
    options,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    phases,
  };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

export async function main(argv: string[]): Promise<number> {
  const options = parseArgs(argv);
  assertJavaToolchain();
  const phases: PhaseResult[] = [];
  const started = Date.now();
  try {
    if (options.scaled) phases.push(await runPhase('scaled', SCALED, options.rounds, options));
    if (options.defaults) phases.push(await runPhase('spring-defaults', SPRING_DEFAULTS, options.defaultRounds, options));
  } catch (error) {
    if (lastPhase && !phases.includes(lastPhase)) phases.push(lastPhase);
    if (phases.length > 0) log(`partial results written to ${writeResults(phases, options)}`);
    throw error;
  }
  const file = writeResults(phases, options);
  process.stdout.write('\n');
  for (const phase of phases) process.stdout.write(`${formatTable(phase)}\n\n`);
  process.stdout.write(`results: ${file} (bench wall time ${Math.round((Date.now() - started) / 1000)} s)\n`);
  return 0;
}
