import {
  DRAIN_PHASES,
  INITIAL_STATE,
  LIFECYCLE_EVENTS,
  decide,
  acceptsTraffic,
  atRest,
  cleanupUntil,
  exitCodeFor,
  exitDeadlineOf,
  exitMovedEarlier,
  followsPodDeadline,
  IDLE_CLEANUP_MS,
  isDraining,
  prestopAnswer,
  watchUntil,
  type DrainPhase,
  type LifecycleAction,
  type LifecycleEventType,
  type LifecycleState,
} from '../../../src/drain/machine';
import { EXIT_LEAD_MS } from '../../../src/drain/deadlines';

const AT = 1_000_000;
const state = (phase: DrainPhase, patch: Partial<LifecycleState> = {}): LifecycleState => ({ ...INITIAL_STATE, phase, ...patch });
const on = (s: LifecycleState, type: LifecycleEventType, at = AT) => decide(s, { type, at });

/** Every combination of the flags that change a decision. */
function everyState(): LifecycleState[] {
  const out: LifecycleState[] = [];
  for (const phase of DRAIN_PHASES)
    for (const terminating of [false, true])
      for (const joinFoundNoDrain of [false, true])
        for (const prestopWaitOver of [false, true])
          for (const prestopQueued of [false, true])
            for (const hookRefused of [false, true])
              for (const owner of [false, true])
                out.push(state(phase, { terminating, joinFoundNoDrain, prestopWaitOver, prestopQueued, hookRefused, owner, terminationStartedAt: terminating ? AT - 5_000 : undefined }));
  return out;
}

const ACTIONS: readonly LifecycleAction[] = [
  'start_drain', 'join_drain', 'answer_last_report', 'wait_for_drain_start', 'answer_not_joined', 'wait_for_prestop',
  'cancel_drain', 'refuse_abort', 'watch_app', 'put_back', 'answer_report', 'start_cleanup', 'cut_drain', 'rearm_exit', 'exit',
];

describe('lifecycle decider: the whole table', () => {
  test('every phase × event × flags has an answer that names known phases and actions', () => {
    let cells = 0;
    for (const s of everyState()) {
      for (const type of LIFECYCLE_EVENTS) {
        const d = on(s, type);
        cells++;
        expect(DRAIN_PHASES).toContain(d.state.phase);
        for (const a of d.actions) expect(ACTIONS).toContain(a);
        expect(d.why.length).toBeGreaterThan(0);
      }
    }
    expect(cells).toBe(DRAIN_PHASES.length * 64 * LIFECYCLE_EVENTS.length);
  });

  test('invariants that hold in every cell', () => {
    for (const s of everyState()) {
      for (const type of LIFECYCLE_EVENTS) {
        const d = on(s, type);
        const a = d.actions;
        // A drain starts only from idle (or right after an abort finishes), never replays an aborted one.
        if (a.includes('start_drain')) expect(s.phase === 'idle' || (s.phase === 'aborting' && type === 'abort_done')).toBe(true);
        // A refused call alone never drains: only with the kubelet's SIGTERM.
        if (a.includes('start_drain') && type === 'hook_refused') expect(s.terminating).toBe(true);
        if (a.includes('start_drain') && type === 'sigterm') expect(s.hookRefused || (s.owner && !s.joinFoundNoDrain)).toBe(true);
        // /prestop in idle always drains (issue: an aborted report was replayed).
        if (s.phase === 'idle' && type === 'prestop') expect(a).toEqual(['start_drain']);
        // The old report is only given while it stands.
        if (a.includes('answer_last_report')) expect(['drained', 'cleaning_up', 'done']).toContain(s.phase);
        // The deadline always ends a terminating process.
        if (type === 'deadline' && s.terminating) expect(a).toContain('exit');
        // Nothing exits a process that got no SIGTERM.
        if (a.includes('exit')) expect(d.state.terminating).toBe(true);
        // SIGTERM never undoes progress (it starts a drain only after a refused preStop).
        if (type === 'sigterm') expect(d.state.phase).toBe(s.phase === 'idle' && !s.terminating && (s.hookRefused || (s.owner && !s.joinFoundNoDrain)) ? 'locating' : s.phase);
        // Once terminating, always terminating.
        if (s.terminating) expect(d.state.terminating).toBe(true);
        // Only a running drain can be cancelled; a told app cannot be un-told.
        if (a.includes('cancel_drain')) expect(isDraining(s.phase) && s.phase !== 'exiting_app').toBe(true);
        // A returning app puts us back only when the pod is not terminating.
        if (a.includes('put_back')) expect(s.terminating).toBe(false);
      }
    }
  });
});

