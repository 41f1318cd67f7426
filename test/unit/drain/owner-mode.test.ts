import { ownerMode } from '../../../src/drain/owner-mode';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;

function ownerFixture() {
  const registration = { stops: 0, resumes: 0, events: [] as string[] };
  let f: ReturnType<typeof controllerFixture>;
  const mode = ownerMode({
    stopHeartbeats: async () => {
      registration.stops++;
      registration.events.push(`stop@${f.clock.now()}`);
    },
    cancel: (server, signal) => f.eureka.cancel(server, 'DEMO', INSTANCE_ID, signal),
    resume: async () => {
      registration.resumes++;
      f.eureka.register({ instanceId: INSTANCE_ID });
    },
  });
  f = controllerFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_INSTANCE_ID: INSTANCE_ID }, { mode });
  f.eureka.register({ instanceId: INSTANCE_ID });
  return { ...f, registration };
}

describe('owner mode drain (take-out = stop heartbeats, then cancel everywhere)', () => {
  test('stops heartbeats first, cancels on every server a replication delay later, verifies the absence, waits the window', async () => {
    const f = ownerFixture();
    const started = f.clock.now();
    const report = await f.clock.run(f.controller.prestop());
    expect(report.mode).toBe('owner');
    expect(f.registration.events).toEqual([`stop@${started}`]);
    const cancels = f.eureka.calls.filter((c) => c.op === 'cancel');
    expect(cancels).toHaveLength(2);
    for (const c of cancels) expect(c.at - started).toBeGreaterThanOrEqual(1_000); // the last renewal's replication landed first
    expect(f.eureka.count('put_status')).toBe(0);
    expect(report.outcome).toBe('verified');
    expect(report.durationMs).toBeGreaterThanOrEqual(1 * SECOND + 65 * SECOND + 10 * SECOND);
    expect(await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID)).toBeNull();
  });

  test('a peer re-creating the instance during the window is cancelled again and the wait restarts', async () => {
    const f = ownerFixture();
    const drain = f.controller.prestop();
    await f.clock.advance(40 * SECOND); // past the proof (the early read, the cancel + 15 s): in the window
    f.eureka.register({ instanceId: INSTANCE_ID }); // a late replicated heartbeat re-registered it, UP
    await f.clock.advance(2_300); // within one keep-out poll (30/16 s ± 20 %)
    expect(await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID)).toBeNull();
    const report = await f.clock.run(drain);
    expect(report.servers.map((s) => s.restored)).toEqual([1, 1]);
    expect(report.durationMs).toBeGreaterThanOrEqual(40 * SECOND + 30 * SECOND + 65 * SECOND);
  });

  test('abort registers the app again and resumes heartbeats', async () => {
    const f = ownerFixture();
    const drain = f.controller.prestop();
    await f.clock.advance(5 * SECOND);
    expect((await f.clock.run(f.controller.abort())).aborted).toBe(true);
    expect((await drain).outcome).toBe('aborted');
    expect(f.registration.resumes).toBe(1);
    expect((await f.eureka.getInstance(f.servers[0]!, 'DEMO', INSTANCE_ID))?.status).toBe('UP');
  });

  test('SIGTERM with no preStop drains by itself', async () => {
    const f = ownerFixture();
    void f.controller.terminate();
    expect(f.controller.currentPhase).toBe('locating');
    await f.clock.advance(3 * SECOND);
    expect(f.eureka.count('cancel')).toBe(2);
  });
});
