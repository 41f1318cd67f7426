import { once } from 'node:events';
import { Server, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { createApp } from '../../../src/http/routes';
import { createMetrics } from '../../../src/metrics';
import { SERVER_BOUNDS, startServer, type ServerBounds } from '../../../src/http/server';
import { captureLogs } from '../../helpers/capture-logs';
import { testConfig } from '../../helpers/config';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const TOKEN = 'a-token-of-sufficient-length';
/** Short bounds so a test sees them fire; the shape is the production one. */
const FAST: Partial<ServerBounds> = { headersTimeoutMs: 200, requestTimeoutMs: 300, keepAliveTimeoutMs: 200, checkIntervalMs: 50 };

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
  jest.restoreAllMocks();
});

async function serve(env: Record<string, string> = {}, bounds: Partial<ServerBounds> = FAST, onListenError = jest.fn()) {
  const f = controllerFixture({ DRAINER_TOKEN: TOKEN, DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1', ...env });
  f.eureka.register({ instanceId: INSTANCE_ID });
  const app = createApp({ config: f.config, plan: f.plan, controller: f.controller, registry: f.registry, metrics: createMetrics(new Registry()), logger: f.logger });
  const server = startServer(app, f.config, f.logger, { bounds, onListenError });
  servers.push(server);
  await once(server, 'listening');
  return { ...f, server, port: (server.address() as AddressInfo).port, onListenError };
}

interface RawSocket {
  readonly socket: Socket;
  readonly received: () => string;
  /** Resolves with the ms from connect to close. */
  readonly closed: Promise<number>;
}

/** A raw client, so a test can send half a request. */
function raw(port: number, text: string, host = '127.0.0.1'): RawSocket {
  const started = Date.now();
  const socket = connect(port, host, () => socket.write(text));
  sockets.push(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  return { socket, received: () => received, closed };
}

function call(port: number, method: string, path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, method, path, headers, agent: false }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the HTTP server bounds', () => {
  test('production bounds: headers 5 s, whole request 10 s, keep-alive 5 s, 256 connections, 8 KiB / 64 headers', async () => {
    expect(SERVER_BOUNDS).toEqual({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      checkIntervalMs: 1_000,
      maxConnections: 256,
      maxHeaderBytes: 8 * 1024,
      maxHeadersCount: 64,
    });
    const { server } = await serve({}, {});
    expect(server.headersTimeout).toBe(5_000);
    expect(server.requestTimeout).toBe(10_000);
    expect(server.keepAliveTimeout).toBe(5_000);
    expect(server.maxConnections).toBe(256);
    expect(server.maxHeadersCount).toBe(64);
    // A long drain is idle on the socket for minutes: no inactivity timeout.
    expect(server.timeout).toBe(0);
  });

  test('a /prestop whose body never finishes is answered 408 and closed once the request timeout passes', async () => {
    const { port } = await serve();
    const slow = raw(port, 'POST /prestop HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab');
    const lived = await slow.closed;
    expect(lived).toBeGreaterThanOrEqual(280);
    expect(lived).toBeLessThan(300 + 50 + 400);
    expect(slow.received()).toContain('HTTP/1.1 401');
    expect(slow.received()).toContain('HTTP/1.1 408');
  });

  test('a slow body is cut at the request timeout even while its handler is still working on the answer', async () => {
    const { logger } = captureLogs();
    // Stands in for /prestop during a drain: the handler answers later, or never.
    const server = startServer(() => undefined, testConfig({ DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1' }), logger, { bounds: FAST });
    servers.push(server);
    await once(server, 'listening');
    const slow = raw((server.address() as AddressInfo).port, 'POST /prestop HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab');
    const lived = await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(lived).toBeGreaterThanOrEqual(280);
    expect(lived).toBeLessThan(300 + 50 + 400);
  });

  test('a slow response is not cut: /prestop blocks for the drain far past the request timeout and then answers 200', async () => {
    const f = await serve();
    const answer = call(f.port, 'GET', '/prestop', '127.0.0.1', { Authorization: `Bearer ${TOKEN}` });
    // Over three request timeouts in real time while the drain waits on its clock.
    await sleep(1_000);
    expect(f.controller.currentPhase).not.toBe('idle');
    // A second call joins the running drain; run the drain's clock through it.
    await f.clock.run(f.controller.prestop());
    const res = await answer;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ outcome: 'verified' });
  });

  test('headers that never finish, and a connection that sends nothing, are closed after the headers timeout', async () => {
    const { port } = await serve();
    const partial = raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const silent = raw(port, '');
    for (const lived of await Promise.all([partial.closed, silent.closed])) {
      expect(lived).toBeGreaterThanOrEqual(180);
      expect(lived).toBeLessThan(200 + 50 + 400);
    }
    expect(partial.received()).toContain('HTTP/1.1 408');
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const { port } = await serve();
    const idle = raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const lived = await idle.closed;
    expect(idle.received()).toContain('HTTP/1.1 200');
    // Node 20 keeps the socket open a further second past keepAliveTimeout.
    expect(lived).toBeGreaterThanOrEqual(200);
    expect(lived).toBeLessThan(200 + 1_000 + 400);
  });

  test('connections beyond the bound are dropped at once; held ones still end at the request timeout; then the server answers again', async () => {
    const { server, port, lines } = await serve({}, { ...FAST, maxConnections: 4 });
    const slow = Array.from({ length: 12 }, () => raw(port, 'POST /prestop HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab'));
    await sleep(100);
    const open = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    expect(open).toBeLessThanOrEqual(4);
    const lifetimes = await Promise.all(slow.map((s) => s.closed));
    expect(lifetimes.filter((ms) => ms < 100)).toHaveLength(8);
    expect(Math.max(...lifetimes)).toBeLessThan(300 + 50 + 400);
    // The drops are logged once, not once per socket.
    expect(lines.filter((l) => String(l.msg).startsWith('refused a connection'))).toHaveLength(1);
    expect((await call(port, 'GET', '/healthz', '127.0.0.1')).status).toBe(200);
  });

  test('oversized headers get 431', async () => {
    const { port } = await serve({}, { ...FAST, requestTimeoutMs: 5_000, headersTimeoutMs: 5_000 });
    const big = raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(9 * 1024)}\r\n\r\n`);
    await big.closed;
    expect(big.received()).toContain('HTTP/1.1 431');
  });
});

describe('listening', () => {
  test('the default host listens dual-stack: answers over ::1 and 127.0.0.1, and IPv4 allow-list entries match mapped peers', async () => {
    const f = await serve({ DRAINER_HOST: '', DRAINER_ALLOWED_SOURCES: '127.0.0.1' });
    expect(f.config.host).toBe('::');
    expect((f.server.address() as AddressInfo).address).toBe('::');
    expect((await call(f.port, 'GET', '/healthz', '::1')).status).toBe(200);
    expect((await call(f.port, 'GET', '/healthz', '127.0.0.1')).status).toBe(200);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    // 127.0.0.1 reaches the socket as ::ffff:127.0.0.1 and matches; ::1 is not listed.
    expect((await call(f.port, 'POST', '/drain/abort', '127.0.0.1', auth)).status).toBe(409);
    expect((await call(f.port, 'POST', '/drain/abort', '::1', auth)).status).toBe(403);
  });

  test('an IPv6 allow-list entry admits an IPv6 caller', async () => {
    const f = await serve({ DRAINER_HOST: '::1', DRAINER_ALLOWED_SOURCES: '::1/128' });
    expect((await call(f.port, 'POST', '/drain/abort', '::1', { Authorization: `Bearer ${TOKEN}` })).status).toBe(409);
  });

  test('without IPv6 on the host the default falls back to 0.0.0.0 with a warning', async () => {
    jest.spyOn(Server.prototype, 'listen').mockImplementationOnce(function (this: Server) {
      const error = Object.assign(new Error('listen EAFNOSUPPORT: address family not supported :::0'), { code: 'EAFNOSUPPORT' });
      process.nextTick(() => this.emit('error', error));
      return this;
    });
    const { logger, lines } = captureLogs();
    const config = testConfig({ DRAINER_PORT: '0' });
    const onListenError = jest.fn();
    const server = startServer((_req, res) => res.end('ok'), config, logger, { bounds: FAST, onListenError });
    servers.push(server);
    // Not events.once: it rejects on the 'error' that startServer handles.
    await new Promise((resolve) => server.once('listening', resolve));
    expect((server.address() as AddressInfo).address).toBe('0.0.0.0');
    expect(onListenError).not.toHaveBeenCalled();
    expect(lines.find((l) => l.level === 'warn')?.msg).toContain('no IPv6');
    expect(lines.find((l) => l.msg === 'listening')).toMatchObject({ host: '0.0.0.0' });
    expect((await call((server.address() as AddressInfo).port, 'GET', '/', '127.0.0.1')).body).toBe('ok');
  });

  test('any other listen error is fatal', async () => {
    const first = await serve();
    const { logger, lines } = captureLogs();
    const onListenError = jest.fn();
    const server = startServer((_req, res) => res.end('ok'), testConfig({ DRAINER_PORT: String(first.port), DRAINER_HOST: '127.0.0.1' }), logger, { bounds: FAST, onListenError });
    servers.push(server);
    await once(server, 'error');
    expect(onListenError).toHaveBeenCalledWith(expect.objectContaining({ code: 'EADDRINUSE' }));
    expect(lines.find((l) => l.level === 'fatal')).toMatchObject({ msg: 'cannot listen', port: first.port });
  });

  test('an error after listening is logged and the server keeps serving (exiting would abandon a drain)', async () => {
    const f = await serve();
    f.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(f.onListenError).not.toHaveBeenCalled();
    expect(f.lines.find((l) => l.msg === 'server error')).toMatchObject({ level: 'error' });
    expect((await call(f.port, 'GET', '/healthz', '127.0.0.1')).status).toBe(200);
  });
});
