/**
 * The one place that decides the drainer's lifecycle: phase × event → the
 * next state and what the shell must do. Pure and total: the controller, the
 * HTTP routes and the signal handler only tell it events and carry out the
 * actions it returns; nothing else keeps phase flags.
 */
export { DRAIN_PHASES, type DrainPhase } from '../phases';
import type { DrainPhase } from '../phases';
import { deadlinesOf, earlierEnd, type DeadlineRules } from './deadlines';

/** Steps the running drain reports as it moves from one to the next. */
export const PROGRESS_EVENTS = ['located', 'not_located', 'taken_out', 'verified', 'window_elapsed', 'tail_elapsed', 'app_told'] as const;
export type ProgressEvent = (typeof PROGRESS_EVENTS)[number];

export const LIFECYCLE_EVENTS = [
  'prestop', // GET/POST /prestop: the app's preStop hook
  'join', // GET/POST /prestop/join: the drainer container's own preStop hook
  'join_timed_out', // a join waited its time and no drain started
  'sigterm', // the process got SIGTERM (or SIGINT)
  'prestop_wait_over', // after a SIGTERM while idle, the wait for /prestop ended
  'hook_refused', // the kubelet's preStop call was refused (token or source mismatch): the kubelet goes on to SIGTERM
  'hook_refusal_expired', // too long ago to pair with a SIGTERM
  'abort', // POST /drain/abort
  ...PROGRESS_EVENTS,
  'drain_failed', // a bug stopped the drain's sequence: answer with what is known (run.ts)
  'abort_done', // the aborted drain put the instance back and ended
  'app_gone', // the app stopped: port closed and no live lease
  'app_back', // the app restarted (new registration or port back) with no SIGTERM to us
  'cleaned', // leftover registrations deleted (or found gone)
  'cleaned_partly', // the clean-up ended with something a reachable server kept
  'grace_end', // Kubernetes said the pod ends at `at` (its deletionTimestamp)
  'deadline', // the grace period is about to end
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENTS)[number];

export interface LifecycleEvent {
  readonly type: LifecycleEventType;
  /** Epoch ms of the event, from the injected clock (grace_end: the pod's end Kubernetes told). */
  readonly at: number;
  /** app_gone / app_back: the watch that saw it (LifecycleState.watch); an older watch's news is stale. */
  readonly watch?: number;
}

export interface LifecycleState {
  readonly phase: DrainPhase;
  /** SIGTERM received: the pod (or at least this container) is stopping; the app will not come back. */
  readonly terminating: boolean;
  /** First of SIGTERM and /prestop in the current termination: the grace period counts from here. */
  readonly terminationStartedAt: number | undefined;
  /** A /prestop/join found no drain: our own hook ran without the app's, so this container alone is restarting. */
  readonly joinFoundNoDrain: boolean;
  /** After SIGTERM while idle, the wait for the kubelet's /prestop call is over. */
  readonly prestopWaitOver: boolean;
  /** A /prestop that arrived while an abort was putting the instance back: drain as soon as it is done. */
  readonly prestopQueued: boolean;
  /** The current or last drain took the instance out (or tried to): something of ours may be in Eureka. */
  readonly tookOut: boolean;
  /** A preStop call from the kubelet was just refused: the app is about to get SIGTERM with no drain. */
  readonly hookRefused: boolean;
  /** Owner mode: the drainer holds the registration, so SIGTERM alone drains (nobody else will). */
  readonly owner: boolean;
  /** The current drain started after a refused preStop: nothing held the app, which is already stopping. */
  readonly appNotHeld: boolean;
  /** The last clean-up left something a reachable server kept (the exit code says so). */
  readonly leftBehind: boolean;
  /** Which app watch is current: every watch_app or put_back starts a new one. */
  readonly watch: number;
  /** When Kubernetes says the pod ends, if it said so; only ever earlier (deadlines.ts). */
  readonly podEndsAt: number | undefined;
  /** The exit action was given: the process ends once. */
  readonly exited: boolean;
}

/** What the shell must do; carried out in order. */
export type LifecycleAction =
  | 'start_drain' // begin a fresh drain; /prestop callers wait for its report
  | 'join_drain' // this caller waits for the running drain's report
  | 'answer_last_report' // the drain already answered: give its report again at once (preStop is at least once)
  | 'wait_for_drain_start' // a join: wait a short time for the app's /prestop
  | 'answer_not_joined' // the join's wait ended with no drain
  | 'wait_for_prestop' // SIGTERM while idle: the kubelet's /prestop may still come
  | 'cancel_drain' // abort: stop the waits, let in-flight take-outs land, put the instance back
  | 'refuse_abort' // abort is not possible in this phase
  | 'watch_app' // poll until the app is gone (or back)
  | 'put_back' // the app came back after a drain: remove our override, forget the old report
  | 'answer_report' // the drain answered: its report stands from now on (before anything watches the app)
  | 'start_cleanup' // delete leftover registrations
  | 'cut_drain' // the pod ends earlier than configured: the running drain's waits follow the new deadline
  | 'rearm_exit' // the exit deadline moved earlier: arm its timer again
  | 'exit'; // end the process now, with exitCodeFor(state)

