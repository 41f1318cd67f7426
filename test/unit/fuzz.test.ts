import { once } from 'node:events';
import { request as httpRequest, Agent, type ClientRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext, runInThisContext } from 'node:vm';
import { Registry } from 'prom-client';
import { createApp } from '../../src/http/routes';
import { createMetrics } from '../../src/metrics';
import { SERVER_BOUNDS, startServer } from '../../src/http/server';
import { INSTANCE_ID, controllerFixture } from '../helpers/controller';
import { Prng } from '../helpers/prng';
import { rawExchange, type RawExchangeResult, type RawResponse } from '../helpers/raw-http';

/*
 * Seeded fuzz of the HTTP surface (design §5 and §7): malformed frames and
 * well-formed requests without the token, over raw sockets and http.request.
 *
 *   FUZZ_SEED=123 npx jest test/unit/fuzz.test.ts      any seed by hand
 *   FUZZ_REQUESTS=50000 ...                            scale the run
 *   FUZZ_INDEX=4711 FUZZ_SEED=... ...                  replay one connection of a run
 *
 * Every connection's bytes depend only on (seed, index), so a failure printed
 * with its seed and index replays alone.
 */

/** A whole number from the environment, or the fallback (a typo must not make the loops unbounded). */
function envInt(name: string, fallback: number): number;
function envInt(name: string, fallback: undefined): number | undefined;
function envInt(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected a whole number`);
  return n;
}

const SEED = envInt('FUZZ_SEED', 20261201) >>> 0;
const TARGET = Math.max(1, envInt('FUZZ_REQUESTS', 10_000));
const ONLY = envInt('FUZZ_INDEX', undefined);
const CONCURRENCY = 32;
/** Connections per batch; /healthz and the invariants are checked after each. */
const BATCH = 400;
/** The fuzz phase stops by itself after this long (and then fails on the count): 45 s per 10,000 requests (about 15 s seen on 2 cores). */
const BUDGET_MS = 45_000 * Math.max(1, TARGET / 10_000);
/** Answers stay this small whatever came in; only /drain and /metrics (Route.large) may be longer. */
const MAX_BODY = 4096;
/** Captured log lines stay this short whatever came in (design §7: no reflection without bounds). */
const MAX_LOG_LINE = 2048;
/** One answer the drainer documents at 5xx: /readyz while shutting down. */
const DOCUMENTED_5XX = [{ status: 503, route: '/readyz' }];

const TOKEN = 'fuzz-drainer-token-7f3a9c21e5';

// ---------------------------------------------------------------------------
// Generation

interface Route {
  readonly path: string;
  /** Methods that reach the token guard on this route. */
  readonly guarded: readonly string[];
  /** Routes whose answer may exceed MAX_BODY (they describe state, not input). */
  readonly large: boolean;
}

const ROUTES: readonly Route[] = [
  { path: '/prestop', guarded: ['GET', 'POST', 'HEAD'], large: false },
  { path: '/prestop/join', guarded: ['GET', 'POST', 'HEAD'], large: false },
  { path: '/drain', guarded: [], large: true },
  { path: '/drain/abort', guarded: ['POST'], large: false },
  { path: '/plan', guarded: [], large: false },
  { path: '/healthz', guarded: [], large: false },
  { path: '/readyz', guarded: [], large: false },
  { path: '/metrics', guarded: [], large: true },
  { path: '/', guarded: [], large: false },
  { path: '/nope', guarded: [], large: false },
];

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH'] as const;
const ODD_METHODS = ['GE T', 'get', 'Post', 'G\tET', '', 'GET\x00', 'FOO', 'M-SEARCH', 'DELETE  ', 'P0ST', '\x16\x03\x01', 'PRI', 'X'.repeat(300), 'A'.repeat(9000)];
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const PRINTABLE = `${ALNUM}-._~!$&'()*+,;=:@/?[]{}|^\`"<>\\% `;
/** A recognisable prefix on long generated inputs, for reading logs and answers by eye. */
const MARKER = 'fzmk';
const LETTERS = [...TOKEN].flatMap((c, i) => (/[a-z]/i.test(c) ? [i] : []));

/** A token that is never the right one (and never contains it). */
function wrongToken(r: Prng): string {
  return r.weighted<() => string>([
    [4, () => r.string(r.int(1, 64), ALNUM)],
    [2, () => TOKEN.slice(0, -1)],
    [1, () => TOKEN.slice(1)],
    [2, () => {
      // One letter in the other case.
      const i = r.pick(LETTERS);
      const c = TOKEN[i]!;
      return TOKEN.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + TOKEN.slice(i + 1);
    }],
    [1, () => TOKEN.slice(0, 10) + r.string(1, '#!') + TOKEN.slice(10)],
    [1, () => TOKEN.toUpperCase()],
    [1, () => ''],
    [1, () => 'x'.repeat(r.int(1000, 6000))],
    [1, () => `${MARKER}${r.string(r.int(100, 3000), PRINTABLE.replace(/[ %]/g, ''))}`],
  ])();
}

function authorization(r: Prng): string {
  const t = wrongToken(r);
  return r.pick([`Bearer ${t}`, `bearer ${t}`, `BEARER ${t}`, `Bearer  ${t}`, `Bearer\t${t}`, `Bearer${t}`, t, `Basic ${Buffer.from(`user:${t}`).toString('base64')}`, `Token ${t}`, 'Bearer', 'Bearer ', `Digest username="${t}"`]);
}

interface Target {
  readonly text: string;
  /** Only visible ASCII: usable by http.request and valid on the request line. */
  readonly plain: boolean;
  /** Express routes it to `route` (case, trailing slash and query do not change the route). */
  readonly sameRoute: boolean;
}

function target(r: Prng, route: Route): Target {
  const p = route.path;
  const longQuery = (): string => Array.from({ length: r.int(1, 400) }, () => `${r.string(r.int(1, 8), ALNUM)}=${r.string(r.int(0, 20), ALNUM)}`).join('&');
  return r.weighted<() => Target>([
    [10, () => ({ text: p, plain: true, sameRoute: true })],
    [2, () => ({ text: p.toUpperCase(), plain: true, sameRoute: true })],
    [2, () => ({ text: `${p}/`.replace('//', '/'), plain: true, sameRoute: true })],
    [3, () => ({ text: `${p}?x=${r.string(r.int(0, 6000), ALNUM)}`, plain: true, sameRoute: true })],
    [2, () => ({ text: `${p}?${longQuery()}`, plain: true, sameRoute: true })],
    [1, () => ({ text: `${p}?token=${wrongToken(r)}&access_token=${wrongToken(r)}`, plain: true, sameRoute: true })],
    [1, () => ({ text: `${p}?x=%zz%&%%=%${r.string(2, '0123456789abcdefgz')}&a[b][c]=1&__proto__[x]=1`, plain: true, sameRoute: true })],
    [1, () => ({ text: `/${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/.${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/x/..${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/%2e%2e${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/%2E%2E%2F${p.slice(1)}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}%00`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}%2f`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/%${p.slice(1, 2).charCodeAt(0).toString(16)}${p.slice(2)}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p};jsessionid=${r.string(8, ALNUM)}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}#frag`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}/%ff%fe%c0%af`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/${Array.from({ length: r.int(1, 200) }, () => `%${r.string(r.int(0, 2), '0123456789abcdefXYZ%')}`).join('')}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `http://127.0.0.1${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `http://evil.example${p}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `/${'a'.repeat(8192)}`, plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}/${'%41'.repeat(2700)}`, plain: true, sameRoute: false })],
    [1, () => ({ text: '*', plain: true, sameRoute: false })],
    [1, () => ({ text: `${p}/${encodeURIComponent('ünïcødé→☃')}`, plain: true, sameRoute: false })],
    // Raw bytes on the request line: only the raw-socket path sends these.
    [1, () => ({ text: Buffer.from(`${p}/ünïcødé☃`, 'utf8').toString('latin1'), plain: false, sameRoute: false })],
    [1, () => ({ text: `\\${p.slice(1)}`, plain: false, sameRoute: false })],
    [1, () => ({ text: `${p} ${p}`, plain: false, sameRoute: false })],
    [1, () => ({ text: `${p}\x00\x01\x7f`, plain: false, sameRoute: false })],
    [1, () => ({ text: '', plain: false, sameRoute: false })],
  ])();
}

function extraHeaders(r: Prng): string[] {
  const out: string[] = [];
  for (let i = r.int(0, 5); i > 0; i--) {
    out.push(
      r.pick([
        `X-Drainer-Token: ${wrongToken(r)}`,
        `Authorization: ${authorization(r)}`,
        'Content-Type: application/json',
        `Content-Type: ${r.string(r.int(1, 40), PRINTABLE)}`,
        `User-Agent: ${MARKER}-${r.string(r.int(1, 200), ALNUM)}`,
        `Cookie: token=${wrongToken(r)}`,
        'X-Forwarded-For: 127.0.0.1',
        'X-Forwarded-Proto: https',
        'X-Real-IP: 10.0.0.1',
        `X-${r.string(r.int(1, 20), ALNUM)}: ${r.string(r.int(0, 200), PRINTABLE)}`,
        'Accept: */*',
        'Accept-Encoding: gzip, deflate, br',
        'Expect: 100-continue',
      ]),
    );
  }
  return out;
}

function tokenHeaders(r: Prng): string[] {
  return r.weighted<() => string[]>([
    [2, () => []],
    [3, () => [`Authorization: ${authorization(r)}`]],
    [3, () => [`X-Drainer-Token: ${wrongToken(r)}`]],
    [1, () => [`x-drainer-token: ${wrongToken(r)}`, `X-DRAINER-TOKEN: ${wrongToken(r)}`]],
    [1, () => [`Authorization: ${authorization(r)}`, `Authorization: ${authorization(r)}`]],
    [1, () => [`Authorization: ${authorization(r)}`, `X-Drainer-Token: ${wrongToken(r)}`]],
  ])();
}

function body(r: Prng, max: number): Buffer {
  return r.weighted<() => Buffer>([
    [3, () => Buffer.alloc(0)],
    [3, () => r.bytes(r.int(1, max))],
    [2, () => Buffer.from(r.pick(['{"a":', '{"token":"x"}', '[[[[[[[[', 'null', '{"__proto__":{"admin":true}}', '{"phase":"idle"}', '\u0000\u0001', '{"a":"\\ud800"}']).slice(0, max))],
    [1, () => Buffer.from('['.repeat(Math.min(max, r.int(1, 5000))))],
    [1, () => Buffer.from(`${MARKER}${r.string(Math.max(0, Math.min(max, 2000) - 4), ALNUM)}`)],
  ])();
}

function chunked(data: Buffer, r: Prng): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const size = Math.min(data.length - at, r.int(1, 512));
    parts.push(Buffer.from(`${size.toString(16)}\r\n`, 'latin1'), data.subarray(at, at + size), Buffer.from('\r\n', 'latin1'));
    at += size;
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

const bytesOf = (head: string, payload: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([Buffer.from(head, 'latin1'), payload]);

/** What a frame was aimed at, for checking its answer. */
interface FrameInfo {
  readonly method: string;
  readonly route: Route;
  /** Well-formed by construction: it must get a well-formed answer. */
  readonly valid: boolean;
  /** A valid frame that Express routes to `route` with `method` (so its answer is predictable). */
  readonly routed: boolean;
  readonly head: boolean;
}

interface Connection {
  readonly index: number;
  readonly shape: string;
  readonly via: 'raw' | 'http';
  readonly frames: readonly FrameInfo[];
  /** raw: the bytes in write order. */
  readonly chunks: readonly Buffer[];
  readonly pauseMs: number;
  readonly halfClose: boolean;
  /** Every frame must be answered (well-formed frames) or any outcome is fine as long as what comes back is well-formed. */
  readonly mustAnswer: boolean;
  readonly timeoutMs: number;
  /** http: the request for http.request. */
  readonly http?: { method: string; path: string; headers: Record<string, string | string[]>; body: Buffer; chunked: boolean };
}

/** Under the server's 8 KiB head limit with room to spare (the limit counts the request line and headers). */
const HEAD_FITS = 7_500;

function validFrame(r: Prng, options: { pipelined?: boolean } = {}): { bytes: Buffer; info: FrameInfo; fits: boolean } {
  const route = r.pick(ROUTES);
  const method = r.pick(METHODS);
  const t = target(r, route);
  const tgt = t.plain && t.text !== '' ? t : { text: route.path, plain: true, sameRoute: true };
  // Node 20 bug (not the drainer's): on a pipelined request with "Expect: 100-continue" whose
  // answer waits behind another, a Buffer body (Express sends strings of 1,000+ characters as
  // Buffers: /metrics, /drain) goes out as headers, then "HTTP/1.1 100 Continue", then the body.
  // Pipelined frames leave Expect out so the check stays on what the drainer controls.
  const headers = ['Host: 127.0.0.1', ...tokenHeaders(r), ...extraHeaders(r)].filter((h) => !(options.pipelined && /^expect:/i.test(h)));
  const connection = options.pipelined ? 'keep-alive' : r.pick(['close', 'close', 'keep-alive', '']);
  if (connection) headers.push(`Connection: ${connection}`);
  let payload: Buffer = Buffer.alloc(0);
  if (r.chance(0.4)) {
    if (r.chance(0.7)) {
      payload = body(r, 1024);
      headers.push(`Content-Length: ${payload.length}`);
    } else {
      payload = chunked(body(r, 3000), r);
      headers.push('Transfer-Encoding: chunked');
    }
  }
  const lines = r.chance(0.5) ? headers : [...headers].sort(() => r.next() - 0.5);
  const head = `${method} ${tgt.text} HTTP/1.${r.chance(0.9) ? 1 : 0}\r\n${lines.join('\r\n')}\r\n\r\n`;
  return {
    bytes: bytesOf(head, payload),
    info: { method, route, valid: true, routed: tgt.sameRoute, head: method === 'HEAD' },
    fits: head.length < HEAD_FITS,
  };
}

function anyFrame(method: string, route: Route): FrameInfo {
  return { method, route, valid: false, routed: false, head: method === 'HEAD' };
}

/** A few bytes split into 2-5 writes. */
function split(r: Prng, bytes: Buffer): Buffer[] {
  const cuts = Array.from({ length: r.int(1, 4) }, () => r.int(1, Math.max(1, bytes.length - 1))).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) out.push(bytes.subarray(at, cut));
    at = Math.max(at, cut);
  }
  return out;
}

function generate(seed: number, index: number): Connection {
  const r = Prng.forItem(seed, index);
  const base = { index, pauseMs: 0, halfClose: false, via: 'raw' as const };
  const must = (shape: string, frames: FrameInfo[], chunks: Buffer[], extra: Partial<Connection> = {}): Connection => ({ ...base, shape, frames, chunks, mustAnswer: true, timeoutMs: 5_000, ...extra });
  // Malformed: half-close most so the server sees the end of the stream at once; leave a few hanging (we cut them).
  const loose = (shape: string, frame: FrameInfo, bytes: Buffer): Connection => {
    const halfClose = r.chance(0.85);
    return { ...base, shape, frames: [frame], chunks: r.chance(0.2) ? split(r, bytes) : [bytes], pauseMs: r.int(0, 2), halfClose, mustAnswer: false, timeoutMs: halfClose ? 5_000 : 300 };
  };
  const route = r.pick(ROUTES);
  const shape = r.weighted<string>([
    [32, 'valid'],
    [5, 'valid-split'],
    [7, 'pipelined'],
    [15, 'http'],
    [7, 'length-mismatch'],
    [7, 'bad-chunked'],
    [6, 'bad-request-line'],
    [6, 'bad-headers'],
    [4, 'huge-headers'],
    [3, 'over-limit'],
    [3, 'truncated'],
    [3, 'random-bytes'],
    [2, 'smuggling'],
  ]);
  switch (shape) {
    case 'valid': {
      const f = validFrame(r);
      return must(shape, [f.info], [f.bytes]);
    }
    case 'valid-split': {
      const f = validFrame(r);
      return must(shape, [f.info], split(r, f.bytes), { pauseMs: r.int(1, 5) });
    }
    case 'pipelined': {
      // Every frame under the head limit: a 431 on a later frame closes the connection and Node
      // drops the answers it had queued for the earlier ones (Node's behaviour, not the drainer's).
      const frames = Array.from({ length: r.int(2, 4) }, () => {
        for (let attempt = 0; attempt < 50; attempt++) {
          const f = validFrame(r, { pipelined: true });
          if (f.fits) return f;
        }
        const healthz = ROUTES.find((x) => x.path === '/healthz')!;
        return { bytes: bytesOf('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), info: { method: 'GET', route: healthz, valid: true, routed: true, head: false }, fits: true };
      });
      return must(shape, frames.map((f) => f.info), [Buffer.concat(frames.map((f) => f.bytes))]);
    }
    case 'http': {
      const method = r.pick(METHODS);
      let t = target(r, route);
      if (!t.plain || t.text === '' || t.text.startsWith('http:')) t = { text: route.path, plain: true, sameRoute: true };
      const headers: Record<string, string | string[]> = {};
      for (const line of [...tokenHeaders(r), ...extraHeaders(r)]) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        const existing = headers[name];
        headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
      }
      delete headers.expect;
      const chunkedBody = r.chance(0.2);
      const payload = r.chance(0.4) ? body(r, r.chance(0.1) ? 4000 : 1024) : Buffer.alloc(0);
      return {
        ...base,
        via: 'http',
        shape,
        frames: [{ method, route, valid: true, routed: t.sameRoute && !(payload.length > 1024 && !chunkedBody), head: method === 'HEAD' }],
        chunks: [],
        mustAnswer: true,
        timeoutMs: 5_000,
        http: { method, path: t.text, headers, body: payload, chunked: chunkedBody },
      };
    }
    case 'length-mismatch': {
      const payload = body(r, 1024);
      const claimed = r.pick([payload.length + r.int(1, 500), Math.max(0, payload.length - r.int(1, 50)), -1, 'abc', '1e3', '0x10', ' 12 ', '5, 5', '99999999999999999999', '']);
      const method = r.pick(['GET', 'POST', 'PUT']);
      const head = `${method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${tokenHeaders(r).map((h) => `${h}\r\n`).join('')}Content-Length: ${claimed}\r\n\r\n`;
      return loose(shape, anyFrame(method, route), bytesOf(head, payload));
    }
    case 'bad-chunked': {
      const method = r.pick(['POST', 'GET', 'PUT', 'DELETE']);
      const te = r.pick(['chunked', 'chunked', 'Chunked', ' chunked', 'chunked, gzip', 'gzip, chunked', 'gzip', 'chunked\x00', 'identity', 'chunked;q=1']);
      const chunk = r.pick([
        'zz\r\nhello\r\n0\r\n\r\n',
        '-1\r\nx\r\n0\r\n\r\n',
        'ffffffffffffffffffff\r\nx\r\n',
        '5\r\nhelloXX0\r\n\r\n',
        `5;${'a'.repeat(r.int(100, 20_000))}\r\nhello\r\n0\r\n\r\n`,
        '5\r\nhello\r\n',
        '0\r\nX-Trailer: \x00\r\n\r\n',
        '5\nhello\n0\n\n',
        ' 5\r\nhello\r\n0\r\n\r\n',
        '5\r\nhel',
        `${r.bytes(r.int(1, 200)).toString('latin1')}`,
        '0\r\n\r\nGET /prestop HTTP/1.1\r\nHost: x\r\n\r\n',
      ]);
      const head = `${method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${tokenHeaders(r).map((h) => `${h}\r\n`).join('')}Transfer-Encoding: ${te}\r\n\r\n`;
      return loose(shape, anyFrame(method, route), bytesOf(head + chunk));
    }
    case 'bad-request-line': {
      const method = r.chance(0.6) ? r.pick(ODD_METHODS) : r.pick(METHODS);
      const t = target(r, route);
      const version = r.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1', 'HTTX/1.1', 'http/1.1', '', 'HTTP/1.1 extra', 'HTTP/11.1']);
      const eol = r.pick(['\r\n', '\r\n', '\n', '\r', '\n\r']);
      const line = r.pick([`${method} ${t.text} ${version}`, `${method}  ${t.text}  ${version}`, `${method}\t${t.text}\t${version}`, `${method} ${t.text}`, ` ${method} ${t.text} ${version}`, `${method}${t.text} ${version}`]);
      return loose(shape, anyFrame(method, route), bytesOf(`${line}${eol}Host: 127.0.0.1${eol}${tokenHeaders(r).map((h) => `${h}${eol}`).join('')}${eol}`));
    }
    case 'bad-headers': {
      const bad = r.pick([
        'Bad Header: x',
        ': empty-name',
        'X\x00: nul',
        'X-Ok: line\x00nul',
        'X-Ok: bell\x07',
        'X-Fold: a\r\n  folded continuation',
        ' Leading-Space: x',
        'No-Colon',
        'X-Drainer-Token : wrong-with-space',
        `Authorization: Bearer ${wrongToken(r)}\r\n\tfolded`,
        'Host: 127.0.0.1',
        'Host:',
        'Content-Length: 1\r\nContent-Length: 2',
        `X-Big-Value: ${Buffer.from('ü☃'.repeat(50), 'utf8').toString('latin1')}`,
        `X-Drainer-Token: ${Buffer.from(`${TOKEN.slice(0, 5)}ü`, 'utf8').toString('latin1')}`,
        `X-Drainer-Token: ${wrongToken(r)}\r\nX-Drainer-Token: ${wrongToken(r)}`,
        'Connection: Upgrade\r\nUpgrade: websocket',
        'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
        'Expect: 100-continue',
        'Expect: 999-nonsense',
        `${r.string(r.int(1, 30), ALNUM + '()<>@,;\\"/[]?={} ')}: ${r.string(r.int(0, 50), PRINTABLE)}`,
      ]);
      const method = r.pick(METHODS);
      const host = r.chance(0.8) ? 'Host: 127.0.0.1\r\n' : '';
      return loose(shape, anyFrame(method, route), bytesOf(`${method} ${route.path} HTTP/1.1\r\n${host}${bad}\r\n${tokenHeaders(r).map((h) => `${h}\r\n`).join('')}\r\n`));
    }
    case 'huge-headers': {
      const method = r.pick(METHODS);
      const hugeLines = r.pick([
        () => [`X-Big: ${'a'.repeat(r.pick([4_000, 12_000, 17_000, 70_000]))}`],
        () => Array.from({ length: r.pick([100, 1_000, 2_100, 3_000]) }, (_, i) => `X-H-${i}: ${r.string(r.int(0, 4), ALNUM)}`),
        () => [`Authorization: Bearer ${'x'.repeat(r.pick([8_000, 20_000]))}`],
        () => [`Cookie: ${Array.from({ length: 800 }, (_, i) => `c${i}=${r.string(10, ALNUM)}`).join('; ')}`],
      ])();
      return loose(shape, anyFrame(method, route), bytesOf(`${method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${hugeLines.join('\r\n')}\r\n\r\n`));
    }
    case 'over-limit': {
      const size = r.pick([1025, 1500, 4096, 65_536, 300_000]);
      const send = r.chance(0.5) ? size : r.int(0, 64);
      const method = r.pick(['POST', 'PUT', 'GET']);
      const head = `${method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${tokenHeaders(r).map((h) => `${h}\r\n`).join('')}Content-Length: ${size}\r\nConnection: close\r\n\r\n`;
      return loose(shape, anyFrame(method, route), bytesOf(head, r.bytes(send)));
    }
    case 'truncated': {
      const f = validFrame(r);
      return loose(shape, anyFrame(f.info.method, f.info.route), f.bytes.subarray(0, r.int(1, Math.max(1, f.bytes.length - 1))));
    }
    case 'random-bytes':
      return loose(shape, anyFrame('?', route), r.bytes(r.int(1, 2048)));
    case 'smuggling': {
      const smuggled = `GET /prestop HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drainer-Token: ${wrongToken(r)}\r\n\r\n`;
      const variant = r.pick([
        `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
        `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggled}`,
        `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
        `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: xchunked\r\n\r\n${smuggled}`,
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : ${smuggled.length}\r\n\r\n${smuggled}`,
      ]);
      return loose(shape, anyFrame('POST', ROUTES.find((x) => x.path === '/healthz')!), bytesOf(variant));
    }
  }
  throw new Error(`no shape ${shape}`);
}

// ---------------------------------------------------------------------------
// Checking

interface Answer {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

function header(answer: Answer, name: string): string | undefined {
  return answer.headers.find(([n]) => n === name)?.[1];
}

/** A well-formed frame for a guarded route and method: its answer must be a refusal. */
function reachesGuard(frame: FrameInfo): boolean {
  return frame.valid && frame.routed && frame.route.guarded.includes(frame.method);
}

/** Problems with one answer to one frame, as sentences; empty when it is fine. */
function checkAnswer(answer: Answer, frame: FrameInfo | undefined): string[] {
  const problems: string[] = [];
  const route = frame?.route.path ?? '?';
  if (answer.status >= 500 && !DOCUMENTED_5XX.some((d) => d.status === answer.status && d.route === route)) {
    problems.push(`status ${answer.status} on ${frame?.method ?? '?'} ${route}`);
  }
  if (answer.body.length > MAX_BODY && !frame?.route.large) {
    problems.push(`${answer.body.length}-byte body (limit ${MAX_BODY}) on ${route}`);
  }
  if (answer.status >= 400 && answer.body.length > 0) {
    const type = header(answer, 'content-type') ?? '';
    if (!type.includes('application/json')) problems.push(`${answer.status} body is ${type || 'untyped'}, not JSON`);
    else {
      try {
        const parsed = JSON.parse(answer.body.toString('utf8')) as { error?: unknown };
        if (typeof parsed.error !== 'string') problems.push(`${answer.status} JSON body without an "error" string`);
      } catch {
        problems.push(`${answer.status} body is not valid JSON`);
      }
    }
  }
  // 431: the head is over the server's 8 KiB limit (long query strings).
  if (frame && reachesGuard(frame) && ![401, 413, 431].includes(answer.status)) {
    problems.push(`${frame.method} ${route} without the token answered ${answer.status} (expected 401, 413 or 431)`);
  }
  return problems;
}

interface Outcome {
  readonly frames: number;
  readonly answers: Answer[];
  readonly problems: string[];
  readonly end: string;
  readonly ms: number;
}

async function runRaw(c: Connection, port: number): Promise<Outcome> {
  const result: RawExchangeResult = await rawExchange({
    port,
    chunks: c.chunks,
    pauseMs: c.pauseMs,
    heads: c.frames.map((f) => f.head),
    expectResponses: c.frames.length,
    halfClose: c.halfClose,
    timeoutMs: c.timeoutMs,
  });
  const problems: string[] = [];
  if (result.malformed !== undefined) problems.push(`malformed answer: ${result.malformed}`);
  // Bytes after the last answer we waited for: a further answer (say the 400 for the rest of a
  // mismatched body) that we did not read to its end, or garbage when the server closed.
  else if (result.leftover.length > 0 && (result.end !== 'done' || !isResponseStart(result.leftover))) {
    problems.push(`${result.leftover.length} bytes after the last answer`);
  }
  if (c.mustAnswer && result.responses.length < c.frames.length) {
    problems.push(`${result.responses.length} of ${c.frames.length} answers (${result.end}${result.error ? ` ${result.error}` : ''} after ${result.ms} ms)`);
  }
  result.responses.forEach((response: RawResponse, i) => problems.push(...checkAnswer(response, c.frames[i])));
  if (problems.length > 0) problems.push(`received ${JSON.stringify(result.received.subarray(0, 300).toString('latin1'))}`);
  return { frames: c.frames.length, answers: result.responses, problems, end: result.end, ms: result.ms };
}

/** The bytes begin like a status line ("HTTP/1.1 400"), or are a prefix of one. */
function isResponseStart(bytes: Buffer): boolean {
  const patterns = ['H', 'T', 'T', 'P', '/', '1', '.', '[01]', ' ', '[1-5]', '\\d', '\\d'];
  const text = bytes.subarray(0, patterns.length).toString('latin1');
  return [...text].every((ch, i) => new RegExp(`^${patterns[i]!}$`).test(ch));
}

function runHttp(c: Connection, port: number, agent: Agent): Promise<Outcome> {
  const h = c.http!;
  const frame = c.frames[0]!;
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const startedAt = Date.now();
    const finish = (outcome: Omit<Outcome, 'frames' | 'ms'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ frames: 1, ...outcome, ms: Date.now() - startedAt });
    };
    const headers: Record<string, string | string[]> = { ...h.headers };
    // Frame the body explicitly: Node's client sends a GET/DELETE/OPTIONS body unframed otherwise.
    if (h.chunked) headers['transfer-encoding'] = 'chunked';
    else if (h.body.length > 0) headers['content-length'] = String(h.body.length);
    let req: ClientRequest;
    try {
      req = httpRequest({ host: '127.0.0.1', port, method: h.method, path: h.path, headers, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', (e) => finish({ answers: [], problems: [`response error ${e.message}`], end: 'error' }));
        res.on('end', () => {
          const answer: Answer = { status: res.statusCode ?? 0, headers: headerPairs(res.headers), body: Buffer.concat(parts) };
          finish({ answers: [answer], problems: checkAnswer(answer, frame), end: 'done' });
        });
      });
    } catch (error) {
      // Node's client refused to send it: a generator bug, not a server finding.
      finish({ answers: [], problems: [`generator bug: http.request threw ${(error as Error).message}`], end: 'error' });
      return;
    }
    timer = setTimeout(() => {
      req.destroy();
      finish({ answers: [], problems: [`no answer in ${c.timeoutMs} ms`], end: 'timeout' });
    }, c.timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish({ answers: [], problems: [`request error ${e.code ?? e.message} (reused socket: ${req.reusedSocket})`], end: 'error' }));
    if (h.body.length > 0) req.write(h.body);
    req.end();
  });
}

function headerPairs(headers: IncomingHttpHeaders): [string, string][] {
  return Object.entries(headers).flatMap(([n, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [n, x])));
}

function describeConnection(c: Connection): string {
  const bytes = c.via === 'http' ? Buffer.from(JSON.stringify(c.http, (k, v: unknown) => (k === 'body' ? undefined : v))) : Buffer.concat(c.chunks);
  const shown = bytes.subarray(0, 600);
  return `seed ${SEED} index ${c.index} (${c.shape}, ${bytes.length} bytes): ${JSON.stringify(shown.toString('latin1'))}${bytes.length > shown.length ? '…' : ''}`;
}

// ---------------------------------------------------------------------------
// The server under test

/** The production server (header/body timeouts, connection cap, header limits) on loopback, port 0. */
async function listen(app: ReturnType<typeof createApp>, f: ReturnType<typeof controllerFixture>): Promise<Server> {
  const server = startServer(app, f.config, f.logger, { bounds: SERVER_BOUNDS });
  await once(server, 'listening');
  return server;
}

function getText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

// The test's `process` is Jest's copy; these are the real process's events and gc.
const realProcess = runInThisContext('process') as NodeJS.Process;
const realGc = findGc();

/** `global.gc` when Node runs with --expose-gc; otherwise V8's flag set at run time (a fresh context then sees gc). */
function findGc(): (() => void) | undefined {
  const exposed = runInThisContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
    return gc;
  } catch {
    return undefined;
  }
}

/** `heap` is what JavaScript holds: the V8 heap plus memory outside it (Buffers). */
function memory(): { rss: number; heap: number } {
  realGc?.();
  realGc?.();
  const m = realProcess.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** The in-memory Eureka's reads; any other call (put_status, remove_status, cancel, or one added later) is a change. */
const READS = new Set(['get_application', 'get_delta', 'get_instance']);
const isChange = (call: { op: string }): boolean => !READS.has(call.op);
const MiB = 1024 * 1024;
/**
 * Growth allowed from the end of the first batch to the end of the run. With
 * gc the heap (V8 heap + Buffers) is the leak check: a leak of 2 KiB per
 * request is 20 MiB over the default run. RSS also keeps the allocator's
 * high-water mark (a batch that happens to hold several 300 KB bodies at once
 * raises it for good; 35-70 MiB seen), so its bound is looser. Without gc
 * Node collects when it likes and both bounds are only a backstop.
 */
const HEAP_BOUND = realGc ? 16 * MiB : 160 * MiB;
const RSS_BOUND = realGc ? 128 * MiB : 320 * MiB;

/**
 * Slow senders, opened at the start and left alone while the fuzz runs: the
 * server's own bounds must close them (408 where nothing was answered yet),
 * within the bound plus Node's check interval plus slack for a loaded loop.
 */
const SLACK_MS = 5_000;
const HEADERS_BOUND_MS = SERVER_BOUNDS.headersTimeoutMs + SERVER_BOUNDS.checkIntervalMs + SLACK_MS;
const REQUEST_BOUND_MS = SERVER_BOUNDS.requestTimeoutMs + SERVER_BOUNDS.checkIntervalMs + SLACK_MS;
const SLOW_SENDERS: readonly { name: string; chunks: Buffer[]; pauseMs: number; withinMs: number }[] = [
  { name: 'headers that never end', chunks: [Buffer.from('GET /prestop HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drainer-Token: wrong\r\n')], pauseMs: 0, withinMs: HEADERS_BOUND_MS },
  {
    name: 'headers one byte every 250 ms',
    chunks: [...`GET /prestop HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}`].map((ch) => Buffer.from(ch, 'latin1')),
    pauseMs: 250,
    withinMs: HEADERS_BOUND_MS,
  },
  { name: 'a body that never ends', chunks: [Buffer.from('POST /prestop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc')], pauseMs: 0, withinMs: REQUEST_BOUND_MS },
];

async function slowSender(port: number, sender: (typeof SLOW_SENDERS)[number]): Promise<{ name: string; ms: number; statuses: number[]; problems: string[] }> {
  const result = await rawExchange({ port, chunks: sender.chunks, pauseMs: sender.pauseMs, heads: [], expectResponses: 99, halfClose: false, timeoutMs: sender.withinMs });
  const problems: string[] = [];
  if (result.end === 'timeout') problems.push(`still open after ${sender.withinMs} ms`);
  if (result.malformed !== undefined) problems.push(`malformed answer: ${result.malformed}`);
  const statuses = result.responses.map((r) => r.status);
  if (statuses.some((s) => s !== 401 && s !== 408)) problems.push(`answered ${statuses.join(', ')}`);
  return { name: sender.name, ms: result.ms, statuses, problems };
}

describe('HTTP surface under fuzz', () => {
  test(`seed ${SEED}: ${TARGET} requests without the token change nothing and every answer is well-formed`, async () => {
    const f = controllerFixture({ DRAINER_TOKEN: TOKEN, DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const httpRegistry = new Registry();
    const app = createApp({ config: f.config, plan: f.plan, controller: f.controller, registry: f.registry, metrics: createMetrics(httpRegistry), logger: f.logger });
    const server = await listen(app, f);
    const port = (server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });

    const fired: string[] = [];
    const onRejection = (reason: unknown): void => void fired.push(`unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
    const onException = (error: Error): void => void fired.push(`uncaughtException: ${error.stack}`);
    realProcess.on('unhandledRejection', onRejection);
    realProcess.on('uncaughtException', onException);

    const failures: string[] = [];
    const invariants: string[] = [];
    const statuses = new Map<string, number>();
    const ends = new Map<string, number>();
    /** Exchanges that took a second or more, by shape and how they ended. */
    const slow = new Map<string, number>();
    const count = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
    let frames = 0;
    let connections = 0;
    /** Answers to well-formed calls of /prestop, /prestop/join, /drain/abort (all must be refusals). */
    let guarded = 0;
    let prestopResults: Record<string, number>;
    let next = ONLY ?? 0;
    let batches = 0;
    let baseline: { rss: number; heap: number } | undefined;
    let after: { rss: number; heap: number } | undefined;
    let peakRss = 0;
    let elapsed: number;
    let open = -1;
    let slowSenders: Awaited<ReturnType<typeof slowSender>>[];
    let metricsGrowth: number;
    let drainGrowth: number;
    const callsBefore = f.eureka.calls.length;

    try {
      const metricsBefore = (await getText(port, '/metrics')).body.length;
      const drainBefore = (await getText(port, '/drain')).body.length;
      const slowSending = ONLY === undefined ? Promise.all(SLOW_SENDERS.map((sender) => slowSender(port, sender))) : Promise.resolve([]);
      const started = Date.now();
      const stop = (): boolean => (ONLY !== undefined ? next > ONLY : frames >= TARGET) || Date.now() - started > BUDGET_MS || failures.length >= 50;
      while (!stop()) {
        const batchEnd = ONLY !== undefined ? ONLY + 1 : next + BATCH;
        const worker = async (): Promise<void> => {
          while (next < batchEnd && !stop()) {
            const c = generate(SEED, next++);
            const sent = c.via === 'raw' ? Buffer.concat(c.chunks) : Buffer.from(JSON.stringify(c.http));
            if (sent.includes(TOKEN)) throw new Error(`generator bug: ${describeConnection(c)} carries the token`);
            const outcome = c.via === 'raw' ? await runRaw(c, port) : await runHttp(c, port, agent);
            frames += outcome.frames;
            connections++;
            outcome.answers.forEach((a, i) => {
              count(statuses, String(a.status));
              if (c.frames[i] && reachesGuard(c.frames[i])) guarded++;
            });
            count(ends, `${c.shape}:${outcome.end}`);
            if (outcome.ms >= 1_000) count(slow, `${c.shape}:${outcome.end}`);
            if (outcome.problems.length > 0) failures.push(`${outcome.problems.join('; ')} — ${describeConnection(c)}`);
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        batches++;

        // After every batch: still answering, nothing changed, logs bounded.
        const health = await getText(port, '/healthz').catch((e: Error) => ({ status: 0, body: e.message }));
        if (health.status !== 200 || health.body !== '{"status":"ok"}') invariants.push(`batch ${batches}: /healthz answered ${health.status} ${health.body.slice(0, 200)}`);
        if (f.controller.currentPhase !== 'idle') invariants.push(`batch ${batches}: controller phase ${f.controller.currentPhase}`);
        const changes = f.eureka.calls.slice(callsBefore).filter(isChange);
        if (changes.length > 0) invariants.push(`batch ${batches}: Eureka received ${changes.map((c) => c.op).join(', ')}`);
        const longLines = f.lines.filter((l) => JSON.stringify(l).length > MAX_LOG_LINE);
        if (longLines.length > 0) invariants.push(`batch ${batches}: ${longLines.length} log lines over ${MAX_LOG_LINE} chars, e.g. ${JSON.stringify(longLines[0]).slice(0, 300)}`);
        f.lines.length = 0;
        if (invariants.length > 0) break;
        if (batches === 1) baseline = memory();
        peakRss = Math.max(peakRss, realProcess.memoryUsage().rss);
      }
      elapsed = Date.now() - started;
      after = memory();
      slowSenders = await slowSending;
      metricsGrowth = (await getText(port, '/metrics')).body.length - metricsBefore;
      drainGrowth = (await getText(port, '/drain')).body.length - drainBefore;
      const prestopMetric = await httpRegistry.getSingleMetric('eureka_drainer_prestop_requests_total')?.get();
      prestopResults = Object.fromEntries((prestopMetric?.values ?? []).map((v) => [String(v.labels.result), v.value]));
      agent.destroy();
      // Every fuzz socket was closed by one side or the other; the server lets go of them.
      for (let i = 0; i < 60 && open !== 0; i++) {
        open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
        if (open !== 0) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      realProcess.off('unhandledRejection', onRejection);
      realProcess.off('uncaughtException', onException);
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    const growth = (key: 'heap' | 'rss'): number | undefined => (baseline && after ? +((after[key] - baseline[key]) / MiB).toFixed(1) : undefined);
    // One line for the record: how many requests, how long, what came back.
    console.log(
      `fuzz summary ${JSON.stringify({
        seed: SEED,
        requests: frames,
        connections,
        guarded,
        prestopResults,
        eurekaCalls: f.eureka.calls.length - callsBefore,
        batches,
        ms: elapsed,
        statuses: Object.fromEntries([...statuses].sort()),
        ends: Object.fromEntries([...ends].sort()),
        slow: Object.fromEntries([...slow].sort()),
        slowSenders: slowSenders.map((s) => `${s.name}: ${s.statuses.join('+') || 'no answer'}, closed after ${s.ms} ms`),
        heapGrowthMiB: growth('heap'),
        rssGrowthMiB: growth('rss'),
        peakRssMiB: +(peakRss / MiB).toFixed(1),
        gc: realGc !== undefined,
      })}`,
    );

    expect(fired).toEqual([]);
    expect(invariants).toEqual([]);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(slowSenders.filter((s) => s.problems.length > 0).map((s) => `${s.name}: ${s.problems.join('; ')}`)).toEqual([]);
    if (ONLY === undefined) {
      expect(frames).toBeGreaterThanOrEqual(TARGET);
      expect(after.heap - baseline!.heap).toBeLessThan(HEAP_BOUND);
      expect(after.rss - baseline!.rss).toBeLessThan(RSS_BOUND);
    }
    // Nothing the fuzz sent grew the metrics (no label per input) or the status document.
    expect(metricsGrowth).toBeLessThan(2048);
    expect(drainGrowth).toBeLessThan(256);
    expect(open).toBe(0);
    // Every refusal is counted as one; no call started, joined or read a drain.
    expect(Object.entries(prestopResults).filter(([result, n]) => result !== 'unauthorized' && n > 0)).toEqual([]);
    expect(prestopResults.unauthorized ?? 0).toBeGreaterThanOrEqual(statuses.get('401') ?? 0);
    if (ONLY === undefined) expect(guarded).toBeGreaterThan(TARGET / 50);
    // Unauthorized calls change nothing: no override, no cancel, still idle.
    expect(f.eureka.calls.slice(callsBefore).filter(isChange)).toEqual([]);
    expect(f.controller.currentPhase).toBe('idle');
    expect(f.app.exits).toBe(0);
  }, BUDGET_MS + 45_000);
});
