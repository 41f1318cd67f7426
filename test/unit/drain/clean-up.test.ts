import { expect } from '@jest/globals';
import { Registry } from 'prom-client';
import { cleanUp, nextCleanupState, type CleanupState, type PassAnswer } from '../../../src/drain/clean-up';
import { companionMode } from '../../../src/drain/companion-mode';
import type { DrainDeps } from '../../../src/drain/deps';
import type { ServerState } from '../../../src/drain/record';
import { REPLICATION_SETTLE_MS } from '../../../src/drain/replication-settle';
import type { EurekaInstance } from '../../../src/eureka/codec';
import { createMetrics } from '../../../src/metrics';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;

/** The clean-up step alone, over two in-memory servers; the app has stopped (port closed). */
async function stepFixture() {
  const f = controllerFixture();
  f.eureka.register({ instanceId: INSTANCE_ID });
  f.app.port = 'closed';
  const registry = new Registry();
  const deps: DrainDeps = {
    config: f.config,
    plan: f.plan,
    clock: f.clock,
    eureka: f.eureka,
    logger: f.logger,
    metrics: createMetrics(registry),
    appExit: async () => ({ strategy: 'kubelet', ok: true, detail: 'test' }),
    probeApp: async () => f.app.port,
    mode: companionMode,
  };
  const servers: ServerState[] = f.config.servers.map((s) => ({ server: s.label, put: 'ok', restored: 0 }));
  // What server A holds once the app has shut down: DOWN, still with our override (the copy A re-registers on B from).
  const copyOnA: EurekaInstance = { ...(await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID))!, status: 'DOWN', overriddenStatus: 'OUT_OF_SERVICE' };
  const [a, b] = f.servers as [(typeof f.servers)[number], (typeof f.servers)[number]];
  const cancelsOn = (server: { label: string }) => f.eureka.calls.filter((c) => c.op === 'cancel' && c.server === server.label);
  return { ...f, deps, servers, registry, copyOnA, a, b, cancelsOn };
}

describe('clean-up state per server (pure table)', () => {
  const cases: [readonly PassAnswer[], CleanupState][] = [
    [['deleted'], 'deleted'],
    [['absent'], 'absent'],
    [['absent', 'absent'], 'absent'],
    [['deleted', 'absent'], 'deleted'],
    // It was gone, came back (a peer's late replicated heartbeat) and was deleted again.
    [['absent', 'deleted'], 'deleted_again'],
    [['deleted', 'deleted', 'absent'], 'deleted_again'],
    // Came back and could not be deleted: left behind.
    [['absent', 'failed'], 'failed'],
    // A retry that works is a plain delete; an unreachable check keeps what the last answer said.
    [['failed', 'deleted'], 'deleted'],
    [['unreachable', 'deleted'], 'deleted'],
    [['absent', 'unreachable'], 'absent'],
    [['failed', 'unreachable'], 'failed'],
    [['unreachable', 'unreachable'], 'unreachable'],
  ];
  test.each(cases)('%j → %s', (answers, expected) => {
    expect(answers.reduce<CleanupState | undefined>((state, answer) => nextCleanupState(state, answer), undefined)).toBe(expected);
  });
});

