/**
 * Fleet benchmark (not a test): N drainers draining at once against one real Eureka pair, as in a node-group
 * migration. `npm run bench:fleet` (= node bench/run.js fleet); run it under the stack lock on a shared machine:
 *   flock /tmp/stack.lock npm run bench:fleet -- [--shape many-services|one-service|both] [--sizes 1,25,100,200]
 *        [--background 200] [--dist DIR] [--before DIR] [--rate 100] [--separate-up-to 25] [--per-process 25]
 *        [--cpu-prof DIR]
 *
 * Shapes: many-services (the default, below) and one-service: N + 2 instances of one app FLEETAPP, the first N
 * drained at once (DRAINER_INSTANCE_ID set: no locate read), beside --background instances of other apps (FLEET-000 …,
 * renewing, never drained) that make the registry and the delta realistic; the caller calls FLEETAPP only. Each
 * shape gets its own Eureka pair.
 *
 * Where the drains' requests and CPU go (both shapes): each drainer's proxies split requests and the server's
 * bytes by kind (override PUT, the app's view, delta, live instance reads, other; bench/eureka-proxy.ts) and note
 * when the first override PUT passed on to each server; bench/drain-cpu-probe.js, preloaded into every drainer
 * process, notes process.cpuUsage() at /prestop and at each override PUT. --cpu-prof DIR: the hosted drainer
 * processes (N > --separate-up-to; --separate-up-to 0 hosts every N) write V8 CPU profiles to DIR when they stop;
 * bench/cpu-profile-window.js cuts them to the probe's /prestop → PUT windows.
 *
 * - Eureka: the stack fixtures' eureka-server jar, a replicating pair on 127.0.0.2 / 127.0.0.3, scaled intervals
 *   (response cache 1 s, eviction 1 s) and the delta queue's retention scaled to 20 s (production 180 s), so each
 *   wave's delta holds that wave's changes (as a 3-minute retention holds a real wave) and not the previous wave's.
 *   A fresh pair for every variant (--dist, --before), so the two never share a delta.
 * - Apps: N lightweight instances (test/e2e/support/fake-app.ts: registered and heartbeated like the Java
 *   DiscoveryClient; here every 5 s with a 30 s lease, see FleetApp), four instances per app (FLEET-000, FLEET-001, …: many services, as in a
 *   migration), each with a real HTTP port on 127.0.0.1 that answers 200 (served by the traffic worker). On the drainer's answer the app does what
 *   a Spring app does on SIGTERM: stops heartbeating, cancels its lease on both servers, closes its port.
 * - Caller: a loopback client that fetches the full registry (`GET /eureka/apps`, JSON) from server A every 1 s
 *   (B when A fails), keeps the UP instances, refreshes its load-balancer list from that copy every 2 s (LB TTL),
 *   and sends `--rate` requests/s round-robin, one new connection each (a closed port is a refused connection, a
 *   failure). It and every app's port run in a worker thread of their own (bench/fleet-traffic.ts), off the loop
 *   that orchestrates the wave.
 * - Drainers: for N ≤ --separate-up-to (25), N separate processes of `<dist>/main.js`, each next to its own app
 *   (POD_IP=127.0.0.1, SERVER_PORT = the app's port), DRAINER_VERIFY_POLL_MS left at its default. Above it, the
 *   drainers are hosted --per-process (25) to a process by bench/fleet-host.js: the same configuration, client,
 *   controller and HTTP server per drainer, several in one event loop, so that N = 100/200 measure Eureka's side and
 *   not 200 Node start-ups on 2 cores (200 processes starved the machine: 331 failed requests, 129 drains not taken
 *   out, the 2026-12-01 run). Each drainer still has its own port, proxies and counters. Each drainer reaches each Eureka server through
 *   its own loopback TCP proxy, which counts the bytes the server sent it: that is "response bytes per drain"
 *   (headers included, as on the wire, gzip when the drainer asked for it), read at the moment its /prestop
 *   answered. Requests per drain: the drainer's own eureka_drainer_eureka_requests_total read from its /metrics
 *   before the wave and right after its /prestop answered (the histogram's _count gives the same number; its
 *   _sum the seconds spent in Eureka calls). Each drainer process writes its stdout (its logs, the probe's lines) to a
 *   file in a temporary directory, as a container runtime keeps a container's log, not to a pipe the bench reads.
 * - Wave: every drainer's `/prestop` called at once. Drain time = the /prestop call as the caller saw it. Eureka
 *   CPU seconds: utime+stime of both JVMs from /proc/<pid>/stat over the wave, and over an idle window of the same
 *   length just before it (heartbeats only) for comparison; peak RSS: VmRSS of each JVM sampled every 100 ms.
 *   Failed requests: the caller's failures from the wave's start until 4 s after the last app closed its port.
 *
 * Loopback only; bounded: every wait has a timeout, the caller is capped in count and time per wave.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { EurekaServerConfig } from '../src/config';
import { HeartbeatingApp } from '../test/e2e/support/fake-app';
import { diffProxyCounters, ProxyHost, REQUEST_KINDS, type Proxy, type RequestKind } from './eureka-proxy';
import { TrafficHost } from './fleet-traffic';
import { freePort, startSpringApp, stopAll, type SpringApp } from '../test/e2e/support/spring-app';

const ROOT = resolve(__dirname, '..');
const TOKEN = 'fleet-bench-token-0123456789';
const PER_APP = 4;
const CACHE_MS = 1_000;
const RETENTION_MS = 20_000;
const TICKS = 100; // USER_HZ, the unit of /proc/<pid>/stat times on Linux
const log = (line: string): void => void process.stderr.write(`[fleet ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * many-services: N instances of N / 4 apps (FLEET-000 …), every one drained: a migration of many small services.
 * one-service: N + 2 instances of one app (FLEETAPP), N of them drained at once, beside a background fleet that is
 * not drained: one big service on the node pool being replaced.
 */
type Shape = 'many-services' | 'one-service';
const SHAPES: readonly Shape[] = ['many-services', 'one-service'];
const ONE_APP = 'FLEETAPP';
/** Instances of the one app that stay: the caller always has somewhere to go. */
const ONE_APP_SPARE = 2;

interface Options {
  sizes: number[];
  shapes: Shape[];
  /** one-service: instances of other apps (4 per app) registered and renewing, never drained. */
  background: number;
  /** A directory: hosted drainer processes write V8 CPU profiles (node --cpu-prof) there. */
  cpuProfDir: string | undefined;
  variants: { name: string; dist: string }[];
  rate: number;
  /** Up to this N every drainer is its own process; above it they are hosted perProcess to a process. */
  separateUpTo: number;
  perProcess: number;
}

