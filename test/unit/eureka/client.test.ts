import axios, { type AddressFamily, type LookupAddress, type LookupAddressEntry } from 'axios';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/clock';
import type { EurekaServerConfig } from '../../../src/config';
import { EurekaRequestError } from '../../../src/errors';
import { EurekaClient, type EurekaResult } from '../../../src/eureka/client';

/**
 * A loopback server that answers what a real Eureka cannot be made to send
 * on demand: HTML, XML, truncated JSON, 5xx, hangs.
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let handler: Handler;
const seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
let eureka: EurekaServerConfig;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`;
  eureka = { url, label: url, username: 'user', password: 'p@ss' };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

function client(results: EurekaResult[] = []): EurekaClient {
  return new EurekaClient({ timeoutMs: 300, retries: 2, clock: systemClock, backoffMs: 5, onRequest: (_op, _s, result) => results.push(result) });
}

const json = (status: number, body: unknown): Handler => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

describe('EurekaClient', () => {
  test('sends JSON Accept, Basic auth, encoded ids and never the replication header', async () => {
    handler = json(200, { instance: { instanceId: 'pod:demo:8080', app: 'DEMO', status: 'UP', port: { $: 8080 } } });
    const found = await client().getInstance(eureka, 'DEMO', 'pod:demo:8080');
    expect(found?.instanceId).toBe('pod:demo:8080');
    const request = seen[0]!;
    expect(request.url).toBe('/eureka/apps/DEMO/pod%3Ademo%3A8080');
    expect(request.headers.accept).toBe('application/json');
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    expect(request.headers['x-netflix-discovery-replication']).toBeUndefined();
  });

  test('the override PUT carries value and lastDirtyTimestamp', async () => {
    handler = (_req, res) => res.writeHead(200).end();
    expect(await client().setStatusOverride(eureka, 'DEMO', 'i-1', 'OUT_OF_SERVICE', 1234)).toBe('ok');
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/eureka/apps/DEMO/i-1/status?value=OUT_OF_SERVICE&lastDirtyTimestamp=1234' });
  });

  test('override removal sends no value, so the app re-registers with its real status', async () => {
    handler = (_req, res) => res.writeHead(200).end();
    await client().removeStatusOverride(eureka, 'DEMO', 'i-1', 99);
    expect(seen[0]).toMatchObject({ method: 'DELETE', url: '/eureka/apps/DEMO/i-1/status?lastDirtyTimestamp=99' });
  });

  test('404 is an answer for lookups, cancels and heartbeats', async () => {
    handler = (_req, res) => res.writeHead(404).end();
    const c = client();
    expect(await c.getInstance(eureka, 'DEMO', 'x')).toBeNull();
    expect(await c.getApplication(eureka, 'DEMO')).toEqual([]);
    expect(await c.cancel(eureka, 'DEMO', 'x')).toBe('not_found');
    expect(await c.heartbeat(eureka, 'DEMO', 'x', 'UP', 1)).toBe('not_found');
    expect(await c.setStatusOverride(eureka, 'DEMO', 'x', 'OUT_OF_SERVICE', 1)).toBe('not_found');
  });

  test('5xx is retried, then succeeds', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls++;
      if (calls < 3) res.writeHead(503).end('busy');
      else res.writeHead(200).end();
    };
    const results: EurekaResult[] = [];
    expect(await client(results).cancel(eureka, 'DEMO', 'x')).toBe('ok');
    expect(results).toEqual(['server_error', 'server_error', 'success']);
  });

  test('4xx is not retried and the error names operation, server and status', async () => {
    handler = (_req, res) => res.writeHead(400).end('Missing instanceId');
    const error = (await client().setStatusOverride(eureka, 'DEMO', 'x', 'OUT_OF_SERVICE', 1).catch((e: unknown) => e)) as EurekaRequestError;
    expect(seen).toHaveLength(1);
    expect(error.code).toBe('DRAINER_EUREKA_REQUEST_FAILED');
    expect(error.operation).toBe('put_status');
    expect(error.status).toBe(400);
    expect(error.server).toBe(eureka.label);
    expect(error.message).toContain('HTTP 400: "Missing instanceId"');
  });

  test.each([
    ['HTML', 'text/html', '<html><body>Whitelabel Error Page</body></html>'],
    ['XML', 'application/xml', '<applications><versions__delta>1</versions__delta></applications>'],
    ['truncated JSON', 'application/json', '{"applications":{"application":[{"name":"DEMO","inst'],
  ])('%s instead of JSON is a bad_response error, not a crash', async (_name, type, body) => {
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': type }).end(body);
    const results: EurekaResult[] = [];
    const error = (await client(results).getDelta(eureka).catch((e: unknown) => e)) as EurekaRequestError;
    expect(error).toBeInstanceOf(EurekaRequestError);
    expect(error.message).toContain('bad response');
    expect(error.message).toContain(`body was not JSON: ${JSON.stringify(body.slice(0, 80))}`);
    expect(results).toContain('bad_response');
  });

  test('an empty 200 body says so', async () => {
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end();
    const error = (await client().getDelta(eureka).catch((e: unknown) => e)) as EurekaRequestError;
    expect(error.message).toMatch(/failed: bad response: applications: body was empty, expected JSON$/);
  });

  test('a 5xx that persists names the status and the start of the body', async () => {
    handler = (_req, res) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end('Service Unavailable: registry is starting');
    const results: EurekaResult[] = [];
    const error = (await client(results).getDelta(eureka).catch((e: unknown) => e)) as EurekaRequestError;
    expect(error.status).toBe(503);
    expect(error.message).toBe(`eureka get_delta on ${eureka.label} failed: answered HTTP 503: "Service Unavailable: registry is starting"`);
    expect(results).toEqual(['server_error', 'server_error', 'server_error']);
  });

  test('a body that stalls after the headers times out too, and says how far it got', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"instance":'); // and nothing more
    };
    const results: EurekaResult[] = [];
    const error = (await client(results).getInstance(eureka, 'DEMO', 'x').catch((e: unknown) => e)) as EurekaRequestError;
    expect(error.message).toContain('timed out after 300 ms while reading the HTTP 200 body (12 bytes read)');
    expect(results).toEqual(['network_error', 'network_error', 'network_error']);
  });

  test('a gzip-labelled body that is not gzip is a bad response, not retried', async () => {
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end('{"applications":{}}');
    const results: EurekaResult[] = [];
    const error = (await client(results).getDelta(eureka).catch((e: unknown) => e)) as EurekaRequestError;
    expect(error.message).toMatch(/body could not be decompressed: .+/);
    expect(results).toEqual(['bad_response']);
  });

  test('a hanging server times out per request, is retried, and fails with a clear message', async () => {
    handler = () => undefined; // never answers
    const results: EurekaResult[] = [];
    const started = Date.now();
    const error = (await client(results).getInstance(eureka, 'DEMO', 'x').catch((e: unknown) => e)) as EurekaRequestError;
    expect(error.message).toContain('timed out after 300 ms');
    expect(results).toEqual(['network_error', 'network_error', 'network_error']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test("the caller's signal ends a hanging request at once and is not retried", async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const pending = client().getInstance(eureka, 'DEMO', 'x', controller.signal);
    setTimeout(() => controller.abort(new Error('shutting down')), 20);
    await expect(pending).rejects.toThrow('shutting down');
    expect(seen).toHaveLength(1);
  });

  describe('a refused connection is a network error with a specific message', () => {
    let closedPort: number;
    beforeAll(async () => {
      // A port that was just free: nothing listens there now.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      closedPort = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
    });

    test.each(['127.0.0.1', 'localhost'])('on %s', async (host) => {
      const url = `http://${host}:${closedPort}/eureka/`;
      const results: EurekaResult[] = [];
      const error = (await client(results).cancel({ url, label: url }, 'DEMO', 'x').catch((e: unknown) => e)) as EurekaRequestError;
      expect(error.status).toBeUndefined();
      expect(error.message).toMatch(new RegExp(`failed: connection refused \\(ECONNREFUSED [^)]*127\\.0\\.0\\.1:${closedPort}`));
      expect(results).toEqual(['network_error', 'network_error', 'network_error']);
    });

    test('on a dual-stack localhost, where Node reports an AggregateError with an empty message', async () => {
      // What `localhost` resolves to on most hosts (::1 first), pinned so the
      // test does not depend on this machine's /etc/hosts.
      const both: LookupAddressEntry[] = [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ];
      const lookup = (_host: string, options: object, callback: (error: Error | null, address: LookupAddress | LookupAddress[], family?: AddressFamily) => void): void => {
        if ((options as { all?: boolean }).all) callback(null, both);
        else callback(null, both[0]!);
      };
      const url = `http://localhost:${closedPort}/eureka/`;
      const dualStack = new EurekaClient({ timeoutMs: 2_000, retries: 0, clock: systemClock, http: axios.create({ lookup }) });
      const error = (await dualStack.cancel({ url, label: url }, 'DEMO', 'x').catch((e: unknown) => e)) as EurekaRequestError;
      // Both attempts are named; without IPv6 the ::1 one fails with another code, in its own part.
      expect(error.message).toMatch(new RegExp(`failed: .*connection refused \\(ECONNREFUSED [^)]*127\\.0\\.0\\.1:${closedPort}\\)`));
      expect(error.message).toContain(`[::1]:${closedPort}`);
    });
  });
});
