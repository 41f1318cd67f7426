/**
 * One drain and one container restart, as the footprint benchmarks repeat them: /prestop (the kubelet's call),
 * the app stops (port closed, lease cancelled), the drainer cleans up (phase `done`), the app starts again (port
 * open, registered anew) and the drainer returns to `idle`, as after a container restart.
 */
import type { FakeEureka } from './fake-eureka';
import type { HttpTarget } from './http-target';

export interface StoppableApp {
  close(): Promise<void>;
  open(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The drainer's phase, from /readyz (it answers 503 outside `idle`, with the same body). */
export async function phaseOf(drainer: HttpTarget): Promise<string> {
  const { body } = await drainer.get('/readyz', { fresh: true, timeoutMs: 5_000 });
  return (JSON.parse(body) as { phase: string }).phase;
}

export async function waitPhase(drainer: HttpTarget, want: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let phase: string;
  while ((phase = await phaseOf(drainer)) !== want) {
    if (Date.now() > until) throw new Error(`the drainer stayed in ${phase}, wanted ${want}`);
    await sleep(10);
  }
}

/** Resolves with the drain's outcome (the /prestop report's). */
export async function drainOnce(drainer: HttpTarget, eureka: FakeEureka, app: StoppableApp): Promise<string> {
  const answer = await drainer.get('/prestop', { fresh: true });
  if (answer.status !== 200) throw new Error(`/prestop answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  const { outcome } = JSON.parse(answer.body) as { outcome: string };
  eureka.appStopped();
  await app.close();
  await waitPhase(drainer, 'done');
  eureka.appRegistered();
  await app.open();
  await waitPhase(drainer, 'idle');
  return outcome;
}

/** The smallest plan the drainer's configuration accepts, so that 100 drains take seconds (both footprint benches). */
export const FASTEST_DRAIN_ENV: Readonly<Record<string, string>> = {
  EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '100',
  EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '100ms',
  SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '0ms',
  DRAINER_TAIL_SECONDS: '0',
  DRAINER_VERIFY_POLL_MS: '50',
  DRAINER_APP_SHUTDOWN_SECONDS: '1',
  DRAINER_GRACE_PERIOD_SECONDS: '10',
  DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '0',
};
