import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INITIAL_HEALTH, observeHealth, type HealthGate } from '../../../src/owner/health';
import { HealthPoller } from '../../../src/owner/health-poller';
import { httpHealthRead, type HealthAnswer } from '../../../src/owner/health-read';
import type { RegisteredStatus } from '../../../src/owner/instance';
import { ManualClock } from '../../helpers/manual-clock';

/** Runs a string of answers (+ healthy, - failing) through the gate; the statuses after each, and where it changed. */
function walk(answers: string, failuresDown: number, successesUp: number, start: HealthGate = INITIAL_HEALTH): { statuses: RegisteredStatus[]; changes: number[] } {
  let gate = start;
  const statuses: RegisteredStatus[] = [];
  const changes: number[] = [];
  [...answers].forEach((answer, i) => {
    const step = observeHealth(gate, answer === '+', { failuresDown, successesUp });
    gate = step.gate;
    statuses.push(gate.status);
    if (step.changed) changes.push(i);
  });
  return { statuses, changes };
}

const S = 'STARTING';
const U = 'UP';
const D = 'DOWN';

describe('health gate', () => {
  test.each<[string, string, number, number, RegisteredStatus[], number[]]>([
    ['STARTING until the first healthy answer, however many failures', '----+', 3, 1, [S, S, S, S, U], [4]],
    ['never UP before M successes in a row while starting', '+-++', 3, 2, [S, S, S, U], [3]],
    ['one failure is noise, N in a row turn it DOWN', '+--+---', 3, 1, [U, U, U, U, U, U, D], [0, 6]],
    ['DOWN needs M successes in a row to come back', '++--+-++', 2, 2, [S, U, U, D, D, D, D, U], [1, 3, 7]],
    ['a failure while recovering starts the count again', '+++-++-+++', 1, 3, [S, S, U, D, D, D, D, D, D, U], [2, 3, 9]],
    ['staying UP or DOWN reports no change', '++++', 1, 1, [U, U, U, U], [0]],
  ])('%s', (_name, answers, failuresDown, successesUp, statuses, changes) => {
    expect(walk(answers, failuresDown, successesUp)).toEqual({ statuses, changes });
  });

  test('counts reset on the other answer', () => {
    let gate = INITIAL_HEALTH;
    gate = observeHealth(gate, true, { failuresDown: 3, successesUp: 1 }).gate;
    gate = observeHealth(gate, false, { failuresDown: 3, successesUp: 1 }).gate;
    expect(gate).toEqual({ status: 'UP', successes: 0, failures: 1 });
    gate = observeHealth(gate, true, { failuresDown: 3, successesUp: 1 }).gate;
    expect(gate).toEqual({ status: 'UP', successes: 1, failures: 0 });
  });
});

describe('health poller', () => {
  test('reads every interval on the injected clock, turns a thrown read into an error answer, and stops for good', async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const seen: { at: number; answer: HealthAnswer }[] = [];
    let n = 0;
    const poller = new HealthPoller({
      url: 'http://127.0.0.1:8080/health',
      intervalMs: 5_000,
      clock,
      read: async () => {
        n++;
        if (n === 2) throw new Error('boom');
        return { result: 'healthy', detail: 'HTTP 200' };
      },
      onAnswer: (answer) => seen.push({ at: clock.now() - start, answer }),
    });
    poller.start();
    await clock.advance(15_000);
    expect(seen).toEqual([
      { at: 5_000, answer: { result: 'healthy', detail: 'HTTP 200' } },
      { at: 10_000, answer: { result: 'error', detail: 'boom' } },
      { at: 15_000, answer: { result: 'healthy', detail: 'HTTP 200' } },
    ]);
    await poller.stop();
    await clock.advance(60_000);
    expect(seen).toHaveLength(3);
  });
});

describe('HTTP health read', () => {
  let server: Server;
  let base: string;
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      res.statusCode = status;
      res.end('{"status":"UP"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('2xx is healthy, another status unhealthy, a timeout or a refused connection an error', async () => {
    const read = httpHealthRead(200);
    const signal = new AbortController().signal;
    status = 204;
    expect(await read(`${base}/health`, signal)).toEqual({ result: 'healthy', detail: 'HTTP 204' });
    status = 503;
    expect(await read(`${base}/health`, signal)).toEqual({ result: 'unhealthy', detail: 'HTTP 503' });
    expect(await read(`${base}/hang`, signal)).toEqual({ result: 'error', detail: 'timed out after 200 ms' });
    const refused = await read('http://127.0.0.1:9/health', signal);
    expect(refused.result).toBe('error');
    expect(refused.detail).toContain('connection refused');
  });
});