function parseArgs(args: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (value('--sizes') ?? '1,25,100,200').split(',').map(Number).filter((n) => n > 0);
  const shape = value('--shape') ?? 'many-services';
  const shapes = shape === 'both' ? [...SHAPES] : SHAPES.filter((s) => s === shape);
  if (shapes.length === 0) throw new Error(`--shape must be one-service, many-services or both, got ${JSON.stringify(shape)}`);
  const background = Number(value('--background') ?? 200);
  if (!Number.isInteger(background) || background < 0) throw new Error(`--background must be a whole number of instances, got ${JSON.stringify(value('--background'))}`);
  const cpuProf = value('--cpu-prof');
  const variants = [{ name: 'after', dist: resolve(value('--dist') ?? join(ROOT, 'dist')) }];
  const before = value('--before');
  if (before) variants.push({ name: 'before', dist: resolve(before) });
  for (const v of variants) if (!existsSync(join(v.dist, 'main.js'))) throw new Error(`${v.dist}/main.js missing (npm run build)`);
  return { sizes, shapes, background, cpuProfDir: cpuProf ? resolve(cpuProf) : undefined, variants, rate: Number(value('--rate') ?? 100), separateUpTo: Number(value('--separate-up-to') ?? 25), perProcess: Math.max(1, Number(value('--per-process') ?? 25)) };
}

// ---------- /proc readings ----------
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14, 15)
}
function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
}
function memAvailableMiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}

// ---------- the app instances ----------
interface Instance {
  readonly index: number;
  readonly app: string;
  readonly port: number;
  readonly fake: FleetApp;
  portClosedAt?: number;
  drainer?: Drainer;
  proxies: Proxy[];
}

/**
 * The fixture app with a 5 s renewal and a 30 s lease (the fixture's 1 s / 5 s would be 400 heartbeats a second
 * at N = 200 from this one process, which starved it on 2 cores: leases expired and the caller timed out). The
 * renewal interval is not a term of the drain plan; the override survives any renewal rate.
 */
class FleetApp extends HeartbeatingApp {
  /** The renewal in flight, if any: shutting down waits for it (below). */
  inFlight: Promise<void> = Promise.resolve();
  override registration() {
    return { ...super.registration(), leaseRenewalIntervalSecs: RENEW_S, leaseDurationSecs: 30 };
  }
  override beat(): Promise<void> {
    this.inFlight = super.beat();
    return this.inFlight;
  }
}
const RENEW_S = 5;

/** many-services and the background fleet: FLEET-000 …, four instances each. */
const fleetAppName = (index: number): string => `FLEET-${String(Math.floor(index / PER_APP)).padStart(3, '0')}`;

async function startInstance(index: number, app: string, servers: EurekaServerConfig[]): Promise<Instance> {
  const port = await trafficHost().startApp();
  const fake = new FleetApp(servers, '127.0.0.1', port, app);
  return { index, app, port, fake, proxies: [] };
}

/** What a Spring app does on SIGTERM after the hook returned: stop renewing, cancel on every server, close the port. */
async function shutDownInstance(instance: Instance): Promise<void> {
  instance.fake.stopHeartbeats();
  // A renewal still in flight that lands after the cancel gets a 404 and registers the app again, UP, after its port
  // closed (as the Java client would not: it stops its scheduler before it cancels). The 2026-12-02 run lost 212 and
  // 235 requests at N = 100 that way (2 and 4 re-registrations, both variants); wait for it as the Java client does.
  await instance.fake.inFlight.catch(() => undefined);
  await Promise.all(instance.fake.servers.map((s) => instance.fake.eureka.cancel(s, instance.app, instance.fake.instanceId).catch(() => undefined)));
  instance.portClosedAt = await trafficHost().closeApp(instance.port);
}

// ---------- drainer processes ----------
interface Drainer {
  readonly child: ChildProcess;
  readonly port: number;
  exited: Promise<void>;
  /** The drainer process's stdout (shared by the drainers hosted in it): its logs and bench/drain-cpu-probe.js's lines. */
  readonly output: ProcessOutput;
}

/** One line of bench/drain-cpu-probe.js. */
interface ProbeEvent {
  drainProbe: 'prestop' | 'put';
  port: number;
  atMs: number;
  hrUs: number;
  cpuUs: number;
}
const PROBE = join(__dirname, 'drain-cpu-probe.js');

/**
 * A drainer process's stdout, written to a file as a container runtime keeps a container's log, and read from it.
 * Not a pipe to the bench: Node writes to a pipe synchronously, so a pipe the bench's loop does not empty in time
 * (it lagged up to 0.4 s as 200 drains answered, 2026-12-07) stops every drainer in the writing process until it
 * does, and that wait was counted as the drains'.
 */