export interface Decision {
  readonly state: LifecycleState;
  readonly actions: readonly LifecycleAction[];
  /** Short reason, for the debug log and the tests. */
  readonly why: string;
}

export const INITIAL_STATE: LifecycleState = {
  phase: 'idle',
  terminating: false,
  terminationStartedAt: undefined,
  joinFoundNoDrain: false,
  prestopWaitOver: false,
  prestopQueued: false,
  tookOut: false,
  hookRefused: false,
  owner: false,
  appNotHeld: false,
  leftBehind: false,
  watch: 0,
  podEndsAt: undefined,
  exited: false,
};

/** Phases in which a drain is running and /prestop joins it. */
export function isDraining(phase: DrainPhase): boolean {
  return phase === 'locating' || phase === 'taking_out' || phase === 'verifying' || phase === 'waiting_clients' || phase === 'waiting_tail' || phase === 'exiting_app';
}

/** Phases after the drain answered: its report stands until the app comes back. */
function isAnswered(phase: DrainPhase): boolean {
  return phase === 'drained' || phase === 'cleaning_up' || phase === 'done';
}

const PROGRESS: Readonly<Record<ProgressEvent, { readonly from: readonly DrainPhase[]; readonly to: DrainPhase }>> = {
  located: { from: ['locating'], to: 'taking_out' },
  not_located: { from: ['locating'], to: 'waiting_clients' },
  taken_out: { from: ['taking_out'], to: 'verifying' },
  verified: { from: ['verifying'], to: 'waiting_clients' },
  window_elapsed: { from: ['waiting_clients'], to: 'waiting_tail' },
  tail_elapsed: { from: ['waiting_tail'], to: 'exiting_app' },
  app_told: { from: ['exiting_app'], to: 'drained' },
};

const stay = (state: LifecycleState, why: string, ...actions: LifecycleAction[]): Decision => ({ state, actions, why });
const go = (state: LifecycleState, patch: Partial<LifecycleState>, why: string, ...actions: LifecycleAction[]): Decision => ({
  state: { ...state, ...patch },
  actions,
  why,
});

/** A fresh drain: the grace period counts from the termination's first event. */
function startDrain(s: LifecycleState, at: number, why: string, appNotHeld = false): Decision {
  return go(s, { phase: 'locating', terminationStartedAt: s.terminationStartedAt ?? at, tookOut: false, prestopQueued: false, joinFoundNoDrain: false, hookRefused: false, appNotHeld, leftBehind: false }, why, 'start_drain');
}

/** Back to exactly what a fresh drainer is, keeping only what SIGTERM told us. */
function backToIdle(s: LifecycleState, why: string, ...actions: LifecycleAction[]): Decision {
  return go(
    s,
    {
      phase: 'idle',
      terminationStartedAt: s.terminating ? s.terminationStartedAt : undefined,
      prestopQueued: false,
      tookOut: false,
      joinFoundNoDrain: false,
      prestopWaitOver: s.prestopWaitOver,
      hookRefused: false,
    },
    why,
    ...actions,
  );
}

/**
 * Pure and total: every phase × event has an answer. Two rules hold for every
 * cell: each watch_app or put_back starts a new watch (the older one's news
 * is stale from then), and the process exits once.
 */
export function decide(s: LifecycleState, event: LifecycleEvent): Decision {
  const d = decideCell(s, event);
  const exit = d.actions.includes('exit');
  const actions = exit && s.exited ? d.actions.filter((a) => a !== 'exit') : d.actions;
  const newWatch = actions.includes('watch_app') || actions.includes('put_back');
  if (!exit && !newWatch) return d;
  return { ...d, actions, state: { ...d.state, exited: s.exited || exit, watch: newWatch ? s.watch + 1 : s.watch } };
}

