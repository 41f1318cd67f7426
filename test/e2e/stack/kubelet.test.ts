/**
 * The kubelet emulator's own rules, on small real processes (no JVM): a hung preStop, the 2 s minimum, SIGKILL at
 * the deadline, whole-second truncation, a non-2xx hook answer (ignored, R3), hook calls from the node address,
 * native-sidecar ordering (the turn starts when the app's kill completed; several sidecars in reverse order),
 * and what the built drainer answers a refused trigger. The real-stack scenarios only ever see hooks that return
 * in time, so these paths are checked here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDrainer, type DrainerProcess } from '../support/drainer-process';
import type { SpringApp } from '../support/spring-app';
import { childProcess, terminatePod, type DeleteEvent } from './kubelet';

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

/** A preStop target that answers `status` after `delayMs`, or never when null; records the peer address. */
async function hookServer(
  delayMs: number | null,
  options: { status?: number; host?: string } = {},
): Promise<{ server: Server; port: number; seen: { headers: Record<string, unknown>; method: string; peer: string }[] }> {
  const seen: { headers: Record<string, unknown>; method: string; peer: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ headers: req.headers, method: req.method ?? '', peer: req.socket.remoteAddress ?? '' });
    res.statusCode = options.status ?? 200;
    if (delayMs !== null) setTimeout(() => res.end('{"ok":true}'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

function closeHook(hook: { server: Server }): void {
  hook.server.closeAllConnections();
  hook.server.close();
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

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

test.each([401, 403, 500])('a %i from the hook is ignored like the kubelet does: recorded, no throw, SIGTERM at once (R3)', async (status) => {
  const hook = await hookServer(200, { status });
  try {
    const record = await terminatePod({
      app: await fakeApp(100),
      appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
      terminationGracePeriodSeconds: 10,
    });
    expect(record.app.hook).toMatchObject({ status, timedOut: false });
    expect(record.app.hook?.error).toBeUndefined(); // not a transport error: no FailedPreStopHook event either
    expect(record.appSigtermAt! - record.hookReturnedAt!).toBeLessThan(50);
    expect(record.app.exitCode).toBe(143);
  } finally {
    closeHook(hook);
  }
});

test('a refused hook (nothing listening) is a transport error: recorded, SIGTERM at once', async () => {
  const hook = await hookServer(0);
  const port = hook.port;
  closeHook(hook);
  const record = await terminatePod({ app: await fakeApp(50), appPreStop: { kind: 'httpGet', path: '/prestop', port }, terminationGracePeriodSeconds: 10 });
  expect(record.app.hook?.error).toMatch(/ECONNREFUSED/);
  expect(record.app.hook?.status).toBeUndefined();
  expect(record.appSigtermAt! - record.startedAt).toBeLessThan(200);
});

test('hook calls go to the pod IP and come from the node address (R3): IPv4 aliases and ::1', async () => {
  const v4 = await hookServer(0, { host: '127.0.0.4' });
  const v6 = await hookServer(0, { host: '::1' });
  try {
    const a = await terminatePod({ app: await fakeApp(10), appPreStop: { kind: 'httpGet', path: '/prestop', port: v4.port }, podIp: '127.0.0.4', nodeIp: '127.0.0.5', terminationGracePeriodSeconds: 5 });
    expect(a.app.hook).toMatchObject({ status: 200, description: `httpGet http://127.0.0.4:${v4.port}/prestop` });
    expect(v4.seen[0]?.peer).toBe('127.0.0.5');
    const b = await terminatePod({ app: await fakeApp(10), appPreStop: { kind: 'httpGet', path: '/prestop', port: v6.port }, podIp: '::1', nodeIp: '::1', terminationGracePeriodSeconds: 5 });
    expect(b.app.hook).toMatchObject({ status: 200, description: `httpGet http://[::1]:${v6.port}/prestop` });
    expect(v6.seen[0]?.peer).toBe('::1');
  } finally {
    closeHook(v4);
    closeHook(v6);
  }
});

test('native sidecar: its turn starts when the app kill COMPLETED (hook returned, container stopped), not when the app process exited (R5)', async () => {
  // The app exits by itself 300 ms in (e.g. DRAINER_APP_EXIT=http) while its hook still runs until 1.5 s.
  const app = spawnProc(0);
  await ready(app);
  const record = await terminatePod({
    app: childProcess(app),
    drainer: await fakeDrainer(50),
    sidecar: 'native',
    appPreStop: {
      kind: 'exec',
      description: 'app exits by itself at 0.3 s, hook returns at 1.5 s',
      run: async () => {
        await sleep(300);
        app.kill('SIGTERM'); // exits 0 ms later: on its own, as far as the kubelet knows
        await sleep(1_200);
      },
    },
    terminationGracePeriodSeconds: 10,
  });
  expect(record.app.exitedAt! - record.startedAt).toBeLessThan(800);
  expect(record.app.exitedBeforeSigterm).toBe(true);
  expect(record.hookReturnedAt! - record.startedAt).toBeGreaterThanOrEqual(1_500);
  // Not released by the app's exit: only once its kill completed, after the hook.
  expect(record.drainer!.turnAt!).toBeGreaterThanOrEqual(record.app.completedAt!);
  expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(record.hookReturnedAt!);
  expect(record.drainerSigtermAt! - record.app.exitedAt!).toBeGreaterThanOrEqual(1_000);
  expect(record.killed).toEqual([]);
});

test('native sidecars stop in reverse declaration order, each after the app and every later sidecar (R5)', async () => {
  // initContainers: mesh-proxy (first: starts first, stops last), eureka-drainer, log-shipper.
  const proxy = spawnProc(200);
  const shipper = spawnProc(300);
  await Promise.all([ready(proxy), ready(shipper)]);
  const record = await terminatePod({
    app: await fakeApp(200),
    drainer: await fakeDrainer(400),
    sidecar: 'native',
    otherSidecars: [
      { name: 'mesh-proxy', process: childProcess(proxy), declared: 'before-drainer' },
      { name: 'log-shipper', process: childProcess(shipper), declared: 'after-drainer' },
    ],
    appPreStop: { kind: 'exec', description: 'sleep 0.5', run: () => sleep(500) },
    terminationGracePeriodSeconds: 10,
  });
  const shipperRec = record.others['log-shipper']!;
  const proxyRec = record.others['mesh-proxy']!;
  expect(shipperRec.sigtermAt!).toBeGreaterThanOrEqual(record.app.completedAt!);
  expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(shipperRec.completedAt!);
  expect(proxyRec.sigtermAt!).toBeGreaterThanOrEqual(record.drainer!.completedAt!);
  // The proxy (the drainer's way to Eureka in a mesh) outlives the drainer.
  expect(proxyRec.exitedAt!).toBeGreaterThan(record.drainerExitedAt!);
  expect(record.killed).toEqual([]);
});

test('classic sidecars: no ordering, every container SIGTERMed at the start (R1), each after its own hook only', async () => {
  const proxy = spawnProc(100);
  await ready(proxy);
  const record = await terminatePod({
    app: await fakeApp(100),
    drainer: await fakeDrainer(50),
    sidecar: 'classic',
    otherSidecars: [{ name: 'mesh-proxy', process: childProcess(proxy), declared: 'before-drainer' }],
    appPreStop: { kind: 'exec', description: 'sleep 0.8', run: () => sleep(800) },
    drainerPreStop: { kind: 'exec', description: 'sleep 0.4', run: () => sleep(400) },
    terminationGracePeriodSeconds: 10,
  });
  expect(record.others['mesh-proxy']!.sigtermAt! - record.startedAt).toBeLessThan(100);
  // Both hooks ran concurrently; the drainer's SIGTERM waited for its own hook only.
  expect(record.drainer!.hook!.startedAt - record.app.hook!.startedAt).toBeLessThan(50);
  expect(record.drainerSigtermAt!).toBeGreaterThanOrEqual(record.drainer!.hook!.returnedAt!);
  expect(record.drainerSigtermAt!).toBeLessThan(record.hookReturnedAt!);
  expect(record.appSigtermAt!).toBeGreaterThanOrEqual(record.hookReturnedAt!);
});

/** GET/POST through a socket bound to `from`, like the kubelet's call from the node. */
function call(url: string, from: string, method: 'GET' | 'POST', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, localAddress: from, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a shorter effective grace period (R9) and a mid-way shrink (R10)', () => {
  const near = (value: number, expected: number, slack = 350): void => {
    expect(value).toBeGreaterThanOrEqual(expected - 20);
    expect(value).toBeLessThan(expected + slack);
  };

  test('R9 kubectl delete --grace-period=3 on a 30 s pod: the API records it, the hung hook is cut at 3 s, SIGKILL 2 s later; the classic sidecar is SIGKILLed at 3 s', async () => {
    const hook = await hookServer(null);
    const deletes: DeleteEvent[] = [];
    try {
      const record = await terminatePod({
        app: await fakeApp(null),
        drainer: await fakeDrainer(null), // a drainer still draining: ignores SIGTERM
        sidecar: 'classic',
        appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
        terminationGracePeriodSeconds: 30,
        effectiveGrace: { seconds: 3, via: 'delete' },
        onDelete: (e) => deletes.push(e),
      });
      expect(record.effectiveGraceSeconds).toBe(3);
      expect(deletes).toEqual([{ kind: 'delete', at: record.startedAt, graceSeconds: 3, deletionTimestamp: record.startedAt + 3_000 }]);
      expect(record.app.hook?.timedOut).toBe(true);
      near(record.appSigtermAt! - record.startedAt, 3_000);
      expect(record.app.stopGraceSeconds).toBe(2);
      near(record.app.sigkillAt! - record.startedAt, 5_000);
      near(record.drainerSigtermAt! - record.startedAt, 0, 100);
      near(record.drainer!.sigkillAt! - record.startedAt, 3_000);
      expect(record.killed.sort()).toEqual(['app', 'drainer']);
    } finally {
      closeHook(hook);
    }
  });

  test('R9 node-pressure eviction (hard threshold, 1 s): nothing written to the API, hook bounded by 1 s, SIGKILL 2 s after SIGTERM', async () => {
    const hook = await hookServer(null);
    const deletes: DeleteEvent[] = [];
    try {
      const record = await terminatePod({
        app: await fakeApp(null),
        appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
        terminationGracePeriodSeconds: 30,
        effectiveGrace: { seconds: 1, via: 'node-pressure' },
        onDelete: (e) => deletes.push(e),
      });
      expect(deletes).toEqual([]);
      near(record.appSigtermAt! - record.startedAt, 1_000);
      near(record.app.sigkillAt! - record.startedAt, 3_000);
    } finally {
      closeHook(hook);
    }
  });

  test('R10 a second delete (30 → 4 s) while the hook blocks: the API moves deletionTimestamp back, the running hook is not cut, its StopContainer is; the kill runs again (hook again, then the NEW grace)', async () => {
    const hook = await hookServer(1_500);
    const deletes: DeleteEvent[] = [];
    try {
      const record = await terminatePod({
        app: await fakeApp(null),
        appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
        terminationGracePeriodSeconds: 30,
        shrink: { afterMs: 500, seconds: 4 },
        onDelete: (e) => deletes.push(e),
      });
      expect(deletes.map((d) => [d.kind, d.graceSeconds, d.deletionTimestamp - record.startedAt])).toEqual([
        ['delete', 30, 30_000],
        ['shrink', 4, 4_000], // BeforeDelete: old timestamp − 30 s + 4 s
      ]);
      near(record.shrunkAt! - record.startedAt, 500);
      // The first hook ran to its end (1.5 s); its StopContainer was cancelled: no SIGTERM from the first kill.
      expect(record.app.hook?.timedOut).toBe(false);
      near(record.app.hook!.returnedAt! - record.startedAt, 1_500);
      expect(record.app.stopCancelled).toBe(true);
      expect(record.app.sigtermAt).toBeUndefined();
      // The second kill: the hook again (another GET), then StopContainer(4 − 1 s of hook = 3 s).
      expect(hook.seen).toHaveLength(2);
      near(record.killAgainAt! - record.startedAt, 1_500);
      near(record.app.again!.hook!.startedAt - record.startedAt, 1_500);
      near(record.app.again!.sigtermAt! - record.startedAt, 3_000);
      expect(record.app.again!.stopGraceSeconds).toBe(3);
      near(record.app.again!.sigkillAt! - record.startedAt, 6_000);
      expect(record.killed).toEqual(['app']);
    } finally {
      closeHook(hook);
    }
  });

  test('R10 a shrink while the app is already stopping: the first StopContainer is abandoned (no SIGKILL from it), the second stops it with the new grace', async () => {
    const hook = await hookServer(200);
    try {
      const record = await terminatePod({
        app: await fakeApp(null),
        appPreStop: { kind: 'httpGet', path: '/prestop', port: hook.port },
        terminationGracePeriodSeconds: 30,
        shrink: { afterMs: 1_000, seconds: 3 },
      });
      near(record.appSigtermAt! - record.startedAt, 200);
      expect(record.app.stopCancelled).toBe(true);
      expect(record.app.sigkillAt).toBeUndefined();
      near(record.killAgainAt! - record.startedAt, 1_000);
      near(record.app.again!.sigtermAt! - record.startedAt, 1_200);
      expect(record.app.again!.stopGraceSeconds).toBe(3);
      near(record.app.again!.sigkillAt! - record.startedAt, 4_200);
    } finally {
      closeHook(hook);
    }
  });

  test('R10 a shrink to less than has already passed: deletionTimestamp = now and 1 s (BeforeDelete)', async () => {
    const deletes: DeleteEvent[] = [];
    const record = await terminatePod({
      app: await fakeApp(null),
      appPreStop: { kind: 'exec', description: 'sleep 2.2', run: () => sleep(2_200) },
      terminationGracePeriodSeconds: 30,
      shrink: { afterMs: 1_500, seconds: 1 },
      onDelete: (e) => deletes.push(e),
    });
    expect(deletes[1]!.graceSeconds).toBe(1);
    near(deletes[1]!.deletionTimestamp - record.startedAt, 1_500);
    expect(record.shrunkToSeconds).toBe(1);
    // The second kill: the hook again with 1 s (cut), then the 2 s minimum.
    expect(record.app.again!.hook!.timedOut).toBe(true);
    expect(record.app.again!.stopGraceSeconds).toBe(2);
    near(record.app.again!.sigkillAt! - record.startedAt, 2_200 + 1_000 + 2_000);
  });

  test('a grace period can only shrink', async () => {
    await expect(terminatePod({ app: await fakeApp(0), terminationGracePeriodSeconds: 5, shrink: { afterMs: 1, seconds: 5 } })).rejects.toThrow(/only get shorter/);
  });
});

describe('the built drainer behind the emulator (no Eureka needed: nothing may start)', () => {
  const base = {
    DRAINER_APP_NAME: 'demo',
    DRAINER_APP_PORT: '1',
    DRAINER_EUREKA_URLS: 'http://127.0.0.1:9/eureka/',
    DRAINER_GRACE_PERIOD_SECONDS: '30',
    DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '1',
    DRAINER_LOG_LEVEL: 'info',
  };

  test('a preStop without the token gets 401: the kubelet goes on to SIGTERM at once, the drainer started no drain', async () => {
    const drainer = await startDrainer({ ...base, POD_IP: '127.0.0.1', DRAINER_TOKEN: 'the-right-token-0123456789' });
    try {
      const record = await terminatePod({
        app: await fakeApp(50),
        appPreStop: { kind: 'httpGet', path: '/prestop', port: drainer.port, headers: { 'X-Drainer-Token': 'a-wrong-token-0123456789' } },
        terminationGracePeriodSeconds: 30,
      });
      expect(record.app.hook?.status).toBe(401);
      expect(record.appSigtermAt! - record.hookReturnedAt!).toBeLessThan(50);
      await drainer.waitForLog((l) => l.msg === 'refused a call without a valid token');
      const state = (await (await fetch(`${drainer.url}/drain`)).json()) as { phase: string };
      expect(state.phase).toBe('idle');
    } finally {
      drainer.kill('SIGKILL');
      await drainer.exited;
    }
  });

  test('default allow-list without a token (loopback + NODE_IP): the node address may call, another gets 403 and the kubelet SIGTERMs at once', async () => {
    // The drainer listens on its default address; the "pod" is 127.0.0.4, the "node" 127.0.0.5.
    const drainer = await startDrainer({ ...base, POD_IP: '127.0.0.4', NODE_IP: '127.0.0.5', DRAINER_HOST: '' });
    try {
      const url = `http://127.0.0.4:${drainer.port}`;
      // From the node: the guard lets it through (nothing to abort: 409, not 403).
      expect((await call(`${url}/drain/abort`, '127.0.0.5', 'POST')).status).toBe(409);
      // From an address that is neither loopback nor the node: refused, and the kubelet does not care (R3).
      const record = await terminatePod({
        app: await fakeApp(50),
        appPreStop: { kind: 'httpGet', path: '/prestop', port: drainer.port },
        podIp: '127.0.0.4',
        nodeIp: '127.0.0.6',
        terminationGracePeriodSeconds: 30,
      });
      expect(record.app.hook?.status).toBe(403);
      expect(record.appSigtermAt! - record.hookReturnedAt!).toBeLessThan(50);
      await drainer.waitForLog((l) => l.msg === 'refused a call from a source outside DRAINER_ALLOWED_SOURCES' && l.source === '127.0.0.6');
    } finally {
      drainer.kill('SIGKILL');
      await drainer.exited;
    }
  });
});
