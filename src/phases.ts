/**
 * The names the drain and its metrics share. They live below both, so the
 * metrics layer never imports the drain: phases are snake_case so they double
 * as JSON values and metric labels.
 */
export const DRAIN_PHASES = [
  'idle',
  'locating',
  'taking_out',
  'verifying',
  'waiting_clients',
  'waiting_tail',
  'exiting_app',
  'aborting',
  'drained',
  'cleaning_up',
  'done',
] as const;

export type DrainPhase = (typeof DRAIN_PHASES)[number];

/** What the callers were exposed to, never better than it was (DESIGN §3 step 8). */
export const DRAIN_OUTCOMES = ['verified', 'partly_verified', 'unverified', 'not_taken_out', 'cut_short', 'aborted'] as const;
export type DrainOutcome = (typeof DRAIN_OUTCOMES)[number];