class ProcessOutput {
  readonly fd: number;
  private offset = 0;
  private partial = '';
  private readonly probeEvents: ProbeEvent[] = [];

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  /** The whole lines written since the last call; the probe's lines among them are also kept for probes(). */
  newLines(): string[] {
    const chunk = Buffer.alloc(1 << 16);
    let text = this.partial;
    for (let n; (n = readSync(this.fd, chunk, 0, chunk.length, this.offset)) > 0; this.offset += n) text += chunk.toString('utf8', 0, n);
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{"drainProbe"')) this.probeEvents.push(JSON.parse(line) as ProbeEvent);
    return lines;
  }

  /** Every probe line written so far. */
  probes(): ProbeEvent[] {
    this.newLines();
    return this.probeEvents;
  }

  /** Waits until `count` drainers have said they listen (`pick` reads that from a line), failing after `timeoutMs` or when `exited` settles first. */
  async awaitListening<T>(count: number, pick: (line: string) => T | undefined, timeoutMs: number, exited: Promise<void>, describe: () => string): Promise<T[]> {
    const found: T[] = [];
    let gone = false;
    void exited.then(() => (gone = true));
    for (const until = Date.now() + timeoutMs; ; await sleep(50)) {
      for (const line of this.newLines()) {
        const value = pick(line);
        if (value !== undefined) found.push(value);
      }
      if (found.length >= count) return found;
      if (gone) throw new Error(`drainer process exited with ${found.length} of ${count} listening: ${describe()}`);
      if (Date.now() > until) throw new Error(`drainer process: ${found.length} of ${count} listening within ${timeoutMs / 1000} s: ${describe()}`);
    }
  }
}

/** Where the drainer processes' stdout files go: one directory per bench run. */
let outputDir: string | undefined;
let outputs = 0;
function newOutput(): ProcessOutput {
  outputDir ??= mkdtempSync(join(tmpdir(), 'fleet-drainers-'));
  return new ProcessOutput(join(outputDir, `${outputs++}.log`));
}

/** Several drainers in one process (bench/fleet-host.js), one port each. */
async function startDrainerHost(dist: string, envs: Record<string, string>[], cpuProfDir: string | undefined): Promise<Drainer[]> {
  const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const output = newOutput();
  const child = spawn(process.execPath, [...profile, '-r', PROBE, join(__dirname, 'fleet-host.js'), dist], { stdio: ['pipe', output.fd, 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  child.stdin!.end(JSON.stringify(envs.map((env) => ({ PATH: process.env['PATH'] ?? '', DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1', ...env }))));
  const listening = await output.awaitListening(
    envs.length,
    (line) => (line.includes('"fleetHost"') ? (JSON.parse(line) as { index: number; port: number }) : undefined),
    60_000,
    exited,
    () => stderr,
  );
  const ports: number[] = [];
  for (const { index, port } of listening) ports[index] = port;
  return ports.map((port) => ({ child, port, exited, output }));
}

async function startDrainerProcess(dist: string, env: Record<string, string>): Promise<Drainer> {
  const output = newOutput();
  const child = spawn(process.execPath, ['-r', PROBE, join(dist, 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', output.fd, 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const [port] = await output.awaitListening(1, (line) => (line.includes('"listening"') ? Number((JSON.parse(line) as { port: number }).port) : undefined), 30_000, exited, () => stderr);
  return { child, port: port!, exited, output };
}

function getText(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { 'X-Drainer-Token': TOKEN } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', fail);
  });
}

interface EurekaCounters {
  requests: number;
  byOperation: Record<string, number>;
  seconds: number;
}
function parseCounters(text: string): EurekaCounters {
  const byOperation: Record<string, number> = {};
  let requests = 0;
  let seconds = 0;
  for (const line of text.split('\n')) {
    let m = /^eureka_drainer_eureka_requests_total\{([^}]*)\} (\S+)/.exec(line);
    if (m) {
      const op = /operation="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
      const result = /result="([^"]*)"/.exec(m[1]!)?.[1] ?? 'success';
      // A request that did not succeed is counted apart, by what happened to it (a timeout is network_error).
      const key = result === 'success' || result === 'not_found' ? op : `${op} ${result}`;
      byOperation[key] = (byOperation[key] ?? 0) + Number(m[2]);
      requests += Number(m[2]);
      continue;
    }
    m = /^eureka_drainer_eureka_request_duration_seconds_sum\{[^}]*\} (\S+)/.exec(line);
    if (m) seconds += Number(m[1]);
  }
  return { requests, byOperation, seconds };
}
const diffCounters = (a: EurekaCounters, b: EurekaCounters): EurekaCounters => {
  const byOperation: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.byOperation), ...Object.keys(b.byOperation)])) {
    const d = (b.byOperation[k] ?? 0) - (a.byOperation[k] ?? 0);
    if (d) byOperation[k] = d;
  }
  return { requests: b.requests - a.requests, byOperation, seconds: b.seconds - a.seconds };
};

// ---------- statistics ----------
const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) {
        const k = i++;
        out[k] = await fn(items[k]!);
      }
    }),
  );
  return out;
}

/** Per drain and server, from the proxy: requests and KiB by kind. */
type ByKind = Record<RequestKind, { requests: number; kib: number }>;
interface Spread {
  p50: number;
  p99: number;
  max: number;
}

interface WaveResult {
  variant: string;
  shape: Shape;
  n: number;
  /** one-service: instances of other apps renewing beside the wave (many-services: 0). */
  background: number;
  drainMs: { p50: number; p99: number; max: number };
  outcomes: Record<string, number>;
  requestsPerDrain: number;
  requestsPerDrainByOp: Record<string, number>;
  eurekaSecondsPerDrain: number;
  bytesPerDrain: number;
  bytesPerDrainMax: number;
  waveMs: number;
  eurekaCpuSeconds: number;
  eurekaCpuSecondsIdleSameLength: number;
  eurekaPeakRssMiB: number;
  drainerRssMiB: number;
  /** "N processes" or "N in P processes" (hosted). */
  layout: string;
  callerSent: number;
  /** The caller's failed registry reads during the wave (it kept its previous list). */
  callerFetchErrors: number;
  failed: number;
  /** Failed requests by target (a drained instance before its /prestop answered, after it, after its port closed; one that stays) and error, with the times they were recorded after the wave's start (a timeout 2 s after its send). */
  failuresByCause: Record<string, { count: number; atMs: Spread }>;
  /** How late the bench's own event loop ran a 50 ms timer during the wave and the failure window (the caller and the apps it calls live on it): the worst lag and when, after the wave's start. */
  benchLoopLag: { p99Ms: number; maxMs: number; maxAtMs: number };
  reRegistrations: number;
  failureSample: string[];
  /** Why servers of drains that were not fully verified were not: each report's server errors, digits blanked, counted. */
  unverifiedReasons: Record<string, number>;
  /** From the override passing the proxy to the first proof read (the drain's first delta GET) passing it, per server: the schedule says one cache interval + its slack. */
  proofReadAfterPutMs: Spread;
  /** Where each drain's time went, by its own report (drainParts); `delivered` is when its /prestop reached the drainer after the bench's call, `benchSaw` the bench's call less the drainer's own duration. */
  drainPartsMs: Record<keyof DrainParts, Spread>;
  /** Per server label: ms from the bench's /prestop call until the proxy passed the first override PUT on. */
  overrideArrivalMs: Record<string, Spread & { missing: number }>;
  /** Per server label: ms from the first override PUT passing the proxy to the server's answer passing it back (the server's own time, with the proxy's queue). */
  overrideServedMs: Record<string, Spread>;
  /** From the last server's answer to the override passing the proxy to the drainer's own time for it (the report's `changed`): the proxy's and the drainer's queue for that answer. */
  overrideAnswerToDrainerMs: Spread;
  /** The proxies' worker thread's worst event-loop lag during the wave and when, after the wave's start: every drainer's request and answer waits in that loop. */
  proxyLoopLag: { maxMs: number; maxAtMs: number };
  /** Who had the machine's cores during the wave: cores used in each step of about CPU_BUCKET_MS (`atMs`: its end after the wave's start), by both JVMs, the drainer processes, the bench (its workers included) and the whole machine (/proc/stat). */
  cpuTimeline: CpuTimeline;
  /** Per server label: the mean per drain of requests and KiB by kind, as the proxy saw them until /prestop answered. */
  perServerByKind: Record<string, ByKind>;
  /** Both JVMs' CPU over the wave minus their idle rate over the same length; and that per drain. */
  eurekaCpuAboveIdleSeconds: number;
  eurekaCpuAboveIdleMsPerDrain: number;
  /**
   * The drainer's CPU from /prestop arriving to its last first-override PUT created (bench/drain-cpu-probe.js);
   * a hosted drainer gets its process's CPU over its drains' window ÷ their number. drainerWallMsToPuts: the same window
   * in wall time, as the drainer saw it.
   */
  drainerCpuMsToPuts: Spread & { mean: number; missing: number };
  drainerWallMsToPuts: Spread;
  /** Per drainer process: its drains' /prestop → last PUT window on the monotonic clock (cuts a --cpu-prof profile). */
  drainWindows: { pid: number; fromHrUs: number; toHrUs: number; drains: number }[];
  /**
   * This bench process's CPU over the wave (apps, proxies, caller): the proxies are on every drainer's path to
   * Eureka, so a bench process near one core's worth (waveMs / 1000) delays the drains' requests itself.
   */
  benchCpuSeconds: number;
  /** The machine's 1-minute load average when the wave began (the machine is shared). */
  loadAverage1m: number;
  skipped?: string;
}

