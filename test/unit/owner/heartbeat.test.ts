import type { Clock } from '../../../src/clock';
import type { EurekaServerConfig } from '../../../src/config';
import { Heartbeat, type ReregisterReason } from '../../../src/owner/heartbeat';
import { captureLogs } from '../../helpers/capture-logs';
import { ManualClock } from '../../helpers/manual-clock';
import { OwnerEureka } from '../../helpers/owner-eureka';

const ID = 'demo-abc:demo:8080';

/** A clock whose next sleep ends `stallMs` late: a timer fired during an event-loop stall. */
class StallingClock implements Clock {
  stallNextMs = 0;
  constructor(private readonly inner: ManualClock) {}
  now(): number {
    return this.inner.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const extra = this.stallNextMs;
    this.stallNextMs = 0;
    return this.inner.sleep(ms + extra, signal);
  }
}

function setup(options: { servers?: number; reregister?: (reason: ReregisterReason, server: EurekaServerConfig) => Promise<boolean> } = {}) {
  const clock = new ManualClock();
  const t0 = clock.now();
  const stalling = new StallingClock(clock);
  const eureka = new OwnerEureka(clock, options.servers ?? 2);
  const servers = OwnerEureka.servers(options.servers ?? 2);
  const { logger, lines } = captureLogs('debug');
  const reregisters: { reason: ReregisterReason; server: string; at: number }[] = [];
  const results: string[] = [];
  // The lease exists on every server, as after the initial registration.
  const registerAll = (): void => {
    for (let i = 0; i < servers.length; i++) eureka.state(i).instances.set(ID, { status: 'UP', lastDirtyTimestamp: t0, body: {} });
  };
  registerAll();
  const heartbeat = new Heartbeat({
    eureka,
    servers,
    app: 'DEMO',
    instanceId: ID,
    intervalMs: 30_000,
    clock: stalling,
    logger,
    metrics: { heartbeat: (result) => results.push(result) },
    current: () => ({ status: 'UP', lastDirtyTimestamp: t0 }),
    reregister: async (reason, server) => {
      reregisters.push({ reason, server: server.label, at: clock.now() - t0 });
      if (options.reregister) return options.reregister(reason, server);
      eureka.state(servers.indexOf(server)).instances.set(ID, { status: 'UP', lastDirtyTimestamp: t0, body: {} });
      return true;
    },
    random: () => 0,
  });
  const beats = (server?: number) => eureka.of('heartbeat', server).map((c) => c.at - t0);
  return { clock, stalling, eureka, servers, heartbeat, lines, reregisters, results, beats, t0 };
}

