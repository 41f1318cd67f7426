/**
 * `npm run demo`: the whole story on the real stack in about a minute.
 *
 * A replicating Eureka pair, two Spring Boot instances of `demo` (each with its
 * own Eureka client and a drainer beside it) and Spring Cloud Gateway routing
 * `lb://demo`, all with scaled-down intervals, under 100 requests/s.
 *   1. One instance is rolled out the way the kubelet does it, with the drainer.
 *   2. The other is stopped the usual way, SIGTERM without a drain, after a
 *      replacement has joined.
 * While it runs, a progress line shows the drainer's phase and remaining time
 * (its GET /drain) and the requests ok/failed: redrawn in place on a terminal,
 * one line per second otherwise. At the end it prints what each stop cost in
 * failed requests and writes the timeline of both stops (bench/timeline-svg.ts)
 * to bench/results/drain-timeline.svg (and .png, .json). Exit code 0 when the
 * drained roll-out failed no request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { terminatePod, type TerminationRecord } from '../test/e2e/stack/kubelet';
import { failureSummary, LoadGenerator, type LoadResult } from '../test/e2e/stack/load';
import { rollOut, type PrestopReport } from '../test/e2e/stack/scenario';
import { Stack, type DemoInstance } from '../test/e2e/stack/stack';
import type { DrainerProcess } from '../test/e2e/support/drainer-process';
import { assertJavaToolchain } from '../test/e2e/support/spring-app';
import { ratesFromCounts, timelineSvg, type Timeline, type TimelineMarker, type TimelinePanel } from './timeline-svg';

const RATE = 100;
const RESULTS = resolve(__dirname, 'results');
const LEAD_IN_MS = 3_000;

/** The progress line: on a terminal redrawn in place (and cleared before any other output), else one line a second. */
class Progress {
  private readonly tty = Boolean(process.stdout.isTTY);
  private shown = false;
  private lastPrinted = 0;

  say(line: string): void {
    this.clear();
    process.stdout.write(`${line}\n`);
  }

  update(line: string): void {
    if (this.tty) {
      process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
      this.shown = true;
    } else if (Date.now() - this.lastPrinted >= 1_000) {
      this.lastPrinted = Date.now();
      process.stdout.write(`${line}\n`);
    }
  }

  clear(): void {
    if (this.shown) process.stdout.write('\r\x1b[2K');
    this.shown = false;
  }
}

interface Sample {
  readonly at: number;
  readonly served: Record<string, number>;
  readonly failed: number;
}

interface DrainView {
  readonly phase: string;
  readonly remainingMs: number;
}

/**
 * Samples the load every 100 ms (answers per instance, failures) and, when given a drainer, polls its GET /drain
 * every 250 ms; redraws the progress line from both.
 */
class Watcher {
  readonly samples: Sample[] = [];
  private drain: DrainView | undefined;
  private drainError = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private polling = false;
  sigtermAt: number | undefined;

  constructor(
    private readonly load: LoadGenerator,
    private readonly ids: readonly string[],
    private readonly progress: Progress,
    private readonly label: string,
    private readonly drainer?: DrainerProcess,
  ) {}

  start(): this {
    this.sample();
    this.timers.push(setInterval(() => this.sample(), 100));
    if (this.drainer) this.timers.push(setInterval(() => void this.poll(), 250));
    this.timers.push(setInterval(() => this.progress.update(this.line()), 250));
    return this;
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.sample();
    this.progress.clear();
  }

  private sample(): void {
    const served = Object.fromEntries(this.ids.map((id) => [id, this.load.stats(id)?.served ?? 0]));
    this.samples.push({ at: Date.now(), served, failed: this.load.failedCount });
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.drainer) return;
    this.polling = true;
    try {
      const res = await fetch(`${this.drainer.url}/drain`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { phase?: unknown; remainingMs?: unknown };
      this.drain = { phase: String(body.phase), remainingMs: Number(body.remainingMs) || 0 };
      this.drainError = false;
    } catch {
      this.drainError = true; // gone after its clean-up, or busy: keep the last view
    } finally {
      this.polling = false;
    }
  }

  private line(): string {
    const last = this.samples[this.samples.length - 1];
    const ok = last ? Object.values(last.served).reduce((a, b) => a + b, 0) : 0;
    const requests = `requests ok ${ok}, failed ${last?.failed ?? 0}`;
    if (this.drainer) {
      const d = this.drain;
      const phase = d ? `phase ${d.phase}${this.drainError ? ' (drainer gone)' : ''}, ${(d.remainingMs / 1000).toFixed(1)} s left` : 'phase ?';
      return `   [${this.label}] ${phase} | ${requests}`;
    }
    const since = this.sigtermAt === undefined ? 'before SIGTERM' : `app SIGTERM ${((Date.now() - this.sigtermAt) / 1000).toFixed(1)} s ago`;
    return `   [${this.label}] ${since} | ${requests}`;
  }
}