describe('lifecycle decider: the paths of issue 7 A', () => {
  test('A1: abort, then the pod terminates (SIGTERM first): the /prestop drains afresh', () => {
    let s = on(state('verifying'), 'abort').state;
    expect(s.phase).toBe('aborting');
    s = on(s, 'abort_done').state;
    expect(s).toEqual(INITIAL_STATE);
    const sig = on(s, 'sigterm', AT + 60_000);
    expect(sig.actions).toEqual(['wait_for_prestop']);
    const pre = on(sig.state, 'prestop', AT + 60_100);
    expect(pre.actions).toEqual(['start_drain']);
    expect(pre.state.terminationStartedAt).toBe(AT + 60_000);
  });

  test('A2: after an abort the termination clock starts again from the next event', () => {
    const first = on(state('idle'), 'prestop', AT).state;
    const aborted = on(on(first, 'abort').state, 'abort_done').state;
    expect(aborted.terminationStartedAt).toBeUndefined();
    expect(on(aborted, 'prestop', AT + 500_000).state.terminationStartedAt).toBe(AT + 500_000);
  });

  test('A1 variant: /prestop while the abort is still putting the instance back is queued, then drains', () => {
    const queued = on(state('aborting'), 'prestop');
    expect(queued.actions).toEqual([]);
    expect(queued.state.prestopQueued).toBe(true);
    const done = on(queued.state, 'abort_done');
    expect(done.actions).toEqual(['start_drain']);
    expect(done.state.phase).toBe('locating');
  });

  test('A4: the app back after a drain (no SIGTERM) returns to idle and takes the override off', () => {
    for (const phase of ['drained', 'cleaning_up', 'done'] as const) {
      const d = on(state(phase, { tookOut: true }), 'app_back');
      expect(d.state.phase).toBe('idle');
      expect(d.actions).toEqual(['put_back']);
    }
    expect(on(state('drained', { terminating: true }), 'app_back').state.phase).toBe('drained');
  });

  test('A5: /prestop after the SIGTERM wait expired runs a real drain', () => {
    const s = on(on(state('idle'), 'sigterm').state, 'prestop_wait_over');
    expect(s.actions).toEqual(['watch_app']);
    expect(on(s.state, 'prestop').actions).toEqual(['start_drain']);
  });

  test('issue 13 A2: our own preStop with no drain, then SIGTERM: exit at once', () => {
    const joined = on(state('idle'), 'join');
    expect(joined.actions).toEqual(['wait_for_drain_start']);
    const timedOut = on(joined.state, 'join_timed_out');
    expect(timedOut.actions).toEqual(['answer_not_joined']);
    expect(on(timedOut.state, 'sigterm').actions).toEqual(['exit']);
    // But the app's /prestop after a lonely join still drains.
    expect(on(timedOut.state, 'prestop').actions).toEqual(['start_drain']);
  });

  test('issue 9: a refused kubelet preStop (token mismatch) plus SIGTERM drains anyway, in either order', () => {
    const refusedFirst = on(state('idle'), 'hook_refused');
    expect(refusedFirst.actions).toEqual([]);
    expect(on(refusedFirst.state, 'sigterm').actions).toEqual(['start_drain']);
    const sigtermFirst = on(state('idle'), 'sigterm').state;
    expect(on(sigtermFirst, 'hook_refused').actions).toEqual(['start_drain']);
    // Alone, or long before the signal, it changes nothing.
    expect(on(on(refusedFirst.state, 'hook_refusal_expired').state, 'sigterm').actions).toEqual(['wait_for_prestop']);
  });

  test('owner mode: SIGTERM alone drains (nobody else holds the registration), except a lonely own-hook restart', () => {
    expect(on(state('idle', { owner: true }), 'sigterm').actions).toEqual(['start_drain']);
    expect(on(state('idle', { owner: true, joinFoundNoDrain: true }), 'sigterm').actions).toEqual(['exit']);
  });

  test('issue 13 C9: preStop delivered again after a finished drain gets the same report', () => {
    for (const phase of ['drained', 'cleaning_up', 'done'] as const) expect(on(state(phase), 'prestop').actions).toEqual(['answer_last_report']);
  });

  test('how /prestop is answered follows the decider: start, join, the standing report, or queued behind an abort', () => {
    expect(prestopAnswer(on(state('idle'), 'prestop').actions)).toBe('started');
    expect(prestopAnswer(on(state('verifying'), 'prestop').actions)).toBe('joined');
    expect(prestopAnswer(on(state('done'), 'prestop').actions)).toBe('finished');
    expect(prestopAnswer(on(state('aborting'), 'prestop').actions)).toBe('queued');
  });

  test('the happy path, step by step', () => {
    let s = INITIAL_STATE;
    const seq: [LifecycleEventType, DrainPhase][] = [
      ['prestop', 'locating'], ['located', 'taking_out'], ['taken_out', 'verifying'], ['verified', 'waiting_clients'],
      ['window_elapsed', 'waiting_tail'], ['tail_elapsed', 'exiting_app'], ['app_told', 'drained'], ['sigterm', 'drained'],
      ['app_gone', 'cleaning_up'], ['cleaned', 'done'],
    ];
    for (const [event, to] of seq) {
      s = on(s, event).state;
      expect([event, s.phase]).toEqual([event, to]);
    }
    expect(on(on(state('cleaning_up', { terminating: true }), 'cleaned').state, 'cleaned').actions).toEqual([]);
    expect(on(state('cleaning_up', { terminating: true }), 'cleaned').actions).toEqual(['exit']);
  });

  test('abort is refused once the app was told, and when nothing runs', () => {
    for (const phase of ['idle', 'exiting_app', 'drained', 'cleaning_up', 'done', 'aborting'] as const) expect(on(state(phase), 'abort').actions).toEqual(['refuse_abort']);
  });
});

