import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGzip, gzipSync } from 'node:zlib';
import { systemClock } from '../../../src/clock';
import type { EurekaServerConfig } from '../../../src/config';
import { EurekaRequestError } from '../../../src/errors';
import { EurekaClient, type EurekaClientOptions, type EurekaResult } from '../../../src/eureka/client';

/**
 * Bodies a real registry never sends: 100 MiB of garbage, a gzip bomb. The
 * client must refuse them while they stream in, so the drainer stays inside
 * its container's memory limit (192 Mi in k8s/*.yaml). Its own file: it
 * measures this process's RSS, which the other client tests would disturb.
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const KiB = 1024;
const MiB = 1024 * KiB;

let server: Server;
let handler: Handler;
let requests = 0;
let eureka: EurekaServerConfig;
/** ~200 KiB that inflates to 200 MiB (deflate tops out near 1:1000, so 100 KiB would inflate to ~100 MiB). */
let bomb: Buffer;

beforeAll(async () => {
  bomb = await gzipOfZeros(200 * MiB);
  server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`;
  eureka = { url, label: url };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = 0;
});

function client(results: EurekaResult[], options: Partial<EurekaClientOptions> = {}): EurekaClient {
  return new EurekaClient({ timeoutMs: 10_000, retries: 2, clock: systemClock, backoffMs: 5, onRequest: (_op, _s, result) => results.push(result), ...options });
}

/** Gzip of `size` zero bytes, built from one reused chunk so the fixture itself stays small in memory. */
async function gzipOfZeros(size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += zeros.length) {
    if (!gzip.write(zeros)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(gzip, 'end');
  return Buffer.concat(parts);
}

/**
 * Streams `total` bytes of JSON-looking garbage in `chunk`-sized writes,
 * honouring backpressure, so the fake server itself holds almost nothing.
 * `sent.bytes` tells how far it got before the client hung up.
 */
function garbage(total: number, opts: { chunk?: number; pauseMs?: number; contentLength?: boolean; status?: number }, sent: { bytes: number }): Handler {
  const chunk = Buffer.alloc(opts.chunk ?? 64 * KiB, '{"instance":[');
  return (_req, res) => {
    res.writeHead(opts.status ?? 200, { 'Content-Type': 'application/json', ...(opts.contentLength ? { 'Content-Length': String(total) } : {}) });
    const drainedOrClosed = (): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.on('drain', done).on('close', done);
      });
    void (async () => {
      while (sent.bytes < total && !res.destroyed) {
        const ok = res.write(chunk);
        sent.bytes += chunk.length;
        if (!ok) await drainedOrClosed();
        if (opts.pauseMs) await new Promise((resolve) => setTimeout(resolve, opts.pauseMs));
      }
      if (!res.destroyed) res.end();
    })().catch(() => undefined);
  };
}

interface Growth {
  /** Peak resident set size minus the one before: what the container's memory limit sees. */
  readonly rss: number;
  /**
   * Peak of the JS heap plus Buffer memory minus the one before. RSS alone
   * misses a second large read in the same process, which reuses pages the
   * first one left resident; this one counts what is alive each time.
   */
  readonly live: number;
}

/** A full GC before each baseline, so garbage left by an earlier test is not counted as the baseline (jest runs without --expose-gc). */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Peak memory growth while `run` goes, sampled every millisecond (the event loop turns between body chunks). */
async function peakGrowth(run: () => Promise<unknown>): Promise<{ growth: Growth; outcome: unknown }> {
  gc();
  const liveNow = (): number => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external;
  };
  const rssBefore = process.memoryUsage.rss();
  const liveBefore = liveNow();
  let rssPeak = rssBefore;
  let livePeak = liveBefore;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    livePeak = Math.max(livePeak, liveNow());
  };
  const sampler = setInterval(sample, 1);
  try {
    const outcome = await run().catch((error: unknown) => error);
    sample();
    return { growth: { rss: rssPeak - rssBefore, live: livePeak - liveBefore }, outcome };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Well under the 64 MiB the client used to buffer before refusing (it failed
 * these tests at 45-180 MiB), and well over the 4-8 MiB it may hold now plus
 * GC noise.
 */
const BUDGET = 40 * MiB;

function expectSmall(growth: Growth): void {
  expect(growth.rss).toBeLessThan(BUDGET);
  expect(growth.live).toBeLessThan(BUDGET);
}

/** A Spring Cloud instance as /apps/delta carries it, about 1.5 KB of JSON. */
function instance(i: number): unknown {
  const ip = `10.1.${Math.floor(i / 250)}.${i % 250}`;
  const base = `http://${ip}:8080/`;
  return {
    instanceId: `demo-${i}:demo:8080`,
    hostName: ip,
    app: 'DEMO',
    ipAddr: ip,
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: {
      renewalIntervalInSecs: 30,
      durationInSecs: 90,
      registrationTimestamp: 1700000000000,
      lastRenewalTimestamp: 1700000090000,
      evictionTimestamp: 0,
      serviceUpTimestamp: 1700000000500,
    },
    metadata: { 'management.port': '8080', zone: 'zone-a', version: '1.4.2', 'k8s.namespace': 'shop', 'k8s.pod': `demo-7d9f8c6b5-${i}` },
    homePageUrl: base,
    statusPageUrl: `${base}actuator/info`,
    healthCheckUrl: `${base}actuator/health`,
    vipAddress: 'demo',
    secureVipAddress: 'demo',
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: '1700000000600',
    lastDirtyTimestamp: '1700000000000',
    actionType: 'MODIFIED',
  };
}

function expectRefused(outcome: unknown, limit: string): asserts outcome is EurekaRequestError {
  expect(outcome).toBeInstanceOf(EurekaRequestError);
  expect((outcome as EurekaRequestError).message).toContain(`answered more than ${limit}; refusing to read it`);
}

describe('EurekaClient body limits', () => {
  test('a 100 MiB app body streamed fast is refused at 4 MiB, once, without the memory it would take', async () => {
    const sent = { bytes: 0 };
    handler = garbage(100 * MiB, { chunk: 256 * KiB }, sent);
    const results: EurekaResult[] = [];
    const { growth, outcome } = await peakGrowth(() => client(results).getApplication(eureka, 'DEMO'));
    expectRefused(outcome, '4 MiB');
    expect(outcome.status).toBe(200);
    expect(results).toEqual(['bad_response']);
    expect(requests).toBe(1); // the same registry would answer the same again: not retried
    expect(sent.bytes).toBeLessThan(40 * MiB); // the client hung up instead of draining the rest
    expectSmall(growth);
  });

  test('a 100 MiB delta body streamed slowly is refused at 8 MiB', async () => {
    const sent = { bytes: 0 };
    handler = garbage(100 * MiB, { chunk: 128 * KiB, pauseMs: 1 }, sent);
    const results: EurekaResult[] = [];
    const { growth, outcome } = await peakGrowth(() => client(results).getDelta(eureka));
    expectRefused(outcome, '8 MiB');
    expect(results).toEqual(['bad_response']);
    expect(requests).toBe(1);
    expect(sent.bytes).toBeLessThan(48 * MiB);
    expectSmall(growth);
  });

  test('a gzip bomb (~200 KiB inflating to 200 MiB) is refused on its inflated size', async () => {
    expect(bomb.length).toBeLessThan(256 * KiB);
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb);
    const results: EurekaResult[] = [];
    const { growth, outcome } = await peakGrowth(() => client(results).getDelta(eureka));
    expectRefused(outcome, '8 MiB');
    expect(results).toEqual(['bad_response']);
    expect(requests).toBe(1);
    expectSmall(growth);
  });

  test('a Content-Length over the limit is refused before the body is read', async () => {
    const sent = { bytes: 0 };
    handler = garbage(100 * MiB, { contentLength: true, pauseMs: 50 }, sent);
    const results: EurekaResult[] = [];
    const started = Date.now();
    const error = await client(results)
      .getInstance(eureka, 'DEMO', 'x')
      .catch((e: unknown) => e);
    expectRefused(error, '256 KiB');
    expect(results).toEqual(['bad_response']);
    expect(Date.now() - started).toBeLessThan(1_000); // at 64 KiB per 50 ms, reading 256 KiB would take longer
  });

  test('a real-sized gzip delta (2,000 instances) still decodes', async () => {
    const doc = { applications: { versions__delta: '7', apps__hashcode: 'UP_2000_', application: [{ name: 'DEMO', instance: Array.from({ length: 2_000 }, (_, i) => instance(i)) }] } };
    const body = gzipSync(JSON.stringify(doc));
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(body);
    const delta = await client([]).getDelta(eureka);
    expect(delta.instances).toHaveLength(2_000);
    expect(delta.instances[1_999]?.instanceId).toBe('demo-1999:demo:8080');
  });

  test('the limits are a constructor option', async () => {
    handler = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ instance: instance(1) }));
    const results: EurekaResult[] = [];
    const error = await client(results, { bodyLimits: { get_instance: 512 } })
      .getInstance(eureka, 'DEMO', 'x')
      .catch((e: unknown) => e);
    expectRefused(error, '512 bytes');
    expect(await client([], { bodyLimits: { get_delta: 512 } }).getInstance(eureka, 'DEMO', 'x')).not.toBeNull(); // the others keep their defaults
  });

  test('a 5xx with a huge body is still "HTTP 503" and retried; only the start of its body is read', async () => {
    const sent = { bytes: 0 };
    handler = (req, res) => {
      sent.bytes = 0;
      garbage(100 * MiB, { status: 503 }, sent)(req, res);
    };
    const results: EurekaResult[] = [];
    const { growth, outcome } = await peakGrowth(() => client(results).cancel(eureka, 'DEMO', 'x'));
    expect((outcome as Error).message).toContain('answered HTTP 503: "{\\"instance\\":[');
    expect((outcome as Error).message.length).toBeLessThan(400);
    expect(results).toEqual(['server_error', 'server_error', 'server_error']);
    expect(sent.bytes).toBeLessThan(40 * MiB);
    expectSmall(growth);
  });
});