function startLoad(stack: Stack): LoadGenerator {
  return new LoadGenerator({ url: stack.helloUrl, ratePerSecond: RATE, maxRequests: RATE * 60, maxDurationMs: 60_000 }).start();
}

function loadLine(result: LoadResult): string {
  const causes = failureSummary(result.failures);
  return `${result.sent} requests, ${result.failed} failed${result.failed ? ` ${JSON.stringify(causes)}` : ''}`;
}

/** The times of the drain's phases as the drainer logged them ("drain phase changed", pino's ISO time). */
function phaseTimes(drainer: DrainerProcess | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of drainer?.logs ?? []) {
    if (line.msg !== 'drain phase changed' || typeof line.to !== 'string') continue;
    const at = typeof line.time === 'number' ? line.time : Date.parse(String(line.time));
    if (Number.isFinite(at)) out[line.to] = at;
  }
  return out;
}

/** The phases of the drain report (plus the kubelet's SIGTERM and the drainer's clean-up log line) as markers. */
export function drainMarkers(report: PrestopReport & { phases?: Record<string, string>; startedAt?: string }, record: TerminationRecord, logged: Record<string, number>): TimelineMarker[] {
  const origin = record.startedAt;
  const started = report.startedAt ? Date.parse(report.startedAt) : (record.hookStartedAt ?? origin);
  const phase = (name: string): number | undefined => (report.phases?.[name] ? Date.parse(report.phases[name]) : logged[name]);
  const markers: { at: number | undefined; label: string }[] = [];
  markers.push({ at: phase('taking_out'), label: 'override put (taking_out)' });
  const verified = report.servers.map((s) => s.cacheVerifiedMs);
  if (verified.length > 0 && verified.every((v): v is number => v !== null)) {
    markers.push({ at: started + Math.max(...verified), label: 'servers verified' });
  } else {
    markers.push({ at: phase('waiting_clients'), label: 'verification over (not all verified)' });
  }
  // Where the drain stopped waiting for the window (its end, or the deadline when one cut it); the tail runs from there.
  const windowEnd = report.actual.clientWindowWaitedMs === null ? undefined : started + report.actual.clientWindowWaitedMs;
  markers.push({ at: windowEnd, label: 'client window end' });
  markers.push({ at: windowEnd === undefined || report.actual.tailMs === null ? undefined : windowEnd + report.actual.tailMs, label: 'tail end' });
  markers.push({ at: record.appSigtermAt, label: 'app SIGTERM' });
  markers.push({ at: logged.cleaning_up, label: 'clean-up' });
  return markers.filter((m): m is { at: number; label: string } => m.at !== undefined).map((m) => ({ tMs: m.at - origin, label: m.label }));
}

function panelOf(
  title: string,
  samples: readonly Sample[],
  record: TerminationRecord,
  result: LoadResult,
  series: readonly { id: string; name: string; kind: 'drained' | 'other' }[],
  markers: TimelineMarker[],
): TimelinePanel {
  const origin = record.startedAt;
  const fromMs = Math.max(samples[0]!.at, origin - LEAD_IN_MS) - origin;
  const toMs = samples[samples.length - 1]!.at - origin;
  return {
    title,
    note: `${result.failed} failed of ${result.sent} requests`,
    fromMs,
    toMs,
    series: [
      ...series.map((s) => ({ name: s.name, kind: s.kind, points: ratesFromCounts(samples.map((x) => ({ at: x.at, count: x.served[s.id] ?? 0 })), origin) })),
      { name: 'failed', kind: 'failed' as const, points: ratesFromCounts(samples.map((x) => ({ at: x.at, count: x.failed })), origin) },
    ],
    markers,
  };
}

/** Writes the SVG (and, when @resvg/resvg-js is installed, a PNG of it) and the data; returns the paths. */
function writeTimeline(timeline: Timeline): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const svg = timelineSvg(timeline);
  const paths = [join(RESULTS, 'drain-timeline.svg')];
  writeFileSync(paths[0]!, svg);
  writeFileSync(join(RESULTS, 'drain-timeline.json'), `${JSON.stringify(timeline, null, 1)}\n`);
  try {
    // A devDependency: present after `npm ci`, absent from a production install.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: loaded only where it is installed
    const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
    const png = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    paths.push(join(RESULTS, 'drain-timeline.png'));
    writeFileSync(paths[1]!, png);
  } catch {
    // the SVG is the product; the PNG is a convenience
  }
  return paths;
}

