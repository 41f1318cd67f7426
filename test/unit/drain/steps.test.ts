/**
 * The drain's steps on their own: given these answers, each returns what it
 * found (run.ts writes the results into the record; controller.test.ts drives
 * the whole drain).
 */
import { deadlineRules } from '../../../src/drain/deadlines';
import type { ChangeAnswer } from '../../../src/drain/deps';
import { keepOut } from '../../../src/drain/keep-out';
import { LiveDeadlines } from '../../../src/drain/live-deadlines';
import { locate } from '../../../src/drain/locate';
import { takeOut } from '../../../src/drain/take-out';
import { tellApp } from '../../../src/drain/tell-app';
import { waitClients } from '../../../src/drain/wait-clients';
import { waitTail } from '../../../src/drain/wait-tail';
import type { InFlightReading } from '../../../src/tail';
import { INSTANCE_ID, controllerFixture } from '../../helpers/controller';

const SECOND = 1000;

function stepFixture(env: Record<string, string> = {}, options: Parameters<typeof controllerFixture>[1] = {}) {
  const f = controllerFixture(env, options);
  const now = f.clock.now();
  const deadlines = new LiveDeadlines(deadlineRules(f.plan, f.config.timings), now, now);
  return { ...f, deadlines, signal: new AbortController().signal };
}

describe('locate', () => {
  test('the instance listed by both servers: its id, and nothing wrong with either', async () => {
    const f = stepFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const found = await f.clock.run(locate(f.deps, f.deadlines.time((d) => d.takeOutBy), f.signal));
    expect(found).toEqual({ instanceId: INSTANCE_ID, servers: [{}, {}] });
  });

  test('one server down: found on the other, the down one says why it could not be asked', async () => {
    const f = stepFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.eureka.model(f.servers[0]!.label).down = true;
    const found = await f.clock.run(locate(f.deps, f.deadlines.time((d) => d.takeOutBy), f.signal));
    expect(found.instanceId).toBe(INSTANCE_ID);
    expect(found.servers[0]!.error).toMatch(/^cannot list the app: /);
    expect(found.servers[1]).toEqual({});
  });

  test('listed nowhere until the cutoff: no id, and the problem says what was looked for', async () => {
    const f = stepFixture({ POD_IP: '10.0.0.9' });
    const giveUpAt = f.clock.now() + 5 * SECOND;
    const found = await f.clock.run(locate(f.deps, { at: () => giveUpAt, watch: () => () => undefined }, f.signal));
    expect(found.instanceId).toBeUndefined();
    expect(found.servers).toEqual([{}, {}]);
    expect(found.problem).toMatch(/^instance not found in eureka \(app DEMO, POD_IP 10\.0\.0\.9, port 8080\): no server lists it;/);
  });
});

describe('takeOut', () => {
  test('at once, nothing read before it: the server’s answer, the request tracked in flight until it landed', async () => {
    const f = stepFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    f.eureka.model(f.servers[0]!.label).latency = { put_status: 30 };
    const start = f.clock.now();
    const inFlight = new Set<Promise<unknown>>();
    const taking = takeOut(f.deps, INSTANCE_ID, 0, f.deadlines.time((d) => d.takeOutBy), inFlight);
    await Promise.resolve();
    expect(f.eureka.calls.map((c) => c.op)).toEqual(['put_status']);
    expect(inFlight.size).toBe(1);
    expect(await f.clock.run(taking)).toEqual({ put: 'ok', at: start + 30 });
    expect(inFlight.size).toBe(0);
  });

  test('a server that does not list the instance: not_found, and why', async () => {
    const f = stepFixture();
    const answer = await f.clock.run(takeOut(f.deps, INSTANCE_ID, 1, f.deadlines.time((d) => d.takeOutBy), new Set()));
    expect(answer).toEqual({ put: 'not_found', error: 'instance not registered on this server (cancelled by the app, evicted, or not replicated here yet)' });
  });
});

describe('keepOut', () => {
  const input = (f: ReturnType<typeof stepFixture>, tookChange: boolean[]) => ({ instanceId: INSTANCE_ID, tookChange, answerBy: f.deadlines.time((d) => d.answerBy), inFlight: new Set<Promise<unknown>>() });

  test('our override vanished on one server: put back, its answer reported as it arrives, one problem line', async () => {
    const f = stepFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    await f.eureka.setStatusOverride(f.servers[1]!, 'DEMO', INSTANCE_ID, 'OUT_OF_SERVICE'); // server 0 lost it (shows UP)
    const stop = new AbortController();
    const restored: [number, ChangeAnswer][] = [];
    const problems = await f.clock.run(
      keepOut(f.deps, input(f, [true, true]), stop.signal, (i, answer) => {
        restored.push([i, answer]);
        stop.abort();
      }),
    );
    expect(restored).toEqual([[0, { put: 'ok', at: f.clock.now() }]]);
    expect(problems).toEqual([expect.stringMatching(/the instance was offered again \(seen UP\/UNKNOWN\) and was taken out again/) as unknown]);
    expect(f.eureka.calls.filter((c) => c.op === 'put_status').map((c) => c.server)).toEqual([f.servers[1]!.label, f.servers[0]!.label]);
  });

  test('a server that never took the change is not watched (it already counts at its worst case)', async () => {
    const f = stepFixture();
    f.eureka.register({ instanceId: INSTANCE_ID });
    const stop = new AbortController();
    void f.clock.sleep(5 * SECOND).then(() => stop.abort());
    const restored: number[] = [];
    const problems = await f.clock.run(keepOut(f.deps, input(f, [false, false]), stop.signal, (i) => restored.push(i)));
    expect(problems).toEqual([]);
    expect(restored).toEqual([]);
    expect(f.eureka.calls).toEqual([]);
  });
});