function decideCell(s: LifecycleState, event: LifecycleEvent): Decision {
  const { phase } = s;
  const e = event.type;

  if ((PROGRESS_EVENTS as readonly string[]).includes(e)) {
    const step = PROGRESS[e as ProgressEvent];
    if (!step.from.includes(phase)) return stay(s, `${e} does not apply in ${phase}`);
    const tookOut = s.tookOut || e === 'located';
    return go(s, { phase: step.to, tookOut }, `${phase} → ${step.to}`, ...(e === 'app_told' ? (['answer_report', 'watch_app'] as const) : []));
  }
  if ((e === 'app_gone' || e === 'app_back') && event.watch !== undefined && event.watch !== s.watch) return stay(s, `${e} from an older watch: stale`);

  switch (e) {
    case 'prestop':
      if (phase === 'idle') return startDrain(s, event.at, s.terminating ? 'the kubelet’s preStop after SIGTERM: drain now' : 'preStop: drain');
      if (isDraining(phase)) return stay(s, 'a drain is running: join it', 'join_drain');
      if (phase === 'aborting') return go(s, { prestopQueued: true }, 'an abort is putting the instance back: drain right after it');
      return stay(s, 'the drain already answered: same report, no new drain', 'answer_last_report');

    case 'join':
      if (phase === 'idle') return stay(s, 'no drain yet: wait briefly for the app’s preStop', 'wait_for_drain_start');
      if (isDraining(phase)) return stay(s, 'a drain is running: join it', 'join_drain');
      if (phase === 'aborting') return stay(s, 'an abort is under way: wait for what comes next', 'wait_for_drain_start');
      return stay(s, 'the drain already answered', 'answer_last_report');

    case 'join_timed_out':
      if (phase === 'idle') return go(s, { joinFoundNoDrain: true }, 'our own preStop ran without the app’s: this container alone is stopping', 'answer_not_joined');
      return stay(s, 'a drain started meanwhile', 'answer_not_joined');

    case 'sigterm': {
      const t = go(s, { terminating: true, terminationStartedAt: s.terminationStartedAt ?? event.at }, '');
      if (s.terminating) return stay(t.state, 'SIGTERM again: nothing new');
      if (phase === 'idle') {
        // The refused call alone proves nothing (anyone can send one); with the
        // kubelet's SIGTERM it means the app is stopping undrained: drain anyway.
        if (s.hookRefused) return startDrain(t.state, event.at, 'SIGTERM right after a refused preStop call (token or source mismatch): drain anyway, the app is stopping', true);
        if (s.joinFoundNoDrain) return stay(t.state, 'our own preStop found no drain: a restart of this container alone; leave Eureka alone', 'exit');
        if (s.owner) return startDrain(t.state, event.at, 'SIGTERM in owner mode: we hold the registration, so we drain it ourselves');
        return stay(t.state, 'SIGTERM while idle: termination has begun; the kubelet’s /prestop may still come', 'wait_for_prestop');
      }
      if (phase === 'done') return stay(t.state, 'SIGTERM after the clean-up: exit', 'exit');
      return stay(t.state, `SIGTERM in ${phase}: finish the drain and the clean-up first`);
    }

    case 'prestop_wait_over':
      if (phase === 'idle' && s.terminating && !s.prestopWaitOver) return go(s, { prestopWaitOver: true }, 'no /prestop yet: keep serving, clean up once the app is gone', 'watch_app');
      return stay(s, 'the wait for /prestop no longer matters');

    case 'hook_refused':
      if (phase !== 'idle') return stay(s, `a refused preStop in ${phase} changes nothing`);
      if (s.terminating) return startDrain(s, event.at, 'a refused preStop after SIGTERM (token or source mismatch): drain anyway, the app is stopping', true);
      return go(s, { hookRefused: true }, 'a preStop call was refused: drain if SIGTERM follows');

    case 'hook_refusal_expired':
      return s.hookRefused ? go(s, { hookRefused: false }, 'the refused preStop was too long ago to pair with a SIGTERM') : stay(s, 'nothing to expire');

    case 'abort':
      if (isDraining(phase) && phase !== 'exiting_app') return go(s, { phase: 'aborting' }, 'abort: put the instance back', 'cancel_drain');
      return stay(s, phase === 'idle' ? 'no drain is running' : `too late to abort in ${phase}`, 'refuse_abort');

    case 'drain_failed':
      // The answer must not be lost to a bug: the report says what is known, and the app is watched as after any drain.
      if (isDraining(phase)) return go(s, { phase: 'drained' }, 'the drain failed: answer with what is known', 'answer_report', 'watch_app');
      return stay(s, `a failure in ${phase} changes no phase`);

    case 'abort_done':
      if (phase !== 'aborting') return stay(s, 'no abort under way');
      if (s.prestopQueued) return startDrain(backToIdle(s, '').state, event.at, 'abort done; a /prestop came meanwhile: drain now');
      return backToIdle(s, 'abort done: exactly as ready as a fresh drainer', ...(s.terminating && s.prestopWaitOver ? (['watch_app'] as const) : []));

    case 'app_gone':
      if (phase === 'drained') return go(s, { phase: 'cleaning_up' }, 'the app is gone: delete what is left', 'start_cleanup');
      if (phase === 'idle' && s.terminating) return go(s, { phase: 'cleaning_up' }, 'the app stopped with no drain: delete what is left', 'start_cleanup');
      return stay(s, `app gone in ${phase}: nothing to do yet`);

    case 'app_back':
      if (isAnswered(phase) && !s.terminating) return backToIdle(s, 'the app restarted after a drain: back in service, ready to drain again', 'put_back');
      return stay(s, s.terminating ? 'the pod is terminating: a returning app changes nothing' : `app back in ${phase}: nothing to do`);

    case 'cleaned':
    case 'cleaned_partly':
      if (phase !== 'cleaning_up') return stay(s, 'no clean-up under way');
      return go(s, { phase: 'done', leftBehind: e === 'cleaned_partly' }, 'clean-up finished', ...(s.terminating ? (['exit'] as const) : (['watch_app'] as const)));

    case 'grace_end': {
      if (s.podEndsAt !== undefined && event.at >= s.podEndsAt) return stay(s, 'the pod already ends earlier');
      const draining = isDraining(phase) || phase === 'aborting';
      return go(s, { podEndsAt: earlierEnd(s.podEndsAt, event.at) }, 'Kubernetes ends the pod earlier', ...(draining ? (['cut_drain'] as const) : []), ...(s.terminating ? (['rearm_exit'] as const) : []));
    }

    case 'deadline':
      if (s.terminating) return stay(s, 'grace period nearly over: exit whatever is pending', 'exit');
      return stay(s, 'no termination under way');
  }
  return stay(s, 'unknown event');
}