const spread = (xs: number[]): Spread => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs.length ? Math.max(...xs) : NaN });
const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Per drain, from its process's probe lines: /prestop's arrival, and the last of its first override PUTs (one per
 * server; a later PUT is a restore). The drainers hosted in one process share its CPU, so each gets the process's
 * CPU from its drains' first /prestop to their last PUT ÷ their number; a drainer of its own gets exactly its window.
 */
function drainerCpuToPuts(
  drained: readonly Instance[],
  waveStart: number,
): { cpu: Spread & { mean: number; missing: number }; wall: Spread; windows: WaveResult['drainWindows'] } {
  const windows = drained.map((i) => {
    const events = i.drainer!.output.probes().filter((e) => e.atMs >= waveStart - 1_000);
    const prestop = events.find((e) => e.drainProbe === 'prestop' && e.port === i.drainer!.port);
    const firstPuts = i.proxies.map((p) => events.find((e) => e.drainProbe === 'put' && e.port === p.port));
    if (!prestop || firstPuts.some((e) => e === undefined)) return undefined;
    const last = firstPuts.reduce((a, b) => (b!.hrUs > a!.hrUs ? b : a))!;
    return { instance: i, prestop, last };
  });
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  const byProcess = new Map<number, WaveResult['drainWindows'][number]>();
  for (const w of windows) {
    if (!w) continue;
    const mates = windows.filter((o) => o && o.instance.drainer!.child === w.instance.drainer!.child);
    const pid = w.instance.drainer!.child.pid!;
    byProcess.set(pid, { pid, fromHrUs: Math.min(...mates.map((o) => o!.prestop.hrUs)), toHrUs: Math.max(...mates.map((o) => o!.last.hrUs)), drains: mates.length });
    const fromCpu = Math.min(...mates.map((o) => o!.prestop.cpuUs));
    const toCpu = Math.max(...mates.map((o) => o!.last.cpuUs));
    cpuMs.push((toCpu - fromCpu) / 1000 / mates.length);
    wallMs.push((w.last.hrUs - w.prestop.hrUs) / 1000);
  }
  return { cpu: { ...spread(cpuMs), mean: mean(cpuMs), missing: drained.length - cpuMs.length }, wall: spread(wallMs), windows: [...byProcess.values()] };
}

async function runVariant(variant: { name: string; dist: string }, shape: Shape, options: Options): Promise<WaveResult[]> {
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const eurekaArgs = (self: string, peer: string, peerPort: number): string[] => [
    `--eureka.instance.hostname=${self}`,
    `--eureka.client.service-url.defaultZone=http://${peer}:${peerPort}/eureka/`,
    '--eureka.client.register-with-eureka=true',
    '--eureka.client.fetch-registry=true',
    `--eureka.server.response-cache-update-interval-ms=${CACHE_MS}`,
    `--eureka.server.retentionTimeInMSInDeltaQueue=${RETENTION_MS}`,
    '--eureka.server.deltaRetentionTimerIntervalInMs=2000',
  ];
  log(`${variant.name} ${shape}: starting the Eureka pair (${variant.dist})`);
  const [a, b] = await Promise.all([
    startSpringApp({ jar: 'eureka-server', host: '127.0.0.2', port: portA, name: 'eureka-A', args: eurekaArgs('127.0.0.2', '127.0.0.3', portB), jvmArgs: ['-Xmx512m'] }),
    startSpringApp({ jar: 'eureka-server', host: '127.0.0.3', port: portB, name: 'eureka-B', args: eurekaArgs('127.0.0.3', '127.0.0.2', portA), jvmArgs: ['-Xmx512m'] }),
  ]);
  const jvms: SpringApp[] = [a, b];
  const servers: EurekaServerConfig[] = jvms.map((s, i) => ({ url: `${s.url}/eureka/`, label: `eureka-${'AB'[i]}` }));
  const results: WaveResult[] = [];
  let background: Instance[] = [];
  try {
    if (shape === 'one-service') background = await startFleet(options.background, servers, fleetAppName);
    for (const n of options.sizes) results.push(await runWave(variant, shape, n, background.length, jvms, servers, options));
  } finally {
    for (const i of background) await stopInstance(i);
    await Promise.all(jvms.map((j) => j.stop()));
  }
  return results;
}

/** `count` instances registered on both servers and renewing, their heartbeats spread over the interval. */
async function startFleet(count: number, servers: EurekaServerConfig[], appOf: (index: number) => string): Promise<Instance[]> {
  const instances = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    20,
    (i) => startInstance(i, appOf(i), servers),
  );
  await mapLimit(instances, 10, async (i) => {
    await i.fake.register();
    await sleep((RENEW_S * 1_000) / Math.max(1, instances.length / 10)); // spread the heartbeats over the interval
    i.fake.startHeartbeats(RENEW_S * 1_000);
  });
  return instances;
}

/** An instance whose app did not shut down in the wave: cancel its lease and close its port. */
async function stopInstance(i: Instance): Promise<void> {
  i.fake.stopHeartbeats();
  if (i.portClosedAt !== undefined) return;
  await Promise.all(i.fake.servers.map((s) => i.fake.eureka.cancel(s, i.app, i.fake.instanceId).catch(() => undefined)));
  i.portClosedAt = await trafficHost().closeApp(i.port);
}