describe('waitClients', () => {
  test('returns elapsed at the window’s end, asking for the end on every poll (a restore moves it later)', async () => {
    const f = stepFixture();
    const start = f.clock.now();
    let end = start + 10 * SECOND;
    let asked = 0;
    const waiting = waitClients(f.deps, () => (++asked === 3 ? (end += 5 * SECOND) : end), f.deadlines.time((d) => d.answerBy), f.signal);
    expect(await f.clock.run(waiting)).toBe('elapsed');
    expect(f.clock.now()).toBe(start + 15 * SECOND);
  });

  test('returns deadline when the drain’s deadline comes first', async () => {
    const f = stepFixture();
    const start = f.clock.now();
    const answerBy = start + 4 * SECOND;
    const waited = await f.clock.run(waitClients(f.deps, () => start + 60 * SECOND, { at: () => answerBy, watch: () => () => undefined }, f.signal));
    expect(waited).toBe('deadline');
    expect(f.clock.now()).toBe(answerBy);
  });
});

describe('waitTail', () => {
  test('fixed: ends one tail after the window', async () => {
    const f = stepFixture({ DRAINER_TAIL_SECONDS: '10' });
    const end = f.clock.now() + 3 * SECOND;
    expect(await f.clock.run(waitTail(f.deps, () => end, f.deadlines, f.signal))).toEqual({ end: 'fixed' });
    expect(f.clock.now()).toBe(end + 10 * SECOND);
  });

  test('adaptive: idle once the window is over ends it early', async () => {
    const f = stepFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus' }, { inFlight: () => ({ ok: true, value: 0 }) });
    const end = f.clock.now() + 3 * SECOND;
    expect(await f.clock.run(waitTail(f.deps, () => end, f.deadlines, f.signal))).toEqual({ end: 'idle' });
    // The first read after the window, which the poll before it may overshoot by one pause.
    expect(f.clock.now()).toBeGreaterThanOrEqual(end);
    expect(f.clock.now()).toBeLessThanOrEqual(end + 4 * f.config.verifyPollMs);
  });

  test('adaptive, metric unreadable: the fixed tail, and the problem says why', async () => {
    let reads = 0;
    const inFlight = (): InFlightReading => {
      reads++;
      return { ok: false, reason: 'HTTP 404' };
    };
    const f = stepFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus' }, { inFlight });
    const end = f.clock.now();
    expect(await f.clock.run(waitTail(f.deps, () => end, f.deadlines, f.signal))).toEqual({ end: 'metric_unreadable', problem: "adaptive tail: HTTP 404; read again until the fixed tail's end" });
    expect(f.clock.now()).toBe(end + 10 * SECOND);
    // Read again once per poll, not in a loop.
    expect(reads).toBe(Math.ceil((10 * SECOND) / f.config.verifyPollMs));
  });

  test('adaptive, a read fails once (the app stalled): read again on the next poll, not the whole fixed tail', async () => {
    const answers: InFlightReading[] = [{ ok: false, reason: 'timeout of 2000ms exceeded' }, { ok: true, value: 0 }];
    const f = stepFixture({ DRAINER_TAIL_SECONDS: '10', DRAINER_TAIL_MODE: 'adaptive', DRAINER_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus' }, { inFlight: () => answers.shift()! });
    const end = f.clock.now();
    expect(await f.clock.run(waitTail(f.deps, () => end, f.deadlines, f.signal))).toEqual({
      end: 'idle',
      problem: "adaptive tail: timeout of 2000ms exceeded; read again until the fixed tail's end",
    });
    expect(f.clock.now()).toBe(end + f.config.verifyPollMs);
  });
});

describe('tellApp', () => {
  test('the app’s answer, in time', async () => {
    const f = stepFixture();
    expect(await f.clock.run(tellApp(f.deps, f.deadlines))).toEqual({ result: { strategy: 'kubelet', ok: true, detail: 'test' }, cutShort: false });
  });

  test('an exit call that never answers ends at the deadline plus the late-call allowance, cut short', async () => {
    const f = stepFixture({}, { appExit: (signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))) });
    const told = await f.clock.run(tellApp(f.deps, f.deadlines));
    expect(told.cutShort).toBe(true);
    expect(told.result.ok).toBe(false);
    expect(told.result.detail).toMatch(/^no answer before the deadline \(/);
  });
});
