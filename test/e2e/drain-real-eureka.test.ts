/**
 * The drain against a REAL replicating Eureka pair and a REAL Spring Boot app
 * whose own Eureka client heartbeats UP the whole time. The drainer runs as
 * the built process (dist/main.js), as it would in the pod, with
 * DRAINER_CALLER_FETCH=both: its proof is read on the delta and on the full
 * registry of each real server (the default, the delta alone, is what the
 * stack and the real-cluster tiers run).
 */
import { systemClock } from '../../src/clock';
import type { EurekaServerConfig } from '../../src/config';
import { EurekaClient } from '../../src/eureka/client';
import { startDrainer, type DrainerProcess } from './support/drainer-process';
import { pollUntil } from './support/poll';
import { assertJavaToolchain, freePort, startSpringApp, stopAll, type SpringApp } from './support/spring-app';
import type { DrainReport } from '../../src/drain/report';

jest.setTimeout(180_000);

const client = new EurekaClient({ timeoutMs: 3_000, retries: 1, clock: systemClock });
let servers: EurekaServerConfig[];
let demo: SpringApp;
let instanceId: string;
let drainer: DrainerProcess;

beforeAll(async () => {
  assertJavaToolchain();
  const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const pair = (self: string, port: number, peer: string, peerPort: number) =>
    startSpringApp({
      jar: 'eureka-server',
      host: self,
      port,
      args: [
        `--eureka.instance.hostname=${self}`,
        `--eureka.client.service-url.defaultZone=http://${peer}:${peerPort}/eureka/`,
        '--eureka.client.register-with-eureka=true',
        '--eureka.client.fetch-registry=true',
      ],
    });
  const [a, b] = await Promise.all([pair('127.0.0.2', portA, '127.0.0.3', portB), pair('127.0.0.3', portB, '127.0.0.2', portA)]);
  servers = [a, b].map((s) => ({ url: `${s.url}/eureka/`, label: `${s.url}/eureka/` }));
  demo = await startSpringApp({ jar: 'demo-service', args: [`--eureka.client.service-url.defaultZone=${servers.map((s) => s.url).join(',')}`] });
  instanceId = `127.0.0.1:demo:${demo.port}`;
  for (const server of servers) {
    await pollUntil(`demo registered on ${server.label}`, async () => ((await client.getInstance(server, 'DEMO', instanceId))?.status === 'UP' ? true : undefined));
  }
  drainer = await startDrainer({
    DRAINER_APP_NAME: 'demo',
    POD_IP: '127.0.0.1',
    SERVER_PORT: String(demo.port),
    DRAINER_EUREKA_URLS: servers.map((s) => s.url).join(','),
    EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '1000',
    EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1',
    SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '2s',
    DRAINER_TAIL_SECONDS: '1',
    DRAINER_APP_SHUTDOWN_SECONDS: '10',
    DRAINER_GRACE_PERIOD_SECONDS: '40',
    DRAINER_VERIFY_POLL_MS: '100',
    DRAINER_CALLER_FETCH: 'both',
  });
});
afterAll(async () => {
  drainer?.kill('SIGKILL');
  await stopAll();
});

test('a drain takes the instance out on every server, verifies, waits the scaled window, then cleans up', async () => {
  const started = Date.now();
  const response = await fetch(`${drainer.url}/prestop`);
  const report = (await response.json()) as DrainReport;
  const tookMs = Date.now() - started;
  expect(response.status).toBe(200);
  expect(report.outcome).toBe('verified');
  expect(report.instanceId).toBe(instanceId);
  expect(report.servers).toHaveLength(2);
  for (const s of report.servers) expect(s).toMatchObject({ put: 'ok', verified: true });
  // Waited fetch (1 s) + LB (2 s) + tail (1 s) after the last server settled, and no more than the plan. A proof
  // read one interval after the change settles its server one term after the change (timing.ts provenAt): never
  // later than the proof itself.
  for (const s of report.servers) expect(s.settledMs!).toBeLessThanOrEqual(s.cacheVerifiedMs!);
  const lastSettledMs = Math.max(...report.servers.map((s) => s.settledMs!));
  expect(report.durationMs).toBeGreaterThanOrEqual(lastSettledMs + 4_000);
  expect(report.durationMs).toBeLessThanOrEqual(report.plan.drainMs + 1_500);
  process.stdout.write(
    `real-eureka drain: ${report.durationMs} ms (plan ${report.plan.drainMs} ms; servers verified at ${report.servers
      .map((s) => `${s.cacheVerifiedMs} (settled ${s.settledMs})`)
      .join(' / ')} ms; wall ${tookMs} ms)\n`,
  );

  // Both views the callers fetch were read on each server: the proof holds for delta and full fetchers.
  const metrics = await (await fetch(`${drainer.url}/metrics`)).text();
  const successes = (operation: string): number =>
    Number(metrics.match(new RegExp(`^eureka_drainer_eureka_requests_total\\{operation="${operation}",result="success"\\} (\\d+)`, 'm'))?.[1] ?? 0);
  expect({ delta: successes('get_delta') >= 2, full: successes('get_applications') >= 2 }).toEqual({ delta: true, full: true });

  // Out on every server, and it stays out while the app keeps heartbeating UP.
  for (const server of servers) expect(await client.getInstance(server, 'DEMO', instanceId)).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
  const renewalBefore = (await client.getInstance(servers[0]!, 'DEMO', instanceId))!.lastRenewalTimestamp;
  await pollUntil('three more heartbeats', async () => ((await client.getInstance(servers[0]!, 'DEMO', instanceId))!.lastRenewalTimestamp >= renewalBefore + 3_000 ? true : undefined));
  for (const server of servers) {
    expect((await client.getInstance(server, 'DEMO', instanceId))?.status).toBe('OUT_OF_SERVICE');
    const delta = await client.getDelta(server);
    expect(delta.instances.find((i) => i.instanceId === instanceId)?.status).toBe('OUT_OF_SERVICE');
  }
  // The drainer has not deleted anything while the app heartbeats.
  expect(drainer.logs.filter((l) => l.msg === 'drain phase changed' && l.to === 'done')).toHaveLength(0);

  // The app dies without cancelling its lease (SIGKILL): the drainer cleans up on every server.
  demo.signal('SIGKILL');
  const cleaned = await drainer.waitForLog((l) => l.msg === 'drain phase changed' && l.to === 'done', 30_000);
  expect(cleaned.servers).toEqual([
    { server: servers[0]!.label, cleanup: 'deleted' },
    { server: servers[1]!.label, cleanup: 'deleted' },
  ]);
  for (const server of servers) expect(await client.getInstance(server, 'DEMO', instanceId)).toBeNull();

  // SIGTERM after the drain and clean-up: exits 0.
  drainer.kill('SIGTERM');
  expect(await drainer.exited).toBe(0);
});