async function runWave(
  variant: { name: string; dist: string },
  shape: Shape,
  n: number,
  background: number,
  jvms: SpringApp[],
  servers: EurekaServerConfig[],
  options: Options,
): Promise<WaveResult> {
  const hosted = n > options.separateUpTo && options.perProcess > 1;
  const processes = hosted ? Math.ceil(n / options.perProcess) : n;
  // ~84 MiB RSS per drainer process measured on Node 26; a hosted drainer adds a few MiB to its process.
  const needMiB = processes * 100 + (hosted ? n * 5 : 0) + 2_000;
  if (memAvailableMiB() < needMiB) {
    log(`${variant.name} N=${n}: skipped, ${Math.round(memAvailableMiB())} MiB available, ${needMiB} needed`);
    return { variant: variant.name, shape, n, skipped: `MemAvailable ${Math.round(memAvailableMiB())} MiB < ${needMiB} MiB` } as WaveResult;
  }
  const oneService = shape === 'one-service';
  const appCount = oneService ? n + ONE_APP_SPARE : n;
  log(`${variant.name} ${shape} N=${n}: registering ${appCount} app instances${oneService ? ` of ${ONE_APP} beside ${background} of other apps` : ''}`);
  // Every instance the caller calls; the first n are drained (one-service: the rest of the app keeps serving).
  const instances = await startFleet(appCount, servers, oneService ? () => ONE_APP : fleetAppName);
  const drained = instances.slice(0, n);
  const registeredAt = Date.now();
  const traffic = trafficHost();
  const drainerEnv = (i: Instance): Record<string, string> => ({
    DRAINER_APP_NAME: i.app.toLowerCase(),
    POD_IP: '127.0.0.1',
    // one-service: the instance id is given, as issue 23 measured it (no locate read before the override).
    ...(oneService ? { DRAINER_INSTANCE_ID: i.fake.instanceId } : {}),
    SERVER_PORT: String(i.port),
    DRAINER_EUREKA_URLS: jvms.map((j, k) => `http://${j.host}:${i.proxies[k]!.port}/eureka/`).join(','),
    EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(CACHE_MS),
    EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1',
    SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '2000ms',
    DRAINER_TAIL_SECONDS: '1',
    DRAINER_APP_SHUTDOWN_SECONDS: '10',
    DRAINER_GRACE_PERIOD_SECONDS: '30',
    DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '0',
    DRAINER_TOKEN: TOKEN,
    DRAINER_LOG_LEVEL: 'info',
  });
  try {
    log(`${variant.name} N=${n}: starting ${n} drainers${hosted ? `, ${options.perProcess} to a process (${processes} processes)` : ''}`);
    await mapLimit(drained, 6, async (i) => {
      i.proxies = await Promise.all(jvms.map((j) => proxyHost().startProxy(j.host, j.port)));
      if (!hosted) i.drainer = await startDrainerProcess(variant.dist, drainerEnv(i));
    });
    if (hosted) {
      const groups = Array.from({ length: processes }, (_, g) => drained.slice(g * options.perProcess, (g + 1) * options.perProcess));
      await mapLimit(groups, 2, async (group) => {
        const drainers = await startDrainerHost(variant.dist, group.map(drainerEnv), options.cpuProfDir);
        group.forEach((i, k) => (i.drainer = drainers[k]));
      });
    }
    // Ready: every drainer answers /readyz, the caller sees every instance UP.
    await mapLimit(drained, 20, async (i) => {
      const until = Date.now() + 30_000;
      while ((await getText(i.drainer!.port, '/readyz', 5_000).catch(() => ({ status: 0 }))).status !== 200) {
        if (Date.now() > until) throw new Error(`drainer of ${i.fake.instanceId} not ready in 30 s`);
        await sleep(200);
      }
    });
    await traffic.startCaller({ servers: jvms.map((j) => `${j.url}/eureka/`), rate: options.rate, calls: oneService ? { app: ONE_APP } : { prefix: 'FLEET-' } });
    const wanted = instances.map((i) => i.fake.instanceId);
    const allUp = async (): Promise<boolean> => {
      const up = new Set((await traffic.snapshot()).up);
      return wanted.every((id) => up.has(id));
    };
    for (let until = Date.now() + 30_000; !(await allUp()); await sleep(200)) {
      if (Date.now() > until) throw new Error(`the caller does not see all ${instances.length} instances UP after 30 s`);
    }
    // The registrations must leave the delta first (retention + one timer run), as a real fleet's did long ago.
    const settle = registeredAt + RETENTION_MS + 3_000 - Date.now();
    if (settle > 0) {
      log(`${variant.name} N=${n}: waiting ${Math.round(settle / 1000)} s for the registrations to leave the delta`);
      await sleep(settle);
    }
    // Per drainer: a hosted drainer's share of its process.
    const drainerRss = quantile(drained.map((i) => rssMiB(i.drainer!.child.pid!) / (hosted ? drained.filter((o) => o.drainer!.child === i.drainer!.child).length : 1)), 0.5);
    const before = await mapLimit(drained, 20, async (i) => parseCounters((await getText(i.drainer!.port, '/metrics', 5_000)).body));
    const bytesBefore = drained.map((i) => i.proxies.reduce((s, p) => s + p.down, 0));
    const kindsBefore = drained.map((i) => i.proxies.map((p) => p.counters));
    for (const i of drained) for (const p of i.proxies) p.resetOverride();
    const callerBefore = await traffic.snapshot();

    // Idle window of the expected wave length (heartbeats and the caller only), for comparison.
    const idleMs = 6_000;
    const cpuIdle0 = jvms.map((j) => cpuSeconds(j.pid));
    await sleep(idleMs);
    const cpuIdle = jvms.reduce((s, j, k) => s + cpuSeconds(j.pid) - cpuIdle0[k]!, 0);

    const loadAverage1m = loadavg()[0]!;
    log(`${variant.name} ${shape} N=${n}: wave: ${n} /prestop calls at once (load average ${loadAverage1m.toFixed(2)})`);
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, jvms.reduce((s, j) => s + rssMiB(j.pid), 0))), 100);
    const cpu0 = jvms.map((j) => cpuSeconds(j.pid));
    const benchCpu0 = process.cpuUsage();
    const waveStart = Date.now();
    const lag = watchLoopLag(waveStart);
    const cpuWatch = watchCpu({ eureka: jvms.map((j) => j.pid), drainers: [...new Set(drained.map((i) => i.drainer!.child.pid!))] });
    proxyHost().takeLoopLag(waveStart);
    /** When each drained instance's /prestop answered. */
    const answeredAt = new Map<string, number>();
    const drains = await Promise.all(
      drained.map(async (i, k) => {
        const t0 = Date.now();
        let outcome: string;
        let reasons: string[] = [];
        let parts: Omit<DrainParts, BenchParts> | undefined;
        let deliveredAt = Number.NaN;
        try {
          const answer = await getText(i.drainer!.port, '/prestop', 60_000);
          const report = JSON.parse(answer.body) as DrainReportPart;
          outcome = report.outcome ?? `HTTP ${answer.status}`;
          reasons = (report.servers ?? []).filter((s) => s.verified !== true).map((s) => (s.error ?? 'no error given').replace(/\d+/g, '#'));
          parts = drainParts(report);
          deliveredAt = Date.parse(report.startedAt ?? '');
        } catch (e) {
          outcome = `error: ${(e as Error).message}`;
        }
        const ms = Date.now() - t0;
        answeredAt.set(i.fake.instanceId, Date.now());
        const bytes = i.proxies.reduce((s, p) => s + p.down, 0) - bytesBefore[k]!;
        const kinds = i.proxies.map((p, s) => diffProxyCounters(kindsBefore[k]![s]!, p.counters));
        const arrivals = i.proxies.map((p) => (p.firstOverrideAt === undefined ? undefined : p.firstOverrideAt - t0));
        const proofAfterPut = i.proxies.map((p) => (p.firstDeltaAt === undefined || p.firstOverrideAt === undefined ? undefined : p.firstDeltaAt - p.firstOverrideAt));
        const served = i.proxies.map((p) => (p.overrideAnsweredAt === undefined || p.firstOverrideAt === undefined ? undefined : p.overrideAnsweredAt - p.firstOverrideAt));
        const lastAnswerAtProxy = Math.max(...i.proxies.map((p) => p.overrideAnsweredAt ?? Number.NaN));
        const answerToDrainer = parts === undefined ? Number.NaN : deliveredAt + parts.changed - lastAnswerAtProxy;
        const after = parseCounters((await getText(i.drainer!.port, '/metrics', 5_000).catch(() => ({ body: '' }))).body);
        void shutDownInstance(i);
        return { ms, outcome, reasons, parts: parts && { ...parts, delivered: deliveredAt - t0, benchSaw: ms - parts.answered }, bytes, kinds, arrivals, proofAfterPut, served, answerToDrainer, counters: diffCounters(before[k]!, after) };
      }),
    );
    const waveMs = Date.now() - waveStart;
    const eurekaCpu = jvms.reduce((s, j, k) => s + cpuSeconds(j.pid) - cpu0[k]!, 0);
    const benchCpu = process.cpuUsage(benchCpu0);
    clearInterval(sampler);
    // Callers may still hold the instance: count failures until 4 s after the last port closed.
    for (let until = Date.now() + 10_000; drained.some((i) => i.portClosedAt === undefined) && Date.now() < until; ) await sleep(100);
    await sleep(4_000);
    const benchLoopLag = lag.stop();
    const proxyLoopLag = proxyHost().takeLoopLag(waveStart);
    const cpuTimeline = cpuWatch.stop();
    const callerAfter = await traffic.snapshot();
    const failures = callerAfter.failures.slice(callerBefore.failures.length);
    const outcomes: Record<string, number> = {};
    for (const d of drains) outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
    const byOp: Record<string, number> = {};
    for (const d of drains) for (const [op, c] of Object.entries(d.counters.byOperation)) byOp[op] = (byOp[op] ?? 0) + c / n;
    const labels = servers.map((s) => s.label);
    const toPuts = drainerCpuToPuts(drained, waveStart);
    const result: WaveResult = {
      variant: variant.name,
      shape,
      n,
      background,
      drainMs: { p50: quantile(drains.map((d) => d.ms), 0.5), p99: quantile(drains.map((d) => d.ms), 0.99), max: Math.max(...drains.map((d) => d.ms)) },
      outcomes,
      requestsPerDrain: mean(drains.map((d) => d.counters.requests)),
      requestsPerDrainByOp: Object.fromEntries(Object.entries(byOp).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      eurekaSecondsPerDrain: mean(drains.map((d) => d.counters.seconds)),
      bytesPerDrain: mean(drains.map((d) => d.bytes)),
      bytesPerDrainMax: Math.max(...drains.map((d) => d.bytes)),
      waveMs,
      eurekaCpuSeconds: eurekaCpu,
      eurekaCpuSecondsIdleSameLength: (cpuIdle * waveMs) / idleMs,
      eurekaPeakRssMiB: peakRss,
      drainerRssMiB: drainerRss,
      layout: hosted ? `${n} in ${processes} processes` : n === 1 ? '1 process' : `${n} processes`,
      callerSent: callerAfter.sent - callerBefore.sent,
      callerFetchErrors: callerAfter.fetchErrors - callerBefore.fetchErrors,
      failed: failures.length,
      failuresByCause: failureCauses(failures, drained, answeredAt, waveStart),
      benchLoopLag,
      reRegistrations: instances.reduce((sum, i) => sum + i.fake.reRegistrations, 0),
      failureSample: failures.slice(0, 5).map((f) => `${f.id} ${f.detail}`),
      unverifiedReasons: countBy(drains.flatMap((d) => d.reasons)),
      proofReadAfterPutMs: spread(drains.flatMap((d) => d.proofAfterPut.filter((v): v is number => v !== undefined))),
      drainPartsMs: Object.fromEntries(DRAIN_PARTS.map((part) => [part, spread(drains.flatMap((d) => (d.parts === undefined ? [] : [d.parts[part]])))])) as Record<keyof DrainParts, Spread>,
      overrideArrivalMs: Object.fromEntries(
        labels.map((label, s) => {
          const seen = drains.map((d) => d.arrivals[s]).filter((ms): ms is number => ms !== undefined);
          return [label, { ...spread(seen), missing: drains.length - seen.length }];
        }),
      ),
      overrideServedMs: Object.fromEntries(labels.map((label, s) => [label, spread(drains.flatMap((d) => (d.served[s] === undefined ? [] : [d.served[s]])))])),
      overrideAnswerToDrainerMs: spread(drains.map((d) => d.answerToDrainer).filter(Number.isFinite)),
      proxyLoopLag,
      cpuTimeline,
      perServerByKind: Object.fromEntries(
        labels.map((label, s) => [
          label,
          Object.fromEntries(
            REQUEST_KINDS.map((kind) => [
              kind,
              { requests: round1(mean(drains.map((d) => d.kinds[s]![kind].requests))), kib: round1(mean(drains.map((d) => d.kinds[s]![kind].bytes)) / 1024) },
            ]),
          ) as ByKind,
        ]),
      ),
      eurekaCpuAboveIdleSeconds: eurekaCpu - (cpuIdle * waveMs) / idleMs,
      eurekaCpuAboveIdleMsPerDrain: ((eurekaCpu - (cpuIdle * waveMs) / idleMs) * 1000) / n,
      drainerCpuMsToPuts: toPuts.cpu,
      drainerWallMsToPuts: toPuts.wall,
      drainWindows: toPuts.windows,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
      loadAverage1m,
    };
    log(`${variant.name} ${shape} N=${n}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await traffic.stopCaller();
    for (const i of instances) i.fake.stopHeartbeats();
    // Let the drainers' clean-up run (they watch the app go), then stop them.
    await sleep(3_000);
    const children = new Map<ChildProcess, Promise<void>>();
    for (const i of instances) if (i.drainer) children.set(i.drainer.child, i.drainer.exited);
    await Promise.all(
      [...children].map(async ([child, exited]) => {
        child.kill('SIGTERM');
        const killed = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
        if (!killed) child.kill('SIGKILL');
      }),
    );
    for (const i of instances) {
      for (const p of i.proxies) p.close();
      await stopInstance(i);
    }
  }
}

const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** A markdown table of the waves: the header lines, then one row per wave (a skipped wave says why). */
function markdownTable(header: string[], results: WaveResult[], row: (r: WaveResult) => string): string {
  return [...header, ...results.map((r) => (r.skipped ? `| ${r.variant} | ${r.n} | skipped: ${r.skipped} |` : row(r)))].join('\n');
}

/** The many-services table (the shape's original columns, the load average added). */
export function table(results: WaveResult[]): string {
  const header = [
    '| variant | N | drainers | drain p50 ms | drain p99 ms | p99 ÷ N=1 | outcomes | Eureka requests / drain | per server | KiB / drain | KiB / server / drain | Eureka CPU s (idle, same length) | Eureka peak RSS MiB | failed / sent | load 1 min |',
    '|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  return markdownTable(header, results, (r) => {
    const one = results.find((x) => x.variant === r.variant && x.n === 1 && !x.skipped);
    const outcomes = Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ');
    return (
      `| ${r.variant} | ${r.n} | ${r.layout ?? `${r.n} processes`} | ${r.drainMs.p50} | ${r.drainMs.p99} | ${one ? fmt(r.drainMs.p99 / one.drainMs.p99, 2) : '–'} | ${outcomes} | ${fmt(r.requestsPerDrain, 1)} | ${fmt(r.requestsPerDrain / 2, 1)} | ${fmt(r.bytesPerDrain / 1024, 1)} | ${fmt(r.bytesPerDrain / 2048, 1)} | ${fmt(r.eurekaCpuSeconds, 1)} (${fmt(r.eurekaCpuSecondsIdleSameLength, 1)}) | ${fmt(r.eurekaPeakRssMiB)} | ${r.failed} / ${r.callerSent} | ${fmt(r.loadAverage1m, 1)} |`
    );
  });
}

/** Requests / KiB of one kind per drain, the mean of the servers (each server's own numbers are in the JSON). */
function perServer(r: WaveResult, kind: RequestKind): string {
  const servers = Object.values(r.perServerByKind);
  return `${fmt(mean(servers.map((s) => s[kind].requests)), 1)} / ${fmt(mean(servers.map((s) => s[kind].kib)), 1)}`;
}

/** The one-service table: what issue 23 asks to see per N. */
export function oneServiceTable(results: WaveResult[]): string {
  const header = [
    '| variant | N (+2 stay, background) | drainers | drain p50 / p99 ms | override at each server after /prestop, p99 ms | drainer CPU ms /prestop → PUTs, p50 / p99 (wall p99 ms) | per drain per server, requests / KiB: PUT · app view · delta · live · other | Eureka CPU s above idle (ms / drain) | failed / sent | outcomes | load 1 min |',
    '|---|---|---|---|---|---|---|---|---:|---|---:|',
  ];
  return markdownTable(header, results, (r) => {
    const arrivals = Object.entries(r.overrideArrivalMs).map(([label, a]) => `${label} ${fmt(a.p99)}${a.missing ? ` (${a.missing} not seen)` : ''}`).join(', ');
    const cpu = r.drainerCpuMsToPuts;
    const outcomes = Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ');
    const kinds = (['put_override', 'app_view', 'delta', 'live_instance', 'other'] as const).map((k) => perServer(r, k)).join(' · ');
    return (
      `| ${r.variant} | ${r.n} (+${ONE_APP_SPARE}, ${r.background}) | ${r.layout} | ${r.drainMs.p50} / ${r.drainMs.p99} | ${arrivals} | ${fmt(cpu.p50, 1)} / ${fmt(cpu.p99, 1)}${cpu.missing ? ` (${cpu.missing} not seen)` : ''} (${fmt(r.drainerWallMsToPuts.p99)}) | ${kinds} | ${fmt(r.eurekaCpuAboveIdleSeconds, 1)} (${fmt(r.eurekaCpuAboveIdleMsPerDrain)}) | ${r.failed} / ${r.callerSent} | ${outcomes} | ${fmt(r.loadAverage1m, 1)} |`
    );
  });
}

/** The worker thread every proxy of this run lives in (eureka-proxy.ts), started with the first one. */
let proxies: ProxyHost | undefined;
const proxyHost = (): ProxyHost => (proxies ??= new ProxyHost());
let traffic: TrafficHost | undefined;
const trafficHost = (): TrafficHost => (traffic ??= new TrafficHost());

export async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const startedAt = Date.now();
  log(`sizes ${options.sizes.join(', ')}; variants ${options.variants.map((v) => `${v.name}=${v.dist}`).join(', ')}; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`);
  const results: WaveResult[] = [];
  try {
    for (const shape of options.shapes) for (const variant of options.variants) results.push(...(await runVariant(variant, shape, options)));
  } finally {
    await stopAll();
    await proxies?.stop();
    await traffic?.stop();
  }
  const out = {
    startedAt: new Date(startedAt).toISOString(),
    seconds: Math.round((Date.now() - startedAt) / 1000),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memGiB: Math.round(totalmem() / 2 ** 30),
    options,
    results,
  };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  // One file per run, named by its start and shapes: on a shared machine each run is one sample, kept beside the others.
  const name = `fleet-${out.startedAt.slice(0, 16).replace(':', '-')}-${options.shapes.join('+')}.json`;
  writeFileSync(join(__dirname, 'results', name), `${JSON.stringify(out, null, 2)}\n`);
  log(`results: bench/results/${name}`);
  if (outputDir !== undefined) log(`the drainer processes' logs: ${outputDir}`);
  const tables = [
    ...(options.shapes.includes('many-services') ? [`many-services:\n${table(results.filter((r) => r.shape === 'many-services'))}`] : []),
    ...(options.shapes.includes('one-service') ? [`one-service:\n${oneServiceTable(results.filter((r) => r.shape === 'one-service'))}`] : []),
  ];
  process.stdout.write(`${tables.join('\n\n')}\n\nrun: ${out.seconds} s, ${out.cpus}, ${out.memGiB} GiB, node ${out.node}\n`);
  return 0;
}

/** What the bench reads of a drain's /prestop answer (src/drain/report.ts). */
interface DrainReportPart {
  readonly outcome?: string;
  readonly durationMs?: number;
  readonly startedAt?: string;
  readonly servers?: readonly { readonly verified?: boolean; readonly error?: string | null; readonly changedMs?: number | null; readonly settledMs?: number | null }[];
  readonly actual?: { readonly clientWindowMs?: number | null; readonly clientWindowWaitedMs?: number | null; readonly tailMs?: number | null };
}

const DRAIN_PARTS = ['delivered', 'changed', 'settled', 'window', 'waitOvershoot', 'tail', 'afterTail', 'answered', 'benchSaw'] as const;
/**
 * One drain's time: when its /prestop reached the drainer (after the bench's call), then from there the last server to accept the override (its PUT's answer arrived), the last server settled (its proof, or its worst case), the client window's
 * end (+ registry fetch + LB), how late the wait for it ended, the tail, what came after the tail (telling the
 * app, answering), the drainer's whole duration; and the bench's /prestop call less that duration (its loop's
 * share).
 */
type DrainParts = Record<(typeof DRAIN_PARTS)[number], number>;

/** The parts the bench adds from its own clock: the /prestop's delivery, and its call less the drainer's duration. */
type BenchParts = 'delivered' | 'benchSaw';

function drainParts(report: DrainReportPart): Omit<DrainParts, BenchParts> | undefined {
  const lastServer = (at: (s: NonNullable<DrainReportPart['servers']>[number]) => number | null | undefined): number => Math.max(...(report.servers ?? []).map((s) => at(s) ?? NaN));
  const settled = lastServer((s) => s.settledMs);
  const changed = lastServer((s) => s.changedMs);
  const { clientWindowMs: window, clientWindowWaitedMs: waited, tailMs: tail } = report.actual ?? {};
  if (!Number.isFinite(settled) || !Number.isFinite(changed) || window == null || waited == null || tail == null || report.durationMs === undefined) return undefined;
  const answered = report.durationMs;
  return { changed, settled, window, waitOvershoot: waited - window, tail, afterTail: answered - waited - tail, answered };
}

/** How often each string occurs. */
function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** The caller's failures grouped by where the target was in its drain when the failure was recorded, and by error. */
function failureCauses(
  failures: readonly { at: number; id: string; detail: string }[],
  drained: readonly Instance[],
  answeredAt: ReadonlyMap<string, number>,
  waveStart: number,
): Record<string, { count: number; atMs: Spread }> {
  const byId = new Map(drained.map((i) => [i.fake.instanceId, i]));
  const groups = new Map<string, number[]>();
  for (const f of failures) {
    const instance = byId.get(f.id);
    const answered = answeredAt.get(f.id);
    const where =
      instance === undefined ? 'an instance that stays' : instance.portClosedAt !== undefined && f.at >= instance.portClosedAt ? 'drained, port closed' : answered !== undefined && f.at >= answered ? 'drained, /prestop answered' : 'drained, still draining';
    const key = `${where}: ${f.detail}`;
    groups.set(key, [...(groups.get(key) ?? []), f.at - waveStart]);
  }
  return Object.fromEntries([...groups].map(([key, at]) => [key, { count: at.length, atMs: spread(at) }]));
}

/** The width of one step of the wave's CPU timeline. */
const CPU_BUCKET_MS = 250;

/** Whose cores the timeline counts. */
type CpuGroup = 'eureka' | 'drainers' | 'bench' | 'machine';

type CpuTimeline = { bucketMs: number } & Record<'atMs' | CpuGroup, number[]>;

/** The whole machine's busy CPU seconds so far (/proc/stat: every state but idle and iowait). */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (fields.reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!) / TICKS;
}