export async function main(): Promise<number> {
  assertJavaToolchain();
  const progress = new Progress();
  const say = (line: string): void => progress.say(line);
  say('eureka-drainer demo: starting a Eureka pair, 2 Spring Boot instances with a drainer each, and Spring Cloud Gateway…');
  const stack = await Stack.start({ demos: 2, log: (line) => say(`  ${line}`) });
  try {
    const [drained, stopped] = stack.instances as [DemoInstance, DemoInstance];
    say(`gateway: ${stack.helloUrl}  (cache 1 s, fetch 1 s, LoadBalancer TTL 2 s, tail 1 s: plan 5 s)`);

    say(`\n1) rolling out ${drained.instanceId} WITH the drainer, under ${RATE} requests/s`);
    say('   kubelet: preStop GET /prestop on the drainer, SIGTERM to the classic sidecar at once, SIGTERM to the app when the hook returns');
    let load = startLoad(stack);
    const drainer = drained.drainer;
    let watcher = new Watcher(load, [drained.instanceId, stopped.instanceId], progress, 'with drainer', drainer).start();
    await load.waitForServed(drained.instanceId, 20);
    await load.waitForServed(stopped.instanceId, 20);
    // A few seconds of both instances serving, so the picture shows the line before the drain.
    await load.waitForCompleted(RATE * 2);
    const roll = await rollOut(drained, { sidecar: 'classic' });
    await load.waitForCompleted(RATE * 2);
    if (drainer) await Promise.race([drainer.exited, new Promise((r) => setTimeout(r, 5_000))]);
    const withDrainer = await load.stop();
    watcher.stop();
    const r = roll.report;
    say(`   drain answered after ${r.durationMs} ms (plan ${r.plan.drainMs} ms), outcome ${r.outcome}`);
    for (const s of r.servers) say(`   ${s.server}: override ${s.put}, live view at ${s.liveVerifiedMs} ms, callers' view at ${s.cacheVerifiedMs} ms`);
    const last = withDrainer.perInstance[drained.instanceId];
    if (last && roll.record.appSigtermAt) say(`   last request served by it ${roll.record.appSigtermAt - last.lastServedAt} ms before its SIGTERM`);
    say(`   load: ${loadLine(withDrainer)}`);
    const drainedPanel = panelOf(
      'with the drainer (classic sidecar, preStop GET /prestop)',
      watcher.samples,
      roll.record,
      withDrainer,
      [
        { id: drained.instanceId, name: `drained ${drained.instanceId}`, kind: 'drained' },
        { id: stopped.instanceId, name: `other ${stopped.instanceId}`, kind: 'other' },
      ],
      drainMarkers(r, roll.record, phaseTimes(drainer)),
    );

    say(`\n2) starting a replacement, then stopping ${stopped.instanceId} WITHOUT a drain (SIGTERM at once)`);
    const replacement = await stack.addInstance({ drainer: false });
    await stack.waitRouted([replacement.instanceId], 30_000);
    load = startLoad(stack);
    watcher = new Watcher(load, [stopped.instanceId, replacement.instanceId], progress, 'no drainer').start();
    await load.waitForServed(stopped.instanceId, 20);
    await load.waitForCompleted(RATE * 2);
    watcher.sigtermAt = Date.now();
    const record = await terminatePod({ app: stopped.app, terminationGracePeriodSeconds: 30 });
    await load.waitForCompleted(RATE * 6);
    const without = await load.stop();
    watcher.stop();
    say(`   load: ${loadLine(without)}`);
    const undrainedMarkers: TimelineMarker[] = [];
    if (record.appSigtermAt) undrainedMarkers.push({ tMs: record.appSigtermAt - record.startedAt, label: 'app SIGTERM (no preStop)' });
    if (record.appExitedAt) undrainedMarkers.push({ tMs: record.appExitedAt - record.startedAt, label: 'app exited' });
    const undrainedPanel = panelOf(
      'without the drainer (SIGTERM at once)',
      watcher.samples,
      record,
      without,
      [
        { id: stopped.instanceId, name: `stopped ${stopped.instanceId}`, kind: 'drained' },
        { id: replacement.instanceId, name: `replacement ${replacement.instanceId}`, kind: 'other' },
      ],
      undrainedMarkers,
    );

    const paths = writeTimeline({ title: `eureka-drainer demo: ${RATE} requests/s through Spring Cloud Gateway, scaled intervals (plan ${r.plan.drainMs} ms)`, panels: [drainedPanel, undrainedPanel] });

    say('\nsummary');
    say(`   with the drainer:    ${withDrainer.failed} failed of ${withDrainer.sent}`);
    say(`   without the drainer: ${without.failed} failed of ${without.sent}`);
    say(`   timeline: ${paths.map((p) => relative(process.cwd(), p)).join(', ')}`);
    return withDrainer.failed === 0 ? 0 : 1;
  } finally {
    progress.clear();
    await stack.stop();
  }
}
