/**
 * A loopback TCP proxy between one drainer and one Eureka server (fleet benchmark, not shipped). It is the server's
 * side of the wire as far as the bench can see it: it counts the bytes the server sent back (headers included,
 * gzip when the drainer asked for it), splits requests and those bytes by kind from the request lines the drainer
 * sent, and notes when the first status override passed through on its way to the server and when its answer came back.
 *
 * Every proxy runs in one worker thread (ProxyHost), not on the bench's own event loop: at N = 200 that loop also
 * sends the 200 /prestop calls, serves the apps the caller calls and cancels the drained ones, and with the 400
 * proxies on it the drainers' requests passed it ~1 s after they were sent (2026-12-07). The counters live
 * in shared memory, so the bench reads them as before, synchronously.
 *
 * Attribution: the drainer's HTTP client (axios over node:http) sends one request at a time on a connection and
 * waits for the answer, so the server's bytes on a connection belong to the last request line seen on it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/** What a drainer's request to Eureka was for, from its request line. */
export type RequestKind = 'put_override' | 'app_view' | 'delta' | 'live_instance' | 'other';
export const REQUEST_KINDS: readonly RequestKind[] = ['put_override', 'app_view', 'delta', 'live_instance', 'other'];

export interface KindCounters {
  requests: number;
  bytes: number;
}
export type ProxyCounters = Record<RequestKind, KindCounters>;

const REQUEST_LINE = /(GET|PUT|POST|DELETE) (\S+) HTTP\/1\.[01]\r\n/g;

/** Pure: the kind of a request from its method and path (`/eureka/apps/...`). */
export function requestKind(method: string, path: string): RequestKind {
  const [route = '', query = ''] = path.split('?');
  const parts = route.split('/').filter(Boolean);
  const apps = parts.indexOf('apps');
  const rest = apps >= 0 ? parts.slice(apps + 1) : [];
  if (method === 'PUT' && rest.length === 3 && rest[2] === 'status' && /(^|&)value=OUT_OF_SERVICE(&|$)/.test(query)) return 'put_override';
  if (method !== 'GET' || apps < 0) return 'other';
  if (rest.length === 1 && rest[0] === 'delta') return 'delta';
  if (rest.length === 1) return 'app_view';
  if (rest.length === 2) return 'live_instance';
  return 'other';
}

export const diffProxyCounters = (before: ProxyCounters, after: ProxyCounters): ProxyCounters =>
  Object.fromEntries(REQUEST_KINDS.map((k) => [k, { requests: after[k].requests - before[k].requests, bytes: after[k].bytes - before[k].bytes }])) as ProxyCounters;

export interface Proxy {
  readonly port: number;
  /** Every byte the server sent through this proxy. */
  readonly down: number;
  /** A copy of the counters as they are now. */
  readonly counters: ProxyCounters;
  /** Date.now() when the first override PUT since the last reset passed towards the server. */
  readonly firstOverrideAt: number | undefined;
  /** Date.now() when the first delta GET since the last reset (the drain's first proof read) passed towards the server. */
  readonly firstDeltaAt: number | undefined;
  /** Date.now() when the server's answer to that first override PUT began to pass back towards the drainer. */
  readonly overrideAnsweredAt: number | undefined;
  resetOverride(): void;
  close(): void;
}

/** One proxy's cells in the shared memory: bytes down, the three first-times (NaN: not yet), then requests and bytes per kind. */
const CELL = { down: 0, firstOverrideAt: 1, firstDeltaAt: 2, overrideAnsweredAt: 3, requests: 4, bytes: 4 + REQUEST_KINDS.length } as const;
const CELLS_PER_PROXY = 4 + 2 * REQUEST_KINDS.length;
const MAX_PROXIES = 4096;
/** After the proxies' cells: the worker's own event-loop lag, the worst since the last reset and when (Date.now()). */
const LAG = { maxMs: MAX_PROXIES * CELLS_PER_PROXY, maxAt: MAX_PROXIES * CELLS_PER_PROXY + 1 } as const;
/** How often the worker samples its own loop's lag. */
const LAG_SAMPLE_MS = 20;

type ToWorker = { start: number; host: string; targetPort: number } | { close: number };
type FromWorker = { started: number; port: number } | { failed: number; error: string };

const defined = (x: number): number | undefined => (Number.isNaN(x) ? undefined : x);

/** The worker thread that runs every proxy of a bench run. */
export class ProxyHost {
  private readonly cells = new Float64Array(new SharedArrayBuffer((MAX_PROXIES * CELLS_PER_PROXY + 2) * Float64Array.BYTES_PER_ELEMENT));
  private readonly waiting = new Map<number, { resolve: (port: number) => void; reject: (error: Error) => void }>();
  private next = 0;
  private readonly worker: Worker;

