import { DRAIN_PHASES, TRANSITIONS, isDraining, transition, type DrainEvent, type DrainPhase } from '../../../src/drain/machine';

describe('drain state machine', () => {
  test.each<[DrainPhase, DrainEvent, DrainPhase]>([
    ['idle', 'start', 'locating'],
    ['locating', 'located', 'taking_out'],
    ['locating', 'not_located', 'waiting_clients'],
    ['taking_out', 'taken_out', 'verifying'],
    ['verifying', 'verified', 'waiting_clients'],
    ['waiting_clients', 'window_elapsed', 'waiting_tail'],
    ['waiting_tail', 'tail_elapsed', 'exiting_app'],
    ['exiting_app', 'app_told', 'drained'],
    ['drained', 'cleanup_started', 'cleaning_up'],
    ['cleaning_up', 'cleaned', 'done'],
    ['verifying', 'abort', 'aborted'],
    ['waiting_tail', 'abort', 'aborted'],
    ['aborted', 'start', 'locating'],
    ['idle', 'cleanup_started', 'cleaning_up'],
    ['done', 'reset', 'idle'],
  ])('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  test.each<[DrainPhase, DrainEvent]>([
    ['idle', 'verified'],
    ['exiting_app', 'abort'],
    ['drained', 'start'],
    ['done', 'start'],
    ['cleaning_up', 'abort'],
  ])('%s ignores %s', (from, event) => {
    expect(transition(from, event)).toBe(from);
  });

  test('the table is total and only names known phases', () => {
    for (const phase of DRAIN_PHASES) {
      expect(TRANSITIONS[phase]).toBeDefined();
      for (const to of Object.values(TRANSITIONS[phase])) expect(DRAIN_PHASES).toContain(to);
    }
  });

  test('a drain is under way from locating to exiting_app', () => {
    expect(DRAIN_PHASES.filter(isDraining)).toEqual(['locating', 'taking_out', 'verifying', 'waiting_clients', 'waiting_tail', 'exiting_app']);
  });
});