describe('exit codes', () => {
  test.each<[DrainPhase, boolean, number]>([
    ['done', false, 0],
    ['done', true, 1],
    ['idle', false, 0], // no drain in this termination, or this container alone restarting: nothing of ours left
    ['drained', false, 1], // the app never went before the deadline: our override is still on it
    ['cleaning_up', false, 1],
    ['waiting_tail', false, 1],
  ])('%s (left something: %s) → %i', (phase, left, code) => {
    expect(exitCodeFor(state(phase, { leftBehind: left }))).toBe(code);
  });
});

describe('decisions that were the controller\'s (issue 24 A2)', () => {
  const RULES = { gracePeriodMs: 60_000, drainBudgetMs: 40_000, appShutdownMs: 10_000, marginMs: 5_000 };

  test('a drain that failed (a bug) answers with what it knows and watches the app, from any running phase', () => {
    for (const phase of ['locating', 'taking_out', 'verifying', 'waiting_clients', 'waiting_tail', 'exiting_app'] as const) {
      const d = on(state(phase), 'drain_failed');
      expect([phase, d.state.phase, d.actions]).toEqual([phase, 'drained', ['answer_report', 'watch_app']]);
    }
    for (const phase of ['idle', 'aborting', 'drained', 'done'] as const) expect(on(state(phase), 'drain_failed').state.phase).toBe(phase);
  });

  test('the report stands from app_told, before the app is watched', () => {
    expect(on(state('exiting_app'), 'app_told').actions).toEqual(['answer_report', 'watch_app']);
  });

  test('a clean-up that left something makes the exit code 1; a new drain forgets it', () => {
    const partly = on(state('cleaning_up', { terminating: true }), 'cleaned_partly');
    expect(partly.actions).toEqual(['exit']);
    expect(exitCodeFor(partly.state)).toBe(1);
    expect(exitCodeFor(on(state('cleaning_up', { terminating: true }), 'cleaned').state)).toBe(0);
    expect(on(state('idle', { leftBehind: true }), 'prestop').state.leftBehind).toBe(false);
  });

  test('the process exits once: a deadline after the clean-up\'s exit gives no second exit', () => {
    const exited = on(state('cleaning_up', { terminating: true }), 'cleaned').state;
    expect(exited.exited).toBe(true);
    expect(on(exited, 'deadline').actions).toEqual([]);
  });

  test('each watch_app or put_back starts a new watch; news from an older one is stale', () => {
    const told = on(state('exiting_app'), 'app_told').state;
    expect(told.watch).toBe(1);
    const terminating = { ...told, terminating: true };
    expect(on(terminating, 'app_gone').state.phase).toBe('cleaning_up'); // no watch named: applies
    const back = decide(told, { type: 'app_back', at: AT, watch: 1 });
    expect([back.state.phase, back.actions, back.state.watch]).toEqual(['idle', ['put_back'], 2]);
    expect(decide(terminating, { type: 'app_gone', at: AT, watch: 0 }).state.phase).toBe('drained');
    expect(decide(terminating, { type: 'app_gone', at: AT, watch: 1 }).state.phase).toBe('cleaning_up');
  });

  test('the pod\'s end only moves earlier; a running drain is cut, a terminating process re-arms its exit', () => {
    const first = decide(state('waiting_clients', { terminating: true, terminationStartedAt: AT }), { type: 'grace_end', at: AT + 30_000 });
    expect([first.state.podEndsAt, first.actions]).toEqual([AT + 30_000, ['cut_drain', 'rearm_exit']]);
    expect(decide(first.state, { type: 'grace_end', at: AT + 40_000 }).actions).toEqual([]);
    expect(decide(first.state, { type: 'grace_end', at: AT + 40_000 }).state.podEndsAt).toBe(AT + 30_000);
    expect(decide(state('done'), { type: 'grace_end', at: AT }).actions).toEqual([]);
    expect(decide(state('aborting'), { type: 'grace_end', at: AT }).actions).toEqual(['cut_drain']);
  });

  test('the exit deadline: from the termination\'s start, or now; a told end later than the configured one moves nothing', () => {
    const t = state('drained', { terminating: true, terminationStartedAt: AT });
    expect(exitDeadlineOf(RULES, t, AT + 5_000)).toBe(AT + 60_000 - EXIT_LEAD_MS);
    expect(exitDeadlineOf(RULES, state('idle'), AT + 5_000)).toBe(AT + 65_000 - EXIT_LEAD_MS);
    expect(exitMovedEarlier(RULES, t, { ...t, podEndsAt: AT + 30_000 }, AT)).toBe(true);
    expect(exitMovedEarlier(RULES, t, { ...t, podEndsAt: AT + 90_000 }, AT)).toBe(false);
  });

  test('how long a watch and a clean-up may run', () => {
    const t = state('drained', { terminating: true, terminationStartedAt: AT });
    expect(watchUntil(RULES, t, AT + 1_000)).toBe(AT + 60_000 - EXIT_LEAD_MS);
    expect(watchUntil(RULES, state('drained'), AT)).toBe(AT + 60_000);
    expect(cleanupUntil(RULES, t, AT + 1_000)).toBe(AT + 60_000 - EXIT_LEAD_MS);
    expect(cleanupUntil(RULES, state('idle'), AT)).toBe(AT + IDLE_CLEANUP_MS);
  });

  test('what main.ts and start-up ask: ready until terminating; the pod deadline matters once anything began; at rest only idle and not terminating', () => {
    expect(atRest(state('idle'))).toBe(true);
    expect(atRest(state('idle', { terminating: true }))).toBe(false);
    expect(atRest(state('done'))).toBe(false);
    expect(acceptsTraffic(state('drained'))).toBe(true);
    expect(acceptsTraffic(state('idle', { terminating: true }))).toBe(false);
    expect(followsPodDeadline(state('idle'))).toBe(false);
    expect(followsPodDeadline(state('locating'))).toBe(true);
    expect(followsPodDeadline(state('idle', { terminating: true }))).toBe(true);
  });
});