describe('clean-up waits out a late replication (issue 20, bug 4)', () => {
  test('the instance reappearing on one server after the first check is deleted again and reported', async () => {
    const f = await stepFixture();
    f.eureka.appCancelled(INSTANCE_ID); // the app cancelled itself: the first pass finds it gone everywhere
    const started = f.clock.now();
    // A's last replicated heartbeat reaches B after B's cancel: 404, and A registers it on B from its copy.
    void f.clock.sleep(200).then(() => f.eureka.replicatedRegister(f.b.label, f.copyOnA));
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, started + 60 * SECOND));

    expect(await f.eureka.getInstance(f.b, 'DEMO', INSTANCE_ID)).toBeNull();
    expect(f.servers.map((s) => s.cleanup)).toEqual(['absent', 'deleted_again']);
    expect(result).toMatchObject({ left: [], leftSomething: false, settled: true, passes: 3 });
    // First pass at once, the check one settle later (it deletes the ghost), and one more check a settle after that.
    expect(f.cancelsOn(f.b).map((c) => c.at - started)).toEqual([0, REPLICATION_SETTLE_MS, 2 * REPLICATION_SETTLE_MS]);
    expect(f.lines.find((l) => l.level === 'warn' && String(l.msg).includes('came back on this server'))).toMatchObject({ server: f.b.label });
    expect(await f.registry.metrics()).toContain('eureka_drainer_cleanup_deletes_total{result="deleted_again"} 1');
  });

  test('a ghost that cannot be deleted is what the result says is left, with the server’s answer', async () => {
    const f = await stepFixture();
    f.eureka.appCancelled(INSTANCE_ID);
    const started = f.clock.now();
    void f.clock.sleep(200).then(() => {
      f.eureka.replicatedRegister(f.b.label, f.copyOnA);
      f.eureka.model(f.b.label).refuseUntil = { cancel: Number.POSITIVE_INFINITY };
    });
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, started + 60 * SECOND));

    expect(result.leftSomething).toBe(true);
    expect(result.left).toEqual([{ server: f.b.label, cleanup: 'failed', error: expect.stringContaining('503') }]);
    expect(f.servers.map((s) => s.cleanup)).toEqual(['absent', 'failed']);
    expect(f.lines.some((l) => l.level === 'error' && l.msg === 'cannot delete the leftover registration' && l.server === f.b.label)).toBe(true);
  });

  test('nothing comes back: one check after one settle, and done', async () => {
    const f = await stepFixture();
    const started = f.clock.now();
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, started + 60 * SECOND));
    expect(result).toMatchObject({ left: [], leftSomething: false, settled: true, passes: 2 });
    expect(f.servers.map((s) => s.cleanup)).toEqual(['deleted', 'deleted']);
    expect(f.clock.now() - started).toBe(REPLICATION_SETTLE_MS);
  });

  test('the settle does not run past the exit deadline: no time for a check, none is made', async () => {
    const f = await stepFixture();
    const started = f.clock.now();
    // A check must still be able to answer (one Eureka timeout) before the deadline: here none can.
    const until = started + f.config.eurekaTimeoutMs - 100;
    void f.clock.sleep(200).then(() => f.eureka.replicatedRegister(f.b.label, f.copyOnA));
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, until));
    expect(f.clock.now()).toBeLessThanOrEqual(until);
    expect(result).toMatchObject({ settled: false, passes: 1, leftSomething: false });
    expect(f.eureka.count('cancel')).toBe(2);
    expect(f.lines.some((l) => l.level === 'warn' && String(l.msg).startsWith('no time left before the exit deadline'))).toBe(true);
  });

  test('a settle cut by the deadline still checks as late as it can, and says replication had not settled', async () => {
    const f = await stepFixture();
    f.eureka.appCancelled(INSTANCE_ID);
    const started = f.clock.now();
    const until = started + f.config.eurekaTimeoutMs + 600; // room for a check 600 ms in, not for a full settle
    void f.clock.sleep(200).then(() => f.eureka.replicatedRegister(f.b.label, f.copyOnA));
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, until));
    expect(f.clock.now()).toBeLessThanOrEqual(until);
    expect(f.cancelsOn(f.b).map((c) => c.at - started)).toEqual([0, 600]);
    expect(f.servers[1]!.cleanup).toBe('deleted_again');
    expect(await f.eureka.getInstance(f.b, 'DEMO', INSTANCE_ID)).toBeNull();
    expect(result).toMatchObject({ settled: false, leftSomething: false });
  });

  test('an app that listens again during the settle keeps its registration', async () => {
    const f = await stepFixture();
    const started = f.clock.now();
    void f.clock.sleep(500).then(() => {
      f.app.port = 'open'; // a restarted container, registering afresh
      f.eureka.register({ instanceId: INSTANCE_ID });
    });
    const result = await f.clock.run(cleanUp(f.deps, f.servers, INSTANCE_ID, started + 60 * SECOND));
    expect(result.settled).toBe(false);
    expect(f.eureka.count('cancel')).toBe(2);
    expect(await f.eureka.getInstance(f.a, 'DEMO', INSTANCE_ID)).not.toBeNull();
  });
});

