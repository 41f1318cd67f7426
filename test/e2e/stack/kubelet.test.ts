/**
 * The kubelet emulator's own rules, on small real processes (no JVM): a hung preStop, the 2 s minimum, SIGKILL at
 * the deadline, whole-second truncation, and native-sidecar ordering. The real-stack scenarios only ever see
 * hooks that return in time, so these paths are checked here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DrainerProcess } from '../support/drainer-process';
import type { SpringApp } from '../support/spring-app';
import { terminatePod } from './kubelet';

jest.setTimeout(30_000);

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A process that exits 143 on SIGTERM after `termMs`, or ignores SIGTERM when `termMs` is null. */
function spawnProc(termMs: number | null): ChildProcess {
  const script =
    termMs === null
      ? "process.on('SIGTERM', () => {}); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);"
      : `process.on('SIGTERM', () => setTimeout(() => process.exit(143), ${termMs})); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The parts of SpringApp the emulator uses, over a plain child process. */
async function fakeApp(termMs: number | null): Promise<SpringApp> {
  const child = spawnProc(termMs);
  await ready(child);
  const exit = exitOf(child);
  return {
    name: 'fake-app',
    host: '127.0.0.1',
    port: 0,
    url: 'http://127.0.0.1:0',
    pid: child.pid!,
    startupMs: 0,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    waitForExit: () => exit,
    stop: async () => {
      child.kill('SIGKILL');
      await exit;
    },
    output: () => '',
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
  };
}

async function fakeDrainer(termMs: number | null): Promise<DrainerProcess> {
  const child = spawnProc(termMs);
  await ready(child);
  return {
    child,
    port: 0,
    url: 'http://127.0.0.1:0',
    logs: [],
    stderr: () => '',
    exited: exitOf(child),
    waitForLog: () => Promise.reject(new Error('not a drainer')),
    kill: (sig = 'SIGTERM') => {
      child.kill(sig);
    },
  };
}

/** A preStop target that answers after `delayMs`, or never when null. */
async function hookServer(delayMs: number | null): Promise<{ server: Server; port: number; seen: { headers: Record<string, unknown>; method: string }[] }> {
  const seen: { headers: Record<string, unknown>; method: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ headers: req.headers, method: req.method ?? '' });
    if (delayMs !== null) setTimeout(() => res.end('{"ok":true}'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

test('hook returns in time: GET with the headers, SIGTERM to the app when it returns, classic sidecar SIGTERMed at once', async () => {
  const hook = await hookServer(1_200);
  try {
    const record = await terminatePod({
      app: await fakeApp(100),
      drainer: await fakeDrainer(50),
      sidecar: 'classic',
      appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port, headers: { 'X-Drainer-Token': 't' } },
      terminationGracePeriodSeconds: 10,
    });
    expect(hook.seen).toHaveLength(1);
    expect(hook.seen[0]).toMatchObject({ method: 'GET', headers: { 'x-drainer-token': 't' } });
    expect(record.app.hook).toMatchObject({ status: 200, body: '{"ok":true}', timedOut: false });
    expect(record.hookReturnedAt! - record.startedAt).toBeGreaterThanOrEqual(1_200);
    expect(record.appSigtermAt!).toBeGreaterThanOrEqual(record.hookReturnedAt!);
    expect(record.drainerSigtermAt! - record.startedAt).toBeLessThan(100);
    expect(record.app.stopGraceSeconds).toBe(9); // 10 − trunc(1.2 s)
    expect(record.app.exitCode).toBe(143);
    expect(record.killed).toEqual([]);
  } finally {
    hook.server.closeAllConnections();
    hook.server.close();
  }
});

test('hung hook: the kubelet stops waiting at the grace period, then SIGTERM and SIGKILL 2 s later (the minimum)', async () => {
  const hook = await hookServer(null);
  try {
    const record = await terminatePod({
      app: await fakeApp(null), // ignores SIGTERM
      appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
      terminationGracePeriodSeconds: 1,
    });
    expect(record.app.hook?.timedOut).toBe(true);
    expect(record.app.minimumGraceApplied).toBe(true);
    expect(record.app.stopGraceSeconds).toBe(2);
    expect(record.appSigtermAt! - record.startedAt).toBeGreaterThanOrEqual(1_000);
    expect(record.appSigtermAt! - record.startedAt).toBeLessThan(1_300);
    expect(record.app.sigkillAt! - record.appSigtermAt!).toBeGreaterThanOrEqual(2_000);
    expect(record.app.sigkillAt! - record.appSigtermAt!).toBeLessThan(2_300);
    expect(record.killed).toEqual(['app']);
    expect(record.app.exitCode).toBeNull(); // killed by a signal
  } finally {
    hook.server.closeAllConnections();
    hook.server.close();
  }
});

test('whole-second truncation: a 1.5 s hook costs 1 s of a 3 s grace period', async () => {
  const record = await terminatePod({
    app: await fakeApp(null),
    appPreStop: { kind: 'exec', description: 'sleep 1.5', run: () => new Promise((done) => setTimeout(done, 1_500)) },
    terminationGracePeriodSeconds: 3,
  });
  expect(record.app.stopGraceSeconds).toBe(2);
  expect(record.app.minimumGraceApplied).toBe(false);
  // SIGKILL at 1.5 + 2 = 3.5 s: past the nominal 3 s deadline, as on a real node.
  expect(record.app.sigkillAt! - record.startedAt).toBeGreaterThanOrEqual(3_500);
  expect(record.app.sigkillAt! - record.startedAt).toBeLessThan(3_900);
});

test('native sidecar: SIGTERM only after the app exited', async () => {
  const record = await terminatePod({
    app: await fakeApp(300),
    drainer: await fakeDrainer(50),
    sidecar: 'native',
    appPreStop: { kind: 'exec', description: 'sleep 0.5', run: () => new Promise((done) => setTimeout(done, 500)) },
    terminationGracePeriodSeconds: 10,
  });
  expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(record.appExitedAt!);
  expect(record.drainer!.waitedForTurnMs!).toBeGreaterThanOrEqual(700);
  expect(record.drainer!.exitCode).toBe(143);
  expect(record.killed).toEqual([]);
});
