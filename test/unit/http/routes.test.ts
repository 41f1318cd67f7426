import { expect } from '@jest/globals';
import { get } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from '../../../src/http/routes';
import { createMetrics } from '../../../src/metrics';
import type { AbortAnswer, DrainReport } from '../../../src/drain/controller';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';
import { bodyOf, type ErrorBody } from '../../helpers/json-body';

/** GET /drain's answer (DrainController.snapshot and the plan), the parts read here. */
interface DrainView {
  readonly phase: string;
  readonly servers: readonly unknown[];
  readonly remainingMs: number;
  readonly plan: { readonly drainSeconds: number };
}

const TOKEN = 'a-token-of-sufficient-length';

function appFixture(env: Record<string, string> = {}) {
  const f = controllerFixture({ DRAINER_TOKEN: TOKEN, ...env });
  f.eureka.register({ instanceId: INSTANCE_ID });
  const httpRegistry = new Registry();
  const app = createApp({ config: f.config, plan: f.plan, controller: f.controller, registry: f.registry, metrics: createMetrics(httpRegistry), logger: f.logger });
  return { ...f, app, httpRegistry };
}

/** A kubelet-like GET from a chosen local address (any 127/8 address is loopback on Linux): its status and body. */
function getFrom(localAddress: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, localAddress, headers: { 'User-Agent': 'kube-lifecycle/1.37' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function refusals(registry: Registry, result: 'forbidden' | 'unauthorized'): Promise<number> {
  const metric = await registry.getSingleMetric('eureka_drainer_prestop_requests_total')!.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('HTTP surface', () => {
  test('/prestop without the token is refused and changes nothing', async () => {
    const f = appFixture();
    const res = await request(f.app).get('/prestop');
    expect(res.status).toBe(401);
    expect(bodyOf<ErrorBody>(res).error).toBe('unauthorized');
    expect(f.eureka.calls).toHaveLength(0);
    expect(f.controller.currentPhase).toBe('idle');
  });

  test('/prestop from a source outside the allow-list is refused', async () => {
    const f = appFixture({ DRAINER_ALLOWED_SOURCES: '10.9.9.9' });
    const res = await request(f.app).get('/prestop').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(403);
    expect(f.eureka.calls).toHaveLength(0);
  });

  // RFC 7235: the auth scheme is case-insensitive, and 1*SP separates it from the credentials.
  test.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('the Authorization scheme %s is accepted', async (scheme) => {
    const f = appFixture();
    const res = await request(f.app).post('/drain/abort').set('Authorization', `${scheme} ${TOKEN}`);
    expect(res.status).toBe(409);
  });

  test.each([`Bearer    ${TOKEN}`, `bearer\t${TOKEN}`, `BEARER \t ${TOKEN}`])('extra spaces between scheme and token are tolerated: %j', async (header) => {
    const f = appFixture();
    const res = await request(f.app).post('/drain/abort').set('Authorization', header);
    expect(res.status).toBe(409);
  });

  test.each([`Bearer${TOKEN}`, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN} extra`, 'Bearer ', `X ${TOKEN}`])(
    'a wrong Authorization header is refused: %j',
    async (header) => {
      const f = appFixture();
      const res = await request(f.app).post('/drain/abort').set('Authorization', header);
      expect(res.status).toBe(401);
    },
  );

  test('refusals write one log line per kind per 10 s, then the suppressed count; the metric counts every refusal', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const f = appFixture({ DRAINER_ALLOWED_SOURCES: '10.9.9.9' });
      const forbiddenLines = () => f.lines.filter((l) => String(l.msg).startsWith('refused a call from a source'));
      for (let i = 0; i < 30; i++) expect((await request(f.app).get('/prestop').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(403);
      expect(forbiddenLines()).toHaveLength(1);
      expect(forbiddenLines()[0]).not.toHaveProperty('suppressed');
      now += 9_000;
      await request(f.app).post('/prestop');
      expect(forbiddenLines()).toHaveLength(1);
      now += 1_000;
      await request(f.app).post('/drain/abort');
      expect(forbiddenLines()).toHaveLength(2);
      expect(forbiddenLines()[1]).toMatchObject({ suppressed: 30, level: 'warn' });
      expect(await refusals(f.httpRegistry, 'forbidden')).toBe(32);
      expect(f.eureka.calls).toHaveLength(0);
    } finally {
      spy.mockRestore();
    }
  });

  test('401s are limited separately from 403s', async () => {
    const f = appFixture();
    for (let i = 0; i < 20; i++) expect((await request(f.app).get('/prestop').set('Authorization', 'Bearer wrong')).status).toBe(401);
    expect(f.lines.filter((l) => String(l.msg).startsWith('refused a call without a valid token'))).toHaveLength(1);
    expect(await refusals(f.httpRegistry, 'unauthorized')).toBe(20);
  });

  test('50 concurrent /prestop calls (GET and POST) get one drain and one set of Eureka calls', async () => {
    const f = appFixture();
    const calls = Array.from({ length: 50 }, (_, i) => {
      const req = i % 2 === 0 ? request(f.app).get('/prestop') : request(f.app).post('/prestop');
      return req.set('X-Drainer-Token', TOKEN).then((r) => r);
    });
    // Let all 50 requests reach the controller, then run the drain's clock.
    const all = Promise.all(calls);
    const responses = await f.clock.run(all);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => bodyOf<DrainReport>(r).startedAt)).size).toBe(1);
    expect(bodyOf<DrainReport>(responses[0]!).outcome).toBe('verified');
    expect(f.eureka.count('put_status')).toBe(2);
  });

  test('/drain shows the phase and per-server state while a drain runs', async () => {
    const f = appFixture();
    const drain = f.controller.prestop();
    await f.clock.advance(32_000); // past the proof read (one 30 s cache interval + 500 ms after the PUT)
    const res = await request(f.app).get('/drain');
    expect(res.status).toBe(200);
    const view = bodyOf<DrainView>(res);
    expect(view.phase).toBe('waiting_clients');
    expect(view.servers).toHaveLength(2);
    expect(view.remainingMs).toBeGreaterThan(0);
    expect(view.plan.drainSeconds).toBe(f.plan.drainMs / 1000);
    await f.clock.run(drain);
  });

  test('/plan, /healthz, /readyz and /metrics answer', async () => {
    const f = appFixture();
    expect((await request(f.app).get('/plan')).body).toMatchObject({ selectSeconds: 95.5, fits: expect.any(Boolean) });
    expect((await request(f.app).get('/healthz')).status).toBe(200);
    expect((await request(f.app).get('/readyz')).status).toBe(200);
    const metrics = await request(f.app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain('eureka_drainer_drain_phase{phase="idle"} 1');
  });

  test('/drain/abort with nothing running is a 409 with the reason', async () => {
    const f = appFixture();
    const res = await request(f.app).post('/drain/abort').set('X-Drainer-Token', TOKEN);
    expect(res.status).toBe(409);
    expect(bodyOf<AbortAnswer>(res).reason).toBe('no drain is running');
  });

  test('unknown paths and wrong methods get JSON errors', async () => {
    const f = appFixture();
    const missing = await request(f.app).get('/nope');
    expect(missing.status).toBe(404);
    expect(bodyOf<ErrorBody>(missing).error).toBe('not_found');
    const wrong = await request(f.app).delete('/prestop');
    expect(wrong.status).toBe(405);
    expect(bodyOf<ErrorBody>(wrong).error).toBe('method_not_allowed');
  });

  test('request bodies are capped', async () => {
    const f = appFixture();
    const res = await request(f.app).post('/prestop').set('X-Drainer-Token', TOKEN).send('x'.repeat(5_000));
    expect(res.status).toBe(413);
    expect(f.eureka.calls).toHaveLength(0);
  });
});

describe('a refused preStop from the kubelet (issue 9: a token mismatch must not silently skip the drain)', () => {
  test('is logged at error with what to fix, counted, and with the kubelet’s SIGTERM the drain runs anyway', async () => {
    const f = appFixture();
    const res = await request(f.app).get('/prestop').set('User-Agent', 'kube-lifecycle/1.33').set('X-Drainer-Token', 'the-old-token-nobody-updated');
    expect(res.status).toBe(401);
    const line = f.lines.find((l) => l.level === 'error' && String(l.msg).includes("the kubelet's preStop call was refused"));
    expect(line?.msg).toContain('WITHOUT a drain');
    const refused = await f.httpRegistry.getSingleMetric('eureka_drainer_kubelet_hook_refused_total')!.get();
    expect(refused.values.find((v) => v.labels.reason === 'unauthorized')?.value).toBe(1);
    expect(f.controller.currentPhase).toBe('idle'); // a refused call alone changes nothing
    void f.controller.terminate(); // the kubelet sends SIGTERM right away
    expect(f.controller.currentPhase).toBe('locating');
    await f.clock.advance(2_000);
    expect(f.eureka.count('put_status')).toBe(2);
    // The report says the app was not held: never "verified".
    const report = await f.clock.run(f.controller.prestop().catch(() => undefined));
    expect(report).toMatchObject({ outcome: 'cut_short', problems: expect.arrayContaining([expect.stringContaining('nothing held the app')]) });
  });

  // Issue 20 bug 3: no token, NODE_IP set and no default route in the pod, and the kubelet calls from another
  // node-side address. Here that caller is 127.0.0.2: loopback to the test, but not an address the list holds.
  test('a refused source says who called, why, and the exact setting that admits it; rate-limited like every refusal', async () => {
    const f = appFixture({ DRAINER_TOKEN: '', NODE_IP: '192.0.2.7' });
    expect(f.config.token).toBeUndefined();
    const server = f.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await getFrom('127.0.0.2', port, '/prestop'));
      expect(answers.map((a) => a.status)).toEqual([403, 403, 403]);
      // The caller learns nothing of the list; the log does.
      expect(answers[0]!.body).not.toContain('192.0.2.7');
      const kubeletLines = f.lines.filter((l) => l.level === 'error' && String(l.msg).includes("the kubelet's preStop call was refused"));
      expect(kubeletLines).toHaveLength(1);
      expect(kubeletLines[0]).toMatchObject({
        source: '127.0.0.2',
        why: expect.stringContaining('127.0.0.2 is not loopback, NODE_IP (192.0.2.7) or a default gateway of the pod (none: the pod has no default route)'),
        admitWith: ['DRAINER_ALLOWED_SOURCES=127.0.0.1,::1,192.0.2.7,127.0.0.2/32', expect.stringMatching(/^DRAINER_TOKEN=/)],
      });
      const plainLines = f.lines.filter((l) => String(l.msg).startsWith('refused a call from a source'));
      expect(plainLines).toHaveLength(1);
      expect(plainLines[0]).toMatchObject({ source: '127.0.0.2', admitWith: kubeletLines[0]!.admitWith });
    } finally {
      server.close();
    }
  });

  test('a refused call that is not the kubelet’s is a plain refusal: SIGTERM still waits for /prestop', async () => {
    const f = appFixture();
    await request(f.app).get('/prestop').set('User-Agent', 'curl/8').set('X-Drainer-Token', 'wrong');
    void f.controller.terminate();
    expect(f.controller.currentPhase).toBe('idle');
    expect(f.lines.some((l) => l.level === 'error')).toBe(false);
  });
});
