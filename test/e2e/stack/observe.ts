/**
 * What the fault and lifecycle scenarios watch while they run: the instance's live view on both Eureka servers
 * (polled, with timestamps, so a test can say "never UP while it should be out"), the drainer's /metrics (polled,
 * keeping the last answer: a terminating drainer closes its port the moment it exits), and its /drain and
 * /drain/abort routes. Loopback only.
 */
import type { DemoInstance, Stack } from './stack';
import { prestopHook } from './scenario';

/** One poll of both servers: `STATUS/OVERRIDDEN`, `absent` (404) or `down` (the server did not answer). */
export interface LiveSample {
  readonly at: number;
  readonly a: string;
  readonly b: string;
}

const describe = (v: { status: string; overriddenStatus: string } | null | undefined): string =>
  v === undefined ? 'down' : v === null ? 'absent' : `${v.status}/${v.overriddenStatus}`;

/** Polls the live view (`GET /eureka/apps/DEMO/{id}`) on both servers every `everyMs` until stopped. */
export function watchLive(s: Stack, instanceId: string, everyMs = 100): { samples: LiveSample[]; stop: () => Promise<LiveSample[]> } {
  const samples: LiveSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      // Read s.eurekaA / s.eurekaB each round: a restarted server replaces them.
      const [a, b] = await Promise.all([s.liveInstance(s.eurekaA, instanceId).catch(() => undefined), s.liveInstance(s.eurekaB, instanceId).catch(() => undefined)]);
      samples.push({ at: Date.now(), a: describe(a), b: describe(b) });
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** The samples in [from, to). */
export function between(samples: readonly LiveSample[], from: number, to: number): LiveSample[] {
  return samples.filter((x) => x.at >= from && x.at < to);
}

/** Compact run-length form for the test output: `[[+0, "A OUT_OF_SERVICE/OUT_OF_SERVICE B …"], …]` from `t0`. */
export function transitions(samples: readonly LiveSample[], t0: number): [number, string][] {
  const out: [number, string][] = [];
  let last = '';
  for (const x of samples) {
    const key = `A ${x.a} | B ${x.b}`;
    if (key !== last) out.push([x.at - t0, key]);
    last = key;
  }
  return out;
}

/** A view a caller could be offered the instance from: UP on a server that answered. */
export const offered = (view: string): boolean => view.startsWith('UP/');
/** Our override in force. */
export const isOut = (view: string): boolean => view === 'OUT_OF_SERVICE/OUT_OF_SERVICE';
/** Back in service with no override left. */
export const isBack = (view: string): boolean => view === 'UP/UNKNOWN';

/** A counter or gauge value from a Prometheus text answer; 0 when the series is absent. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`eureka_drainer_${name}`)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== `eureka_drainer_${name}`) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x): [string, string] => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

export async function readMetrics(instance: DemoInstance): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${instance.drainer!.port}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return response.text();
}

/**
 * Polls the drainer's /metrics every `everyMs`, keeping the last answer: a terminating drainer closes its port
 * in the same tick as its clean-up, so the clean-up counters of a terminating drainer are only in its log
 * (the `cleaned` phase line); everything counted before that is here.
 */
export function watchMetrics(instance: DemoInstance, everyMs = 100): { last: () => string; stop: () => Promise<string> } {
  let last = '';
  let running = true;
  const loop = (async () => {
    while (running) {
      last = await readMetrics(instance).catch(() => last);
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    last: () => last,
    stop: async () => {
      running = false;
      await loop;
      return last;
    },
  };
}

/** GET /drain of the instance's drainer. */
export async function drainState(instance: DemoInstance): Promise<{ phase: string; terminating: boolean; instanceId: string | null; report: unknown }> {
  const response = await fetch(`http://127.0.0.1:${instance.drainer!.port}/drain`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as { phase: string; terminating: boolean; instanceId: string | null; report: unknown };
}

/** The token header of the app's preStop hook (the manifest's), for calls the test makes itself. */
export function hookHeaders(instance: DemoInstance, s: Stack): Record<string, string> {
  const hook = prestopHook(instance, s);
  return hook.kind === 'httpGet' ? { ...(hook.headers ?? {}) } : {};
}

/** GET /prestop as the app's hook would send it (not through the kubelet emulator). */
export async function prestopNow(instance: DemoInstance, s: Stack): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${instance.drainer!.port}/prestop`, { headers: hookHeaders(instance, s), signal: AbortSignal.timeout(60_000) });
  return { status: response.status, body: await response.text() };
}

/** POST /drain/abort with the hook's token. */
export async function abortDrain(instance: DemoInstance, s: Stack): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${instance.drainer!.port}/drain/abort`, { method: 'POST', headers: hookHeaders(instance, s), signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The drainer's log lines whose `msg` is `msg`. */
export function logsOf(instance: DemoInstance, msg: string): Record<string, unknown>[] {
  return instance.drainer!.logs.filter((l) => l.msg === msg);
}
