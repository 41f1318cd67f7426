/**
 * Owner mode's registration lifecycle, as a table: what the registrar is
 * doing (running: heartbeats and health-driven registration on) and which
 * servers hold our registration. Pure: the registrar tells it what happened
 * and reads from it whether it is registered (for /readyz and the
 * registered_status metric) and what a resume must do. The drain's take-out (drain/owner-mode.ts)
 * reaches it through the registrar: stop, then a cancel per server.
 */
export interface RegistrationState {
  /** idle: heartbeats off (not started, or stopped by the drain); running: on; closed: the process is ending. */
  readonly phase: 'idle' | 'running' | 'closed';
  /** The servers (labels) that accepted our registration and did not have it cancelled since. */
  readonly heldBy: readonly string[];
  /** A server accepted a registration once: a resume registers again at once instead of waiting for the app's health. */
  readonly everRegistered: boolean;
}

export type RegistrationEvent =
  | { readonly type: 'start' } // start() or a resume: heartbeats and health-driven registration on
  | { readonly type: 'accepted'; readonly server: string } // a server took a registration while running
  | { readonly type: 'stop' } // the drain stopped the heartbeats
  | { readonly type: 'cancelled'; readonly server: string } // the drain cancelled (or found absent) our instance on a server
  | { readonly type: 'close' }; // process exit

export const INITIAL_REGISTRATION: RegistrationState = { phase: 'idle', heldBy: [], everRegistered: false };

const TABLE: { readonly [E in RegistrationEvent['type']]: (s: RegistrationState, e: Extract<RegistrationEvent, { type: E }>) => RegistrationState } = {
  start: (s) => (s.phase === 'closed' ? s : { ...s, phase: 'running' }),
  // A registration that lands after stop() is not counted: the cancel that follows removes it.
  accepted: (s, e) => (s.phase !== 'running' ? s : { ...s, heldBy: s.heldBy.includes(e.server) ? s.heldBy : [...s.heldBy, e.server], everRegistered: true }),
  stop: (s) => (s.phase === 'closed' ? s : { ...s, phase: 'idle' }),
  cancelled: (s, e) => ({ ...s, heldBy: s.heldBy.filter((server) => server !== e.server) }),
  close: (s) => ({ ...s, phase: 'closed' }),
};

/** Pure: the state after `event`. */
export function nextRegistration(state: RegistrationState, event: RegistrationEvent): RegistrationState {
  return (TABLE[event.type] as (s: RegistrationState, e: RegistrationEvent) => RegistrationState)(state, event);
}

/** Pure: /readyz may say ready (a server holds our registration). */
export function isRegistered(state: RegistrationState): boolean {
  return state.heldBy.length > 0;
}

/**
 * Pure: what resume() does. Running already: nothing. Never registered: the
 * first start (wait for the app's health). Registered once (a drain was
 * aborted, or the app came back): register again at once and heartbeat.
 */
export function resumeBy(state: RegistrationState): 'refuse' | 'nothing' | 'start' | 'register_again' {
  if (state.phase === 'closed') return 'refuse';
  if (state.phase === 'running') return 'nothing';
  return state.everRegistered ? 'register_again' : 'start';
}
