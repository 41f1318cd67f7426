/**
 * The built process (dist/main.js) with real signals, against a REAL Eureka
 * server. The "app" is a port plus a lease heartbeated like the Java client
 * does, so the test decides exactly when the app is gone.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { EurekaServerConfig } from '../../src/config';
import { startDrainer, type DrainerProcess } from './support/drainer-process';
import { HeartbeatingApp } from './support/fake-app';
import { pollUntil } from './support/poll';
import { assertJavaToolchain, freePort, startSpringApp, stopAll } from './support/spring-app';

jest.setTimeout(120_000);

const MAIN = resolve(__dirname, '..', '..', 'dist', 'main.js');
let server: EurekaServerConfig;
const drainers: DrainerProcess[] = [];
const apps: HeartbeatingApp[] = [];

beforeAll(async () => {
  assertJavaToolchain();
  const eureka = await startSpringApp({ jar: 'eureka-server' });
  server = { url: `${eureka.url}/eureka/`, label: `${eureka.url}/eureka/` };
});
afterAll(async () => {
  for (const d of drainers) d.kill('SIGKILL');
  for (const a of apps) await a.stop();
  await stopAll();
});

async function appAndDrainer(env: Record<string, string> = {}): Promise<{ app: HeartbeatingApp; drainer: DrainerProcess }> {
  const app = new HeartbeatingApp([server], '127.0.0.1', await freePort());
  apps.push(app);
  await app.listen();
  await app.register();
  app.startHeartbeats(1_000);
  const drainer = await startDrainer({
    DRAINER_APP_NAME: 'demo',
    POD_IP: '127.0.0.1',
    SERVER_PORT: String(app.port),
    DRAINER_EUREKA_URLS: server.url,
    EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '1000',
    EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '1',
    DRAINER_LOAD_BALANCER: 'none',
    DRAINER_TAIL_SECONDS: '0.5',
    DRAINER_APP_SHUTDOWN_SECONDS: '3',
    DRAINER_GRACE_PERIOD_SECONDS: '30',
    DRAINER_VERIFY_POLL_MS: '100',
    DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '1',
    ...env,
  });
  drainers.push(drainer);
  return { app, drainer };
}

type Report = { outcome: string; durationMs: number; plan: { drainMs: number }; servers: { cacheVerifiedMs: number; settledMs: number }[] };

test('idle SIGTERM and no /prestop: waits briefly, cleans up once the app is gone, exits 0', async () => {
  const { app, drainer } = await appAndDrainer();
  drainer.kill('SIGTERM');
  await drainer.waitForLog((l) => l.msg === 'no /prestop call: cleaning up once the app is gone');
  // Still serving while the app runs.
  expect((await fetch(`${drainer.url}/healthz`)).status).toBe(200);
  await app.stop(); // killed: no heartbeats, lease left behind
  expect(await drainer.exited).toBe(0);
  expect(drainer.logs.find((l) => l.msg === 'drain phase changed' && l.to === 'done')?.servers).toEqual([{ server: server.label, cleanup: 'deleted' }]);
  expect(await app.eureka.getInstance(server, 'DEMO', app.instanceId)).toBeNull();
});

test('SIGTERM just before /prestop: the drain still runs in full', async () => {
  const { app, drainer } = await appAndDrainer();
  drainer.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300)); // the kubelet's hook call lands a moment later
  const response = await fetch(`${drainer.url}/prestop`);
  const report = (await response.json()) as Report;
  expect(response.status).toBe(200);
  expect(report.outcome).toBe('verified');
  // fetch (1 s) + tail (0.5 s) after the server settled (never after its proof): nothing was cut short by the signal.
  expect(report.servers[0]!.settledMs).toBeLessThanOrEqual(report.servers[0]!.cacheVerifiedMs);
  expect(report.durationMs).toBeGreaterThanOrEqual(report.servers[0]!.settledMs + 1_500);
  expect((await app.eureka.getInstance(server, 'DEMO', app.instanceId))?.status).toBe('OUT_OF_SERVICE');
  await app.stop();
  expect(await drainer.exited).toBe(0);
});

test('SIGTERM during a drain: the drain finishes, /metrics keeps answering, then exit 0', async () => {
  const { app, drainer } = await appAndDrainer();
  const pending = fetch(`${drainer.url}/prestop`).then(async (r) => ({ status: r.status, report: (await r.json()) as Report }));
  await drainer.waitForLog((l) => l.msg === 'drain phase changed' && l.to === 'verifying');
  drainer.kill('SIGTERM');
  await drainer.waitForLog((l) => l.msg === 'SIGTERM during a drain: finishing the drain and the clean-up first');
  const metrics = await fetch(`${drainer.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toMatch(/eureka_drainer_drain_phase\{phase="(verifying|waiting_clients|waiting_tail)"\} 1/);
  const { status, report } = await pending;
  expect(status).toBe(200);
  expect(report.outcome).toBe('verified');
  expect(drainer.child.exitCode).toBeNull(); // still alive: the app has not gone yet
  app.stopHeartbeats();
  await app.closePort();
  await app.eureka.cancel(server, 'DEMO', app.instanceId); // a Spring app cancels its own lease at the end
  expect(await drainer.exited).toBe(0);
});

test('a second SIGTERM is logged, not fatal', async () => {
  const { app, drainer } = await appAndDrainer();
  const pending = fetch(`${drainer.url}/prestop`).then((r) => r.json() as Promise<Report>);
  await drainer.waitForLog((l) => l.msg === 'drain phase changed' && l.to === 'verifying');
  drainer.kill('SIGTERM');
  // Standard signals do not queue: send the second once the first was handled.
  await drainer.waitForLog((l) => l.msg === 'termination signal received');
  drainer.kill('SIGTERM');
  await drainer.waitForLog((l) => l.msg === 'signal received again; still finishing the drain');
  expect((await pending).outcome).toBe('verified');
  await app.stop();
  expect(await drainer.exited).toBe(0);
});

test('native sidecar: SIGTERM after the app exited cleans up and exits 0', async () => {
  const { app, drainer } = await appAndDrainer();
  const report = (await (await fetch(`${drainer.url}/prestop`)).json()) as Report;
  expect(report.outcome).toBe('verified');
  await app.stop();
  await pollUntil('clean-up done', async () => (drainer.logs.some((l) => l.msg === 'drain phase changed' && l.to === 'done') ? true : undefined));
  drainer.kill('SIGTERM');
  expect(await drainer.exited).toBe(0);
});

test('bad configuration: exit 2 and every bad variable named', () => {
  const result = spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DRAINER_PORT: 'eighty', DRAINER_GRACE_PERIOD_SECONDS: '-5', DRAINER_APP_NAME: 'demo', POD_IP: '127.0.0.1', DRAINER_EUREKA_URLS: 'http://127.0.0.1:1/eureka/' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('DRAINER_PORT must be an integer from 0 to 65535, got "eighty"');
  expect(result.stderr).toContain('DRAINER_GRACE_PERIOD_SECONDS must be an integer from 1 to 86400, got "-5"');
});

test('CLI: --version, --help, plan exit codes', () => {
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  expect(run(['--help']).stdout).toContain('eureka-drainer plan');
  const tooShort = run(['plan']);
  expect(tooShort.status).toBe(1);
  expect(tooShort.stdout).toContain('does not fit');
  const fits = run(['plan', '--json'], { DRAINER_GRACE_PERIOD_SECONDS: '150' });
  expect(fits.status).toBe(0);
  expect(JSON.parse(fits.stdout)).toMatchObject({ selectSeconds: 95.5, fits: true }); // the 30 s cache counts its tick slack: 30.5 + 30 + 35
  expect(run(['frobnicate']).status).toBe(2);
});
