/**
 * The drain as a pure transition table. Phases are snake_case so they double
 * as JSON values and metric labels. An event that does not apply in a phase
 * leaves the phase unchanged; the controller logs that at debug.
 */
export const DRAIN_PHASES = [
  'idle',
  'locating',
  'taking_out',
  'verifying',
  'waiting_clients',
  'waiting_tail',
  'exiting_app',
  'drained',
  'cleaning_up',
  'done',
  'aborted',
] as const;

export type DrainPhase = (typeof DRAIN_PHASES)[number];

export type DrainEvent =
  | 'start'
  | 'located'
  | 'not_located'
  | 'taken_out'
  | 'verified'
  | 'window_elapsed'
  | 'tail_elapsed'
  | 'app_told'
  | 'cleanup_started'
  | 'cleaned'
  | 'abort'
  | 'reset';

const ABORTABLE: Partial<Record<DrainEvent, DrainPhase>> = { abort: 'aborted' };

export const TRANSITIONS: Readonly<Record<DrainPhase, Partial<Record<DrainEvent, DrainPhase>>>> = {
  idle: { start: 'locating', cleanup_started: 'cleaning_up' },
  locating: { located: 'taking_out', not_located: 'waiting_clients', ...ABORTABLE },
  taking_out: { taken_out: 'verifying', ...ABORTABLE },
  verifying: { verified: 'waiting_clients', ...ABORTABLE },
  waiting_clients: { window_elapsed: 'waiting_tail', ...ABORTABLE },
  waiting_tail: { tail_elapsed: 'exiting_app', ...ABORTABLE },
  exiting_app: { app_told: 'drained' },
  drained: { cleanup_started: 'cleaning_up', reset: 'idle' },
  cleaning_up: { cleaned: 'done', reset: 'idle' },
  done: { reset: 'idle' },
  aborted: { start: 'locating', reset: 'idle', cleanup_started: 'cleaning_up' },
};

/** Total and pure: the next phase, or the same one when the event does not apply. */
export function transition(phase: DrainPhase, event: DrainEvent): DrainPhase {
  return TRANSITIONS[phase][event] ?? phase;
}

/** Phases in which a drain is under way and /prestop joins it. */
export function isDraining(phase: DrainPhase): boolean {
  return phase === 'locating' || phase === 'taking_out' || phase === 'verifying' || phase === 'waiting_clients' || phase === 'waiting_tail' || phase === 'exiting_app';
}