describe('the drainer’s exit after a late replication (controller)', () => {
  beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0.5));
  afterEach(() => jest.restoreAllMocks());

  /** Drain under SIGTERM, then the app shuts down (DOWN, cancels itself); returns once the first clean-up pass ran. */
  async function drainedAndFirstPassDone(env: Record<string, string> = {}) {
    const f = controllerFixture(env);
    f.eureka.register({ instanceId: INSTANCE_ID });
    const exit = f.controller.terminate();
    await f.clock.run(f.controller.prestop());
    const copyOnA: EurekaInstance = { ...(await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID))!, status: 'DOWN', overriddenStatus: 'OUT_OF_SERVICE' };
    f.eureka.appCancelled(INSTANCE_ID);
    f.app.port = 'closed';
    for (let i = 0; i < 100 && f.eureka.count('cancel') < 2; i++) await f.clock.advance(100);
    expect(f.eureka.count('cancel')).toBe(2); // the first pass found it gone on both
    const doneLine = () => f.lines.find((l) => l.msg === 'drain phase changed' && l.to === 'done');
    return { ...f, exit, copyOnA, b: f.servers[1]!, doneLine };
  }

  test('the ghost is deleted before the drainer exits 0, and the done line says it came back and that replication settled', async () => {
    const f = await drainedAndFirstPassDone();
    f.eureka.replicatedRegister(f.b.label, f.copyOnA);
    expect(await f.clock.run(f.exit)).toBe(0);
    expect(await f.eureka.getInstance(f.b, 'DEMO', INSTANCE_ID)).toBeNull();
    expect(f.doneLine()).toMatchObject({ leftSomething: false, left: [], replicationSettled: true, servers: [{ cleanup: 'absent' }, { server: f.b.label, cleanup: 'deleted_again' }] });
  });

  test('a ghost the server refuses to delete: exit 1, and the done line says what is left where', async () => {
    const f = await drainedAndFirstPassDone();
    f.eureka.replicatedRegister(f.b.label, f.copyOnA);
    f.eureka.model(f.b.label).refuseUntil = { cancel: Number.POSITIVE_INFINITY };
    expect(await f.clock.run(f.exit)).toBe(1);
    expect(f.doneLine()).toMatchObject({ leftSomething: true, left: [{ server: f.b.label, cleanup: 'failed', error: expect.stringContaining('503') }] });
  });

  test('the settle ends by the exit deadline: the clean-up finishes first and the drainer exits 0, saying replication had not settled', async () => {
    // Grace 10 s: the exit deadline is 9 s after SIGTERM; the app is gone about 8 s in, too late for a check.
    const f = controllerFixture({ DRAINER_GRACE_PERIOD_SECONDS: '10', DRAINER_APP_SHUTDOWN_SECONDS: '1', DRAINER_MARGIN_SECONDS: '2' });
    f.eureka.register({ instanceId: INSTANCE_ID });
    const started = f.clock.now();
    const exit = f.controller.terminate();
    const exitDeadline = f.controller.exitDeadline();
    await f.clock.run(f.controller.prestop());
    await f.clock.advance(started + 7_800 - f.clock.now());
    f.eureka.appCancelled(INSTANCE_ID);
    f.app.port = 'closed';
    let exitedAt = 0;
    expect(await f.clock.run(exit.then((code) => ((exitedAt = f.clock.now()), code)))).toBe(0);
    expect(exitedAt).toBeLessThan(exitDeadline);
    expect(f.lines.find((l) => l.msg === 'drain phase changed' && l.to === 'done')).toMatchObject({ leftSomething: false, replicationSettled: false });
  });
});
