import { Registry } from 'prom-client';
import { parseOwnerConfig } from '../../../src/owner/config';
import { RegistrationRejectedError } from '../../../src/owner/errors';
import type { HealthAnswer } from '../../../src/owner/health-read';
import { createOwnerMetrics } from '../../../src/owner/metrics';
import { Registrar } from '../../../src/owner/registrar';
import { REPLICATION_SETTLE_MS } from '../../../src/drain/replication-settle';
import { captureLogs } from '../../helpers/capture-logs';
import { ManualClock } from '../../helpers/manual-clock';
import { OwnerEureka } from '../../helpers/owner-eureka';

const HEALTHY: HealthAnswer = { result: 'healthy', detail: 'HTTP 200' };
const REFUSED: HealthAnswer = { result: 'error', detail: 'connection refused (ECONNREFUSED 127.0.0.1:8080)' };
const FAILING: HealthAnswer = { result: 'unhealthy', detail: 'HTTP 503' };

function setup(env: Record<string, string> = {}, initialHealth: HealthAnswer = HEALTHY) {
  const clock = new ManualClock();
  const t0 = clock.now();
  const eureka = new OwnerEureka(clock, 2);
  const { logger, lines } = captureLogs('debug');
  const registry = new Registry();
  const config = parseOwnerConfig({ POD_NAME: 'demo-abc', POD_IP: '10.0.0.7', ...env }, { appName: 'demo', appPort: 8080, podIp: undefined, podName: undefined });
  let health = initialHealth;
  const reads: number[] = [];
  const registrar = new Registrar({
    config,
    servers: OwnerEureka.servers(2),
    eureka,
    clock,
    logger,
    metrics: createOwnerMetrics(registry, clock),
    readHealth: async () => {
      reads.push(clock.now() - t0);
      return health;
    },
    random: () => 0,
  });
  const registers = (server?: number) => eureka.of('register', server).map((c) => ({ at: c.at - t0, status: c.status }));
  const beats = (server?: number) => eureka.of('heartbeat', server).map((c) => c.at - t0);
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const found = (await registry.getMetricsAsJSON()).find((m) => m.name === `eureka_drainer_${name}`);
    return found?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
  };
  // The drain's take-out as drain/owner-mode.ts does it: stop the heartbeats, let the last renewal replicate, cancel on every server.
  const takeOut = async (): Promise<readonly string[]> => {
    await registrar.stopHeartbeats();
    await clock.sleep(REPLICATION_SETTLE_MS);
    return Promise.all(OwnerEureka.servers(2).map((server) => registrar.cancel(server)));
  };
  return { clock, t0, eureka, lines, registry, registrar, config, reads, registers, beats, metric, takeOut, setHealth: (h: HealthAnswer) => (health = h), id: config.instanceId };
}

