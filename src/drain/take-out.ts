import { describeError } from '../errors';
import type { ChangeAnswer, DrainDeps } from './deps';
import { deltaEvidence } from './evidence';
import { PRIME_HEAD_START_MS } from './timing';
import { untilSignal, type Until } from './until';

/** What priming one server's callers' view found: when the server answered it and whether it already showed us out, or why it could not be read. */
export type Prime = { readonly primedAt: number; readonly primedStale: boolean } | { readonly error: string };

/** The primes of one drain: the gate every change waits on, and each server's prime as it arrives. */
export interface Priming {
  /** Opens once every prime was answered by its server (headers in), or PRIME_HEAD_START_MS passed, whichever comes first. */
  readonly gate: Promise<void>;
  /** One entry a server, in config order. */
  readonly primes: readonly Promise<Prime>[];
}

/**
 * Step 2a, every server at once: prime the callers' view, the delta they
 * poll (which only makes a later proof trustworthy, see verify.ts): read the
 * key the proof will read, so the proof shows what the server's cache tick
 * did, not a key computed fresh on the proof's own request. It is the delta,
 * not the app's view, because that is the key callers read and the proof
 * reads, and because it is small: it holds the instances changed in the last
 * 3 minutes, gzipped, where the app's view holds every instance of the app
 * (issue 23: ~0.9 KiB an instance on the wire, read by every drain of a wave
 * at once). A prime counts once the server answered it: the status and
 * headers arrive after the server took the delta from its cache, so the body
 * is read, decoded and judged after the changes went out, not before. It is
 * one attempt that only `until` ends (client.ts getDelta `once`).
 *
 * The gate every change waits on opens when every prime was answered, or
 * PRIME_HEAD_START_MS passed, whichever comes first: a prime that reaches its
 * server before the change is the likeliest to show the instance still
 * offered, which is what lets a proof count (timing.ts primeVerdict; a prime
 * answered later counts too, if it still showed us offered). It is shared
 * because a change also reaches the other servers by replication.
 */
export function primeViews(deps: DrainDeps, instanceId: string, until: Until): Priming {
  const reads = deps.config.servers.map((_server, index) => primeOne(deps, instanceId, index, until));
  const headStart = new AbortController();
  const gate = Promise.race([
    Promise.all(reads.map((read) => read.answered)).then(() => undefined),
    deps.clock.sleep(PRIME_HEAD_START_MS, headStart.signal).catch(() => undefined),
  ]).then(() => headStart.abort());
  return { gate, primes: reads.map((read) => read.prime) };
}

/** One server's prime: `answered` once the server answered it (or the read ended without an answer), `prime` once read and judged. */
function primeOne(deps: DrainDeps, instanceId: string, index: number, until: Until): { readonly answered: Promise<void>; readonly prime: Promise<Prime> } {
  const { config, clock, eureka } = deps;
  const stage = untilSignal(clock, until);
  let answeredAt: number | undefined;
  let opened!: () => void;
  const answered = new Promise<void>((resolve) => (opened = resolve));
  const onAnswered = (): void => {
    answeredAt ??= clock.now();
    opened();
  };
  const prime = eureka
    .getDelta(config.servers[index]!, stage.signal, { onAnswered, once: true })
    .then(
      (delta): Prime => ({ primedAt: answeredAt ?? clock.now(), primedStale: deltaEvidence(delta.instances, config.appName, instanceId) === 'out' }),
      (error: unknown): Prime => ({ error: `cannot read the callers' view: ${describeError(error)}` }),
    )
    .finally(() => {
      stage.cancel();
      opened();
    });
  return { answered, prime };
}

/**
 * Step 2b, one server: take the instance out of it (the mode's change: the
 * OUT_OF_SERVICE override in companion mode, a cancel in owner mode), once
 * the primes' gate opened; returns the server's answer. Taking out never
 * waits on evidence longer than that. The change runs under `until` only
 * (followed if the deadline moves earlier), never under the abort signal: an
 * abort waits for it to land instead of leaving a request the server may
 * still apply.
 */
export async function takeOut(deps: DrainDeps, instanceId: string, index: number, until: Until, gate: Promise<void>, inFlight: Set<Promise<unknown>>): Promise<ChangeAnswer> {
  await gate;
  const stage = untilSignal(deps.clock, until);
  try {
    return await changeOn(deps, instanceId, index, inFlight, stage.signal);
  } finally {
    stage.cancel();
  }
}

/**
 * The mode's change on one server (take-out, a verify retry, a keep-out
 * restore), registered in `inFlight` until it lands so an abort can wait for
 * it; returns the server's answer (record.ts recordChange writes it).
 */
export function changeOn(deps: DrainDeps, instanceId: string, index: number, inFlight: Set<Promise<unknown>>, signal: AbortSignal): Promise<ChangeAnswer> {
  const change = deps.mode.change(deps, instanceId, deps.config.servers[index]!, signal);
  inFlight.add(change);
  const landed = (): boolean => inFlight.delete(change);
  void change.then(landed, landed);
  return change;
}