/**
 * Pure: the exit code when the process ends in `state`. 1 only when something
 * may be left that a caller or the next pod can trip over: a drain or a
 * clean-up that did not finish, or a leftover a reachable server kept. Idle
 * (no drain in this termination, or the app still running) leaves nothing of ours.
 */
export function exitCodeFor(state: LifecycleState): 0 | 1 {
  if (state.phase === 'done') return state.leftBehind ? 1 : 0;
  return state.phase === 'idle' ? 0 : 1;
}

/** Pure: when the process must be gone (deadlines.ts exitBy), counted from the termination's start, or from `now` while none began. */
export function exitDeadlineOf(rules: DeadlineRules, state: LifecycleState, now: number): number {
  return deadlinesOf(rules, { since: state.terminationStartedAt ?? now, podEndsAt: state.podEndsAt }).exitBy;
}

/** Pure: the pod deadline's watch matters once a termination or a drain began. */
export function followsPodDeadline(state: LifecycleState): boolean {
  return state.terminating || state.phase !== 'idle';
}

/** Pure: how a /prestop call is answered, by what the decider said to do (the prestop metric's label too). */
export function prestopAnswer(actions: readonly LifecycleAction[]): 'started' | 'joined' | 'finished' | 'queued' {
  if (actions.includes('start_drain')) return 'started';
  if (actions.includes('join_drain')) return 'joined';
  return actions.includes('answer_last_report') ? 'finished' : 'queued';
}

/** Pure: a SIGTERM came (a second one changes nothing). */
export function terminationBegun(state: LifecycleState): boolean {
  return state.terminating;
}

/** Pure: nothing runs and nothing ends: start-up hygiene may touch our instance (startup-hygiene.ts). */
export function atRest(state: LifecycleState): boolean {
  return state.phase === 'idle' && !state.terminating;
}

/** Pure: /readyz says ready until the pod terminates. */
export function acceptsTraffic(state: LifecycleState): boolean {
  return !terminationBegun(state);
}

/** Pure: did a grace_end move the exit deadline earlier (a told end later than the configured one moves nothing)? */
export function exitMovedEarlier(rules: DeadlineRules, before: LifecycleState, after: LifecycleState, now: number): boolean {
  return exitDeadlineOf(rules, after, now) < exitDeadlineOf(rules, before, now);
}

/** Pure: until when one watch for the app's fate runs: the exit deadline when terminating, else one grace period (then it watches again). */
export function watchUntil(rules: DeadlineRules, state: LifecycleState, now: number): number {
  return state.terminating ? exitDeadlineOf(rules, state, now) : now + rules.gracePeriodMs;
}

/** A clean-up with no termination under way (the app stopped by itself) gets this long. */
export const IDLE_CLEANUP_MS = 10_000;

/** Pure: until when a clean-up may run. */
export function cleanupUntil(rules: DeadlineRules, state: LifecycleState, now: number): number {
  return state.terminating ? exitDeadlineOf(rules, state, now) : now + IDLE_CLEANUP_MS;
}