describe('owner registrar', () => {
  test('waits for the app’s health URL with a bounded backoff (attempts at debug, one summary at info), then registers on every server', async () => {
    const f = setup({}, REFUSED);
    const started = f.registrar.start();
    await f.clock.advance(25_000);
    expect(f.registers()).toEqual([]);
    expect(f.registrar.isRegistered()).toBe(false);
    // 250 ms doubling, capped at the 5 s health interval
    expect(f.reads).toEqual([0, 250, 750, 1_750, 3_750, 7_750, 12_750, 17_750, 22_750]);
    expect(f.lines.filter((l) => l.msg === 'the app is not healthy yet' && l.level === 'debug')).toHaveLength(9);
    f.setHealth(HEALTHY);
    await f.clock.run(started);
    expect(f.registers(0)).toEqual([{ at: 27_750, status: 'UP' }]);
    expect(f.registers(1)).toEqual([{ at: 27_750, status: 'UP' }]);
    expect(f.registrar.isRegistered()).toBe(true);
    expect(f.lines.find((l) => l.msg === 'the app answers its health URL')).toMatchObject({ level: 'info', attempts: 10, waitedMs: 27_750, status: 'UP' });
    expect(f.eureka.instance(1, f.id)?.body).toMatchObject({ app: 'DEMO', instanceId: 'demo-abc:demo:8080', ipAddr: '10.0.0.7', vipAddress: 'demo' });
    expect(await f.metric('registrations_total', { reason: 'initial' })).toBe(2);
    expect(await f.metric('registered_status', { status: 'UP' })).toBe(1);
    await f.registrar.close();
  });

  test('STARTING before the first UP: with 3 successes needed, it registers STARTING, then UP at once on the third', async () => {
    const f = setup({ DRAINER_HEALTH_SUCCESSES_UP: '3' });
    await f.clock.run(f.registrar.start());
    expect(f.registers()).toEqual([
      { at: 0, status: 'STARTING' },
      { at: 0, status: 'STARTING' },
    ]);
    expect(f.registrar.status()).toBe('STARTING');
    await f.clock.advance(10_000);
    expect(f.registers().map((r) => r.status)).toEqual(['STARTING', 'STARTING', 'UP', 'UP']);
    expect(f.registers().slice(2)).toEqual([
      { at: 10_000, status: 'UP' },
      { at: 10_000, status: 'UP' },
    ]);
    await f.registrar.close();
  });

  test('a health change is registered at once on every server (not at the next heartbeat) and logged once', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    f.setHealth(FAILING);
    await f.clock.advance(15_000); // polls at 5, 10, 15 s: DOWN after the third
    expect(f.registers().slice(2)).toEqual([
      { at: 15_000, status: 'DOWN' },
      { at: 15_000, status: 'DOWN' },
    ]);
    expect(f.eureka.instance(0, f.id)?.status).toBe('DOWN');
    expect(f.eureka.instance(1, f.id)?.status).toBe('DOWN');
    await f.clock.advance(20_000);
    expect(f.lines.filter((l) => l.msg === 'app health changed; registering the new status')).toEqual([expect.objectContaining({ from: 'UP', to: 'DOWN', detail: 'HTTP 503' })]);
    // the heartbeat at 30 s carries the new status and dirty time and is accepted
    expect(f.eureka.of('heartbeat').map((c) => c.status)).toEqual(['DOWN']);
    expect(await f.metric('heartbeats_total', { result: 'success' })).toBe(1);
    f.setHealth(HEALTHY);
    await f.clock.advance(5_000);
    expect(f.registers().slice(4)).toEqual([
      { at: 40_000, status: 'UP' },
      { at: 40_000, status: 'UP' },
    ]);
    expect(await f.metric('registrations_total', { reason: 'status_change' })).toBe(4);
    expect(await f.metric('health_checks_total', { result: 'unhealthy' })).toBe(7); // polls at 5 to 35 s
    await f.registrar.close();
  });

  test('a server that missed a status change gets it through the next heartbeat’s 404', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    f.eureka.state(0).down = true;
    f.setHealth(FAILING);
    await f.clock.advance(15_000);
    expect(f.eureka.instance(0, f.id)?.status).toBe('UP');
    f.eureka.state(0).down = false;
    await f.clock.advance(15_000);
    expect(f.eureka.instance(0, f.id)?.status).toBe('DOWN');
    expect(await f.metric('registrations_total', { reason: 'not_found' })).toBe(1);
    await f.registrar.close();
  });

  test('heartbeats every renewal interval; an external DELETE is healed by the next heartbeat’s 404 at once', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    await f.clock.advance(30_000);
    expect(f.beats(0)).toEqual([30_000]);
    f.eureka.state(0).instances.delete(f.id);
    await f.clock.advance(30_000);
    expect(f.registers(0)).toEqual([
      { at: 0, status: 'UP' },
      { at: 60_000, status: 'UP' },
    ]);
    expect(f.eureka.instance(0, f.id)).toBeDefined();
    expect(await f.metric('registrations_total', { reason: 'not_found' })).toBe(1);
    expect(await f.metric('heartbeats_total', { result: 'not_found' })).toBe(1);
    await f.clock.advance(30_000);
    expect(await f.metric('heartbeats_total', { result: 'success' })).toBe(2);
    expect(await f.metric('seconds_since_last_heartbeat')).toBe(0);
    await f.clock.advance(12_000);
    expect(await f.metric('seconds_since_last_heartbeat')).toBe(12);
    await f.registrar.close();
  });

  test('after an outage of every server it registers again on every server when one answers', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    f.eureka.state(0).down = true;
    f.eureka.state(1).down = true;
    await f.clock.advance(120_000);
    f.eureka.state(0).down = false;
    f.eureka.state(1).down = false;
    await f.clock.advance(30_000);
    expect(await f.metric('registrations_total', { reason: 'after_outage' })).toBe(2);
    await f.registrar.close();
  });

  test('no server reachable at start-up: keeps trying with backoff and is registered when one answers', async () => {
    const f = setup();
    f.eureka.state(0).down = true;
    f.eureka.state(1).down = true;
    const started = f.registrar.start();
    await f.clock.advance(10_000);
    expect(f.registrar.isRegistered()).toBe(false);
    f.eureka.state(1).down = false;
    await f.clock.run(started);
    expect(f.registrar.isRegistered()).toBe(true);
    expect(f.eureka.of('register', 0).map((c) => c.at - f.t0)).toEqual([0, 1_000, 3_000, 7_000, 15_000]);
    await f.registrar.close();
  });

  test('a registration every server rejects is an error naming the server, the HTTP status and the field', async () => {
    const f = setup();
    f.eureka.state(0).rejectRegister = 'Missing instanceId';
    f.eureka.state(1).rejectRegister = 'Missing instanceId';
    const error = await f.clock.run(f.registrar.start()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistrationRejectedError);
    expect((error as Error).message).toBe('eureka server http://eureka-0.test/eureka/ rejected the registration of DEMO/demo-abc:demo:8080 with HTTP 400: "Missing instanceId"');
    expect(f.registrar.isRegistered()).toBe(false);
    await f.registrar.close();
  });

  test('one server rejecting while another accepts: registered, the rejection logged at error with the server', async () => {
    const f = setup();
    f.eureka.state(1).rejectRegister = 'Missing dataCenterInfo Name';
    await f.clock.run(f.registrar.start());
    expect(f.registrar.isRegistered()).toBe(true);
    expect(f.lines.find((l) => l.msg === 'eureka server rejected the registration')).toMatchObject({ level: 'error', server: 'http://eureka-1.test/eureka/', status: 400 });
    expect((f.lines.find((l) => l.msg === 'eureka server rejected the registration')?.err as { message: string }).message).toContain('Missing dataCenterInfo Name');
    await f.registrar.close();
  });

  test('drain: stopHeartbeats then a cancel on every server more than 500 ms after the last heartbeat; no longer registered, the status metric all 0', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    await f.clock.advance(30_000);
    expect(await f.metric('registered_status', { status: 'UP' })).toBe(1);
    const results = await f.clock.run(f.takeOut());
    expect(results).toEqual(['cancelled', 'cancelled']);
    const lastBeat = Math.max(...f.beats());
    for (const cancel of f.eureka.of('cancel')) expect(cancel.at - f.t0 - lastBeat).toBeGreaterThan(500);
    expect(f.registrar.isRegistered()).toBe(false);
    expect(await f.metric('registered_status', { status: 'UP' })).toBe(0);
  });

  test('a cancel on one server only: still registered (the other holds it), the metric still UP; absent on the other counts as cancelled', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    await f.registrar.stopHeartbeats();
    expect(await f.clock.run(f.registrar.cancel(OwnerEureka.servers(2)[0]!))).toBe('cancelled');
    expect(f.registrar.isRegistered()).toBe(true);
    expect(await f.metric('registered_status', { status: 'UP' })).toBe(1);
    f.eureka.state(1).instances.delete(f.id);
    expect(await f.clock.run(f.registrar.cancel(OwnerEureka.servers(2)[1]!))).toBe('absent');
    expect(f.registrar.isRegistered()).toBe(false);
    expect(await f.metric('registered_status', { status: 'UP' })).toBe(0);
    await f.registrar.close();
  });

  test('after the drain nothing registers or heartbeats again: not a timer, not a health change', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    await f.clock.run(f.takeOut());
    const calls = f.eureka.calls.length;
    f.setHealth(FAILING);
    await f.clock.advance(60_000);
    f.setHealth(HEALTHY);
    await f.clock.advance(300_000);
    expect(f.eureka.calls.slice(calls).filter((c) => c.op !== 'cancel')).toEqual([]);
    expect(f.lines.filter((l) => l.msg === 'app health changed while heartbeats are stopped; not registered')).toHaveLength(2);
    await f.registrar.close();
  });

  test('a heartbeat in flight at stopHeartbeats, answered 404 afterwards, does not re-register', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    f.eureka.state(0).instances.delete(f.id);
    const held = f.eureka.hold('heartbeat');
    await f.clock.advance(30_000);
    expect(f.beats()).toEqual([30_000]);
    const stopped = f.registrar.stopHeartbeats();
    held.release();
    await stopped;
    await f.clock.run(f.takeOut());
    await f.clock.advance(300_000);
    expect(f.registers()).toHaveLength(2); // the initial ones only
    expect(f.beats()).toEqual([30_000]);
  });

  test('a status change in flight at stopHeartbeats is aborted and settled before the cancels', async () => {
    const f = setup({ DRAINER_HEALTH_FAILURES_DOWN: '1' });
    await f.clock.run(f.registrar.start());
    f.eureka.state(0).latencyMs = 2_000;
    f.eureka.state(1).latencyMs = 2_000;
    f.setHealth(FAILING);
    await f.clock.advance(5_500); // the DOWN registration is on its way
    expect(f.registers().slice(2).map((r) => r.status)).toEqual(['DOWN', 'DOWN']);
    f.eureka.state(0).latencyMs = 0;
    f.eureka.state(1).latencyMs = 0;
    await f.clock.run(f.takeOut());
    expect(f.eureka.instance(0, f.id)).toBeUndefined();
    expect(f.eureka.instance(1, f.id)).toBeUndefined();
    expect(await f.metric('registrations_total', { reason: 'status_change' })).toBe(0);
    await f.registrar.close();
  });

  test('stopHeartbeats while waiting for the app ends the wait without registering', async () => {
    const f = setup({}, REFUSED);
    const started = f.registrar.start();
    await f.clock.advance(5_000);
    await f.registrar.stopHeartbeats();
    await started;
    f.setHealth(HEALTHY);
    await f.clock.advance(300_000);
    expect(f.eureka.calls).toEqual([]);
    expect(f.registrar.isRegistered()).toBe(false);
  });

  test('resume (an aborted drain) registers UP on every server at once and resumes heartbeats', async () => {
    const f = setup();
    await f.clock.run(f.registrar.start());
    await f.clock.run(f.takeOut());
    const at = f.clock.now() - f.t0;
    const results = await f.clock.run(f.registrar.resume());
    expect(results).toEqual([
      { server: 'http://eureka-0.test/eureka/', result: 'accepted' },
      { server: 'http://eureka-1.test/eureka/', result: 'accepted' },
    ]);
    expect(f.registers().slice(2)).toEqual([
      { at, status: 'UP' },
      { at, status: 'UP' },
    ]);
    expect(f.registrar.isRegistered()).toBe(true);
    await f.clock.advance(30_000);
    expect(f.beats()).toEqual([at + 30_000]);
    expect(await f.metric('registrations_total', { reason: 'resume' })).toBe(2);
    expect(f.eureka.of('heartbeat').map((c) => c.status)).toEqual(['UP']);
    expect(await f.metric('heartbeats_total', { result: 'success' })).toBe(1);
    await f.registrar.close();
  });
});