/** Samples the cores used by each group of processes every CPU_BUCKET_MS until stopped (a process gone counts 0 from then). */
function watchCpu(pids: { eureka: number[]; drainers: number[] }): { stop: () => CpuTimeline } {
  const read = (group: number[]): number =>
    group.reduce((sum, pid) => {
      try {
        return sum + cpuSeconds(pid);
      } catch {
        return sum;
      }
    }, 0);
  const sample = (): Record<'at' | CpuGroup, number> => {
    const own = process.cpuUsage();
    return { at: Date.now(), eureka: read(pids.eureka), drainers: read(pids.drainers), bench: (own.user + own.system) / 1e6, machine: machineBusySeconds() };
  };
  const samples = [sample()];
  const timer = setInterval(() => samples.push(sample()), CPU_BUCKET_MS);
  return {
    stop: () => {
      clearInterval(timer);
      // Per sample over the time since the one before (a late timer makes a step longer, not its cores more).
      const cores = (group: CpuGroup): number[] =>
        samples.slice(1).map((s, k) => Math.round(((s[group] - samples[k]![group]) * 1000 * 100) / Math.max(1, s.at - samples[k]!.at)) / 100);
      return { bucketMs: CPU_BUCKET_MS, atMs: samples.slice(1).map((s) => s.at - samples[0]!.at), eureka: cores('eureka'), drainers: cores('drainers'), bench: cores('bench'), machine: cores('machine') };
    },
  };
}

/** Samples the bench's event-loop lag every 50 ms until stopped: a stalled loop fails the caller's requests by itself. */
function watchLoopLag(since: number): { stop: () => { p99Ms: number; maxMs: number; maxAtMs: number } } {
  const lags: { at: number; ms: number }[] = [];
  let expected = Date.now() + 50;
  const timer = setInterval(() => {
    const now = Date.now();
    lags.push({ at: now - since, ms: Math.max(0, now - expected) });
    expected = now + 50;
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      const worst = lags.reduce((a, b) => (b.ms > a.ms ? b : a), { at: 0, ms: 0 });
      return { p99Ms: quantile(lags.map((l) => l.ms), 0.99), maxMs: worst.ms, maxAtMs: worst.at };
    },
  };
}