  constructor() {
    // The worker loads this file through the bench's TypeScript hook, as bench/run.js does.
    this.worker = new Worker(`require(${JSON.stringify(join(__dirname, 'ts-hook.js'))}); require(${JSON.stringify(__filename)}).runProxies();`, { eval: true, workerData: this.cells.buffer });
    this.worker.on('message', (m: FromWorker) => {
      const slot = 'started' in m ? m.started : m.failed;
      const waiter = this.waiting.get(slot);
      this.waiting.delete(slot);
      if ('started' in m) waiter?.resolve(m.port);
      else waiter?.reject(new Error(`proxy ${slot}: ${m.error}`));
    });
    this.worker.on('error', (error: Error) => {
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
    this.worker.unref();
  }

  async startProxy(host: string, targetPort: number): Promise<Proxy> {
    const slot = this.next++;
    if (slot >= MAX_PROXIES) throw new Error(`more than ${MAX_PROXIES} proxies in one bench run`);
    const cells = this.cells.subarray(slot * CELLS_PER_PROXY, (slot + 1) * CELLS_PER_PROXY);
    cells.fill(0);
    cells.fill(Number.NaN, CELL.firstOverrideAt, CELL.overrideAnsweredAt + 1);
    const port = await new Promise<number>((resolve, reject) => {
      this.waiting.set(slot, { resolve, reject });
      this.worker.postMessage({ start: slot, host, targetPort } satisfies ToWorker);
    });
    return {
      port,
      get down() {
        return cells[CELL.down]!;
      },
      get counters() {
        return Object.fromEntries(REQUEST_KINDS.map((k, n) => [k, { requests: cells[CELL.requests + n]!, bytes: cells[CELL.bytes + n]! }])) as ProxyCounters;
      },
      get firstOverrideAt() {
        return defined(cells[CELL.firstOverrideAt]!);
      },
      get firstDeltaAt() {
        return defined(cells[CELL.firstDeltaAt]!);
      },
      get overrideAnsweredAt() {
        return defined(cells[CELL.overrideAnsweredAt]!);
      },
      // Before a wave, while no drain runs: nothing in the worker writes these cells then.
      resetOverride: () => cells.fill(Number.NaN, CELL.firstOverrideAt, CELL.overrideAnsweredAt + 1),
      close: () => this.worker.postMessage({ close: slot } satisfies ToWorker),
    };
  }

  /** The worker's worst event-loop lag since the last call, and when: every request of every drain waits in that loop. */
  takeLoopLag(since: number): { maxMs: number; maxAtMs: number } {
    const lag = { maxMs: this.cells[LAG.maxMs]!, maxAtMs: this.cells[LAG.maxAt]! - since };
    this.cells[LAG.maxMs] = 0;
    return lag;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** In the worker: start and close proxies as the bench asks, counting into the shared cells. */
export function runProxies(): void {
  const all = new Float64Array(workerData as SharedArrayBuffer);
  const servers = new Map<number, { server: Server; sockets: Set<Socket> }>();
  let expected = Date.now() + LAG_SAMPLE_MS;
  setInterval(() => {
    const now = Date.now();
    if (now - expected > all[LAG.maxMs]!) [all[LAG.maxMs], all[LAG.maxAt]] = [now - expected, now];
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS).unref();
  parentPort!.on('message', (m: ToWorker) => {
    if ('close' in m) {
      const proxy = servers.get(m.close);
      servers.delete(m.close);
      proxy?.server.close();
      for (const s of proxy?.sockets ?? []) s.destroy();
      return;
    }
    const cells = all.subarray(m.start * CELLS_PER_PROXY, (m.start + 1) * CELLS_PER_PROXY);
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(m.targetPort, m.host);
      let current: RequestKind = 'other';
      sockets.add(client).add(upstream);
      client.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
          current = requestKind(line[1]!, line[2]!);
          cells[CELL.requests + REQUEST_KINDS.indexOf(current)]!++;
          if (current === 'put_override' && Number.isNaN(cells[CELL.firstOverrideAt])) cells[CELL.firstOverrideAt] = Date.now();
          if (current === 'delta' && Number.isNaN(cells[CELL.firstDeltaAt])) cells[CELL.firstDeltaAt] = Date.now();
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        if (current === 'put_override' && Number.isNaN(cells[CELL.overrideAnsweredAt]) && !Number.isNaN(cells[CELL.firstOverrideAt])) cells[CELL.overrideAnsweredAt] = Date.now();
        cells[CELL.down]! += chunk.length;
        cells[CELL.bytes + REQUEST_KINDS.indexOf(current)]! += chunk.length;
      });
      client.pipe(upstream);
      upstream.pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    servers.set(m.start, { server, sockets });
    server.on('error', (error) => parentPort!.postMessage({ failed: m.start, error: error.message } satisfies FromWorker));
    server.listen(0, m.host, () => parentPort!.postMessage({ started: m.start, port: (server.address() as { port: number }).port } satisfies FromWorker));
  });
}