describe('heartbeat', () => {
  test('one PUT per renewal interval, to one server, carrying status and lastDirtyTimestamp', async () => {
    const f = setup();
    f.heartbeat.start();
    await f.clock.advance(29_999);
    expect(f.beats()).toEqual([]);
    await f.clock.advance(90_001);
    expect(f.beats(0)).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(f.beats(1)).toEqual([]);
    expect(f.eureka.calls[0]).toMatchObject({ status: 'UP', lastDirtyTimestamp: f.t0 });
    expect(f.results).toEqual(['success', 'success', 'success', 'success']);
    await f.heartbeat.stop();
  });

  test('fails over to the next server within the same beat and stays there', async () => {
    const f = setup();
    f.eureka.state(0).down = true;
    f.heartbeat.start();
    await f.clock.advance(60_000);
    expect(f.beats(0)).toEqual([30_000]);
    expect(f.beats(1)).toEqual([30_000, 60_000]);
    expect(f.results).toEqual(['error', 'success', 'success']);
    expect(f.lines.filter((l) => l.msg === 'heartbeat failed')).toHaveLength(1);
    await f.heartbeat.stop();
  });

  test('a 404 re-registers on that server at once, and the beat counts as renewed', async () => {
    const f = setup();
    f.eureka.state(0).instances.delete(ID);
    f.heartbeat.start();
    await f.clock.advance(30_000);
    expect(f.reregisters).toEqual([{ reason: 'not_found', server: f.servers[0]!.label, at: 30_000 }]);
    expect(f.results).toEqual(['not_found']);
    expect(f.beats(1)).toEqual([]);
    await f.clock.advance(30_000);
    expect(f.results).toEqual(['not_found', 'success']);
    await f.heartbeat.stop();
  });

  test('a 404 whose re-register fails fails over to the next server', async () => {
    const f = setup({ reregister: async () => false });
    f.eureka.state(0).instances.delete(ID);
    f.heartbeat.start();
    await f.clock.advance(30_000);
    expect(f.results).toEqual(['not_found', 'success']);
    expect(f.beats(1)).toEqual([30_000]);
    await f.heartbeat.stop();
  });

  test('through an outage of every server: bounded backoff capped at the interval, then a re-register when one answers', async () => {
    const f = setup();
    f.eureka.state(0).down = true;
    f.eureka.state(1).down = true;
    f.heartbeat.start();
    await f.clock.advance(30_000 + 1_000 + 2_000 + 4_000 + 8_000 + 16_000 + 30_000 + 30_000);
    // every retry tries both servers
    expect(f.beats(0)).toEqual([30_000, 31_000, 33_000, 37_000, 45_000, 61_000, 91_000, 121_000]);
    expect(f.beats(1)).toEqual(f.beats(0));
    expect(f.lines.filter((l) => l.msg === 'every eureka server failed the heartbeat; retrying with backoff')).toHaveLength(1);
    expect(f.lines.filter((l) => l.msg === 'heartbeat failed' && l.level === 'warn')).toHaveLength(2);
    f.eureka.state(1).down = false;
    await f.clock.advance(30_000);
    expect(f.reregisters).toEqual([{ reason: 'after_outage', server: f.servers[1]!.label, at: 151_000 }]);
    expect(f.lines.find((l) => l.msg === 'a eureka server answers the heartbeat again after an outage')).toMatchObject({ outageMs: 121_000, failedRounds: 8 });
    // back on the normal schedule, on the server that answered
    await f.clock.advance(30_000);
    expect(f.beats(1).slice(-2)).toEqual([151_000, 181_000]);
    expect(f.reregisters).toHaveLength(1);
    await f.heartbeat.stop();
  });

  test('a beat that fires late (event-loop stall) is logged with how late, and the schedule keeps its rate', async () => {
    const f = setup();
    f.heartbeat.start();
    // the first sleep is already running: the stall hits the one after the first beat
    f.stalling.stallNextMs = 7_000;
    await f.clock.advance(70_000);
    expect(f.beats(0)).toEqual([30_000, 67_000]);
    expect(f.lines.find((l) => l.msg === 'heartbeat late')).toMatchObject({ lateMs: 7_000, firedLateMs: 7_000, level: 'warn' });
    await f.clock.advance(20_000);
    expect(f.beats(0)).toEqual([30_000, 67_000, 90_000]);
    await f.heartbeat.stop();
  });

  test('a slow server makes the renewal late: logged, the next beat still on time', async () => {
    const f = setup();
    f.eureka.state(0).latencyMs = 5_000;
    f.heartbeat.start();
    await f.clock.advance(60_000);
    expect(f.beats(0)).toEqual([30_000, 60_000]);
    expect(f.lines.find((l) => l.msg === 'heartbeat late')).toMatchObject({ lateMs: 5_000, firedLateMs: 0 });
    await f.heartbeat.stop();
  });

  test('stop() is final: no timer fires and start() does nothing afterwards', async () => {
    const f = setup();
    f.heartbeat.start();
    await f.clock.advance(30_000);
    await f.heartbeat.stop();
    f.heartbeat.start();
    await f.clock.advance(300_000);
    expect(f.beats()).toEqual([30_000]);
    expect(f.heartbeat.stopped).toBe(true);
  });

  test('a heartbeat in flight when stop() is called never leads to a re-register, even when its answer is a 404', async () => {
    const f = setup();
    f.eureka.state(0).instances.delete(ID);
    const held = f.eureka.hold('heartbeat');
    f.heartbeat.start();
    await f.clock.advance(30_000);
    expect(f.beats()).toEqual([30_000]);
    const stopped = f.heartbeat.stop();
    held.release(); // the server answers 404 after the caller stopped
    await stopped;
    await f.clock.advance(300_000);
    expect(f.reregisters).toEqual([]);
    expect(f.beats()).toEqual([30_000]);
    expect(f.results).toEqual([]);
  });

  test('a re-register that completes after stop() does not resume the schedule', async () => {
    let finish: (took: boolean) => void = () => undefined;
    const f = setup({ reregister: () => new Promise<boolean>((resolve) => (finish = resolve)) });
    f.eureka.state(0).instances.delete(ID);
    f.heartbeat.start();
    await f.clock.advance(30_000);
    expect(f.reregisters).toHaveLength(1);
    const stopped = f.heartbeat.stop();
    finish(true);
    await stopped;
    await f.clock.advance(300_000);
    expect(f.beats()).toEqual([30_000]);
  });
});
