/**
 * The TLS server with a real HTTPS client and certificates made here with the openssl CLI: reviews
 * over TLS, probes, the certificate rotated mid-test (the server presents the new one without a
 * restart), a corrupt or mismatched new pair ignored with a log line, and malformed, oversized and
 * unfinished bodies answered without harm to the next request.
 */
import { expect } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { DEFAULTS, injectWorkload } from '../../../src/inject/inject';
import { createLogLimiter } from '../../../src/http/log-limiter';
import { createLogger } from '../../../src/logger';
import { createWebhookMetrics } from '../../../src/webhook/metrics';
import { readTlsPair, startWebhookServer, type WebhookServer } from '../../../src/webhook/server';
import { admissionReview, patchOf, responseShapeProblems, workload, type AnswerReview } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
const certFile = join(dir, 'tls.crt');
const keyFile = join(dir, 'tls.key');

interface Pem {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, with its own key, subject and serial. */
function makeCert(name: string, serial: number): Pem {
  const out = join(dir, name);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${out}.key`, '-out', `${out}.crt`, '-days', '2', '-subj', `/CN=${name}`, '-set_serial', String(serial),
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'pipe' });
  const cert = readFileSync(`${out}.crt`, 'utf8');
  return { cert, key: readFileSync(`${out}.key`, 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** Replaces a file at once (write aside, rename over), as a Secret volume's symlink swap does: never a half-written file. */
function replace(file: string, content: string): void {
  writeFileSync(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly fingerprint: string;
}

/** One request on a fresh connection (agent: false), trusting only `ca`. */
function call(port: number, ca: string, options: { method?: string; path?: string; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: 'localhost', ca, agent: false, method: options.method ?? 'POST', path: options.path ?? '/inject?timeout=10s', headers: { 'content-type': 'application/json' } }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const first = makeCert('first', 1001);
const second = makeCert('second', 2002);
const third = makeCert('third', 3003);
writeFileSync(certFile, first.cert);
writeFileSync(keyFile, first.key);

/** The webhook's log, one parsed JSON line each. */
const lines: Record<string, unknown>[] = [];
const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
const registry = new Registry();
/** The log limiter's clock: still unless a test moves it, so which lines are limited never depends on the machine's speed. */
let limiterNow = 0;
let ready = true;
let webhook: WebhookServer;
let port: number;

beforeAll(async () => {
  webhook = startWebhookServer({
    tls: { certFile, keyFile },
    initial: await readTlsPair({ certFile, keyFile }),
    port: 0,
    host: '127.0.0.1',
    review: { inject: injectWorkload, defaults: DEFAULTS },
    logger,
    metrics: createWebhookMetrics(registry),
    isReady: () => ready,
    reloadIntervalMs: 50,
    bounds: { bodyLimitBytes: 64 * 1024, headersTimeoutMs: 1_000, requestTimeoutMs: 1_000, checkIntervalMs: 100 },
    logLimiter: createLogLimiter(10_000, () => limiterNow),
  });
  await new Promise<void>((resolve) => (webhook.server.listening ? resolve() : webhook.server.once('listening', () => resolve())));
  port = (webhook.server.address() as { port: number }).port;
});

afterAll(async () => {
  await webhook.close();
  rmSync(dir, { recursive: true, force: true });
});

async function counter(result: string): Promise<number> {
  const metric = await registry.getSingleMetric('eureka_drainer_webhook_reviews_total')!.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('over TLS', () => {
  test('a review on /inject is answered with the patch, and counted', async () => {
    const review = admissionReview(workload('Pod'));
    const reply = await call(port, first.cert, { body: JSON.stringify(review) });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.fingerprint).toBe(first.fingerprint);
    const body = JSON.parse(reply.body) as AnswerReview;
    expect(responseShapeProblems(body, review.request.uid)).toEqual([]);
    expect(patchOf(body)!.length).toBeGreaterThan(0);
    expect(await counter('injected')).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'injected the drainer', route: 'namespace', uid: review.request.uid, kind: 'Pod', changes: expect.arrayContaining([expect.stringMatching(/^adaptive tail not turned on: /)]) }),
    );
  });

  test('/inject-pod answers too; without the opt-in label, no patch', async () => {
    const review = admissionReview(workload('Pod'));
    const body = JSON.parse((await call(port, first.cert, { path: '/inject-pod', body: JSON.stringify(review) })).body) as AnswerReview;
    expect(body.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  test('probes, a wrong method and an unknown path', async () => {
    expect((await call(port, first.cert, { method: 'GET', path: '/healthz' })).status).toBe(200);
    expect((await call(port, first.cert, { method: 'GET', path: '/readyz' })).status).toBe(200);
    ready = false;
    expect((await call(port, first.cert, { method: 'GET', path: '/readyz' })).status).toBe(503);
    expect((await call(port, first.cert, { method: 'GET', path: '/healthz' })).status).toBe(200);
    ready = true;
    const wrong = await call(port, first.cert, { method: 'GET', path: '/inject' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect((await call(port, first.cert, { path: '/mutate' })).status).toBe(404);
  });

  test('the metrics carry every result label from the start', async () => {
    const text = await registry.metrics();
    for (const result of ['injected', 'unchanged', 'refused', 'error', 'malformed']) expect(text).toContain(`eureka_drainer_webhook_reviews_total{result="${result}"}`);
    expect(text).toContain('eureka_drainer_webhook_review_duration_seconds_bucket');
    expect(text).toContain('eureka_drainer_webhook_certificate_expiry_timestamp_seconds');
  });
});

/**
 * A TLS client that does not trust the served certificate and says so with an alert, as the apiserver
 * does when its caBundle names another CA: `openssl s_client` verifying against `ca`. Asynchronous: the
 * server runs in this process.
 */
function handshakeDistrusting(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca, '-verify_return_error'], { timeout: 10_000 }, (_error, _stdout, stderr) => resolve(stderr));
    child.stdin?.end();
  });
}

describe('failed TLS handshakes: the only trace of a caller that does not trust us', () => {
  const rejectedLines = (): Record<string, unknown>[] => lines.filter((l) => l.msg === 'TLS handshake rejected by the caller');

  test('a caller that rejects the certificate: one warn line with the peer, the reason and the hint; more within the interval are counted, not logged', async () => {
    const otherCa = join(dir, 'other-ca.crt');
    writeFileSync(otherCa, third.cert);
    const before = rejectedLines().length;
    for (let i = 0; i < 3; i++) expect(await handshakeDistrusting(port, otherCa)).toMatch(/verify error|unable to get local issuer|self.signed/i);
    await until('the warn line', async () => (rejectedLines().length > before ? true : undefined));
    // Each handshake's error is emitted before s_client exits: the two others were limited, not late.
    const added = rejectedLines().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      level: 'warn',
      component: 'webhook',
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      reason: 'tlsv1 alert unknown ca',
      code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      hint: expect.stringContaining('caBundle'),
      serving: first.fingerprint,
    });
    // The interval over: the next one is logged, with how many were left out.
    limiterNow += 10_000;
    await handshakeDistrusting(port, otherCa);
    await until('the next warn line', async () => (rejectedLines().length > before + 1 ? true : undefined));
    expect(rejectedLines().at(-1)).toMatchObject({ level: 'warn', reason: 'tlsv1 alert unknown ca', suppressed: 2 });
  });

  test('a connection closed before any handshake: warn "TLS handshake failed", limited apart from the rejections', async () => {
    const before = lines.filter((l) => l.msg === 'TLS handshake failed').length;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end());
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    await until('the warn line', async () => (lines.filter((l) => l.msg === 'TLS handshake failed').length > before ? true : undefined));
    expect(lines.filter((l) => l.msg === 'TLS handshake failed').at(-1)).toMatchObject({ level: 'warn', reason: expect.any(String), code: 'ECONNRESET', peer: expect.any(String) });
  });
});

describe('malformed, oversized and unfinished bodies', () => {
  test('not JSON: 400 with a metav1.Status, logged at warn, counted; the server goes on', async () => {
    const before = await counter('malformed');
    const reply = await call(port, first.cert, { body: '{"kind":' });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ kind: 'Status', code: 400, message: 'eureka-drainer webhook: the body is not JSON' });
    expect(await counter('malformed')).toBe(before + 1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'malformed review; allowed unchanged', reason: 'the body is not JSON' }));
  });

  test('oversized with the uid where the apiserver writes it: 200, allowed with a warning, connection closed', async () => {
    const review = admissionReview(workload('Pod'), { uid: 'c0ffee00-1234-4567-89ab-cdef01234567' });
    review.request.object!.metadata.annotations = { filler: 'x'.repeat(100 * 1024) };
    const reply = await call(port, first.cert, { body: JSON.stringify(review) });
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    const body = JSON.parse(reply.body) as AnswerReview;
    expect(responseShapeProblems(body, 'c0ffee00-1234-4567-89ab-cdef01234567')).toEqual([]);
    expect(body.response).toEqual({ uid: 'c0ffee00-1234-4567-89ab-cdef01234567', allowed: true, warnings: ['eureka-drainer: not injected: the review is larger than 65536 bytes'] });
  });

  test('oversized without a readable uid: 400', async () => {
    const reply = await call(port, first.cert, { body: Buffer.alloc(200 * 1024, 'a') });
    expect(reply.status).toBe(400);
  });

  test('a body that never finishes is cut off by requestTimeout; the next request is served', async () => {
    const closed = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, servername: 'localhost', ca: first.cert, agent: false, method: 'POST', path: '/inject', headers: { 'content-length': '1000' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(`status ${res.statusCode}`));
      });
      req.on('error', (error) => resolve(`error ${error.message}`));
      req.write('{"kind":"AdmissionReview",');
    });
    expect(closed).toMatch(/status 408|error/);
    const review = admissionReview(workload('Pod'));
    expect((await call(port, first.cert, { body: JSON.stringify(review) })).status).toBe(200);
  });

  test('a client that goes away mid-body leaves the server serving', async () => {
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, servername: 'localhost', ca: first.cert, agent: false, method: 'POST', path: '/inject', headers: { 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write('{"kind":', () => {
        req.destroy();
        resolve();
      });
    });
    expect((await call(port, first.cert, { method: 'GET', path: '/healthz' })).status).toBe(200);
  });
});

describe('certificate rotation (run last: it changes what is served)', () => {
  test('a new pair written over the files is served without a restart; the old one is gone', async () => {
    replace(certFile, second.cert);
    replace(keyFile, second.key);
    await until('the second certificate', async () => ((await call(port, second.cert, { method: 'GET', path: '/healthz' }).catch(() => undefined))?.fingerprint === second.fingerprint ? true : undefined));
    expect(webhook.current().fingerprint256).toBe(second.fingerprint);
    expect(webhook.current().subject).toBe('CN=second');
    // A client that trusts only the old certificate can no longer connect.
    await expect(call(port, first.cert, { method: 'GET', path: '/healthz' })).rejects.toThrow(/self-signed|certificate/i);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'serving a new TLS certificate', subject: 'CN=second', serialNumber: '07D2' }));
    const review = admissionReview(workload('Pod'));
    expect((await call(port, second.cert, { body: JSON.stringify(review) })).status).toBe(200);
  });

  test('a corrupt certificate: the previous pair is kept and the rejection logged once', async () => {
    const warnsBefore = lines.filter((l) => l.msg === 'cannot use the new TLS certificate and key; still serving the previous pair').length;
    replace(certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await webhook.reload();
    await webhook.reload();
    const reply = await call(port, second.cert, { method: 'GET', path: '/healthz' });
    expect(reply.fingerprint).toBe(second.fingerprint);
    expect(webhook.current().fingerprint256).toBe(second.fingerprint);
    const warns = lines.filter((l) => l.msg === 'cannot use the new TLS certificate and key; still serving the previous pair');
    expect(warns.length).toBe(warnsBefore + 1);
    expect(warns.at(-1)).toMatchObject({ level: 'warn', serving: second.fingerprint });
  });

  test('a certificate whose key does not match: kept the previous pair too', async () => {
    replace(certFile, third.cert);
    replace(keyFile, second.key);
    await webhook.reload();
    expect((await call(port, second.cert, { method: 'GET', path: '/healthz' })).fingerprint).toBe(second.fingerprint);
    const rejected = (await registry.getSingleMetric('eureka_drainer_webhook_certificate_loads_total')!.get()).values.find((v) => v.labels.result === 'rejected')!.value;
    expect(rejected).toBeGreaterThanOrEqual(2);
  });

  test('then the matching key arrives: the third pair is served', async () => {
    replace(keyFile, third.key);
    await until('the third certificate', async () => ((await call(port, third.cert, { method: 'GET', path: '/healthz' }).catch(() => undefined))?.fingerprint === third.fingerprint ? true : undefined));
    expect(webhook.current().subject).toBe('CN=third');
  });

  test('a reload asked while a read is in progress reads again after it: it sees what was written before it was asked', async () => {
    for (const pair of [second, third, second, third, second, third]) {
      const inProgress = webhook.reload(); // the timer's read, say, which may read the files before they change
      replace(certFile, pair.cert);
      replace(keyFile, pair.key);
      await webhook.reload();
      expect(webhook.current().fingerprint256).toBe(pair.fingerprint);
      await inProgress;
    }
  });
});
