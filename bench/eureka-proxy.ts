/**
 * A loopback TCP proxy between one drainer and one Eureka server (fleet benchmark, not shipped). It is the server's
 * side of the wire as far as the bench can see it: it counts the bytes the server sent back (headers included,
 * gzip when the drainer asked for it), splits requests and those bytes by kind from the request lines the drainer
 * sent, and notes when the first status override passed through on its way to the server.
 *
 * Attribution: the drainer's HTTP client (axios over node:http) sends one request at a time on a connection and
 * waits for the answer, so the server's bytes on a connection belong to the last request line seen on it.
 */
import { connect, createServer, type Socket } from 'node:net';

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

export const emptyCounters = (): ProxyCounters =>
  Object.fromEntries(REQUEST_KINDS.map((k) => [k, { requests: 0, bytes: 0 }])) as ProxyCounters;

export const copyCounters = (c: ProxyCounters): ProxyCounters =>
  Object.fromEntries(REQUEST_KINDS.map((k) => [k, { ...c[k] }])) as ProxyCounters;

export const diffProxyCounters = (before: ProxyCounters, after: ProxyCounters): ProxyCounters =>
  Object.fromEntries(REQUEST_KINDS.map((k) => [k, { requests: after[k].requests - before[k].requests, bytes: after[k].bytes - before[k].bytes }])) as ProxyCounters;

export interface Proxy {
  readonly port: number;
  /** Every byte the server sent through this proxy. */
  readonly down: number;
  readonly counters: ProxyCounters;
  /** Date.now() when the first override PUT since the last reset passed towards the server. */
  readonly firstOverrideAt: number | undefined;
  resetOverride(): void;
  close(): void;
}

export async function startProxy(host: string, targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const counters = emptyCounters();
  let down = 0;
  let firstOverrideAt: number | undefined;
  const server = createServer((client) => {
    const upstream = connect(targetPort, host);
    let current: RequestKind = 'other';
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        current = requestKind(m[1]!, m[2]!);
        counters[current].requests++;
        if (current === 'put_override' && firstOverrideAt === undefined) firstOverrideAt = Date.now();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length;
      counters[current].bytes += chunk.length;
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
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get down() {
      return down;
    },
    counters,
    get firstOverrideAt() {
      return firstOverrideAt;
    },
    resetOverride: () => (firstOverrideAt = undefined),
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
