import type { AppExitResult } from '../app-exit';
import type { ChangeAnswer } from './deps';
import type { LiveDeadlines } from './live-deadlines';

/**
 * What one drain learned and did on one Eureka server: that server's cell, filled from its per-server steps'
 * results (take-out, verify, keep-out) as they arrive, so /drain and the waits read it live; read by the report.
 */
export interface ServerState {
  readonly server: string;
  put: 'pending' | 'ok' | 'not_found' | 'failed';
  /** When this server first accepted our override. */
  putAt?: number;
  /** When this server last accepted our override: the change reached it then (a restore moves it). */
  changedAt?: number;
  liveVerifiedAt?: number;
  cacheVerifiedAt?: number;
  lastStaleSeenAt?: number;
  /** When the verification loop for this server gave up. */
  gaveUpAt?: number;
  settledAt?: number;
  /** Times our override vanished during the waits and was put back. */
  restored: number;
  error?: string;
  cleanup?: 'pending' | 'deleted' | 'deleted_again' | 'absent' | 'failed' | 'unreachable' | 'skipped';
}

export type TailEnd = 'fixed' | 'idle' | 'metric_unreadable' | 'deadline';

/** The per-drain record: created by the controller, assembled by run.ts from the steps' results as they arrive, never shared between drains. */
export interface DrainRecord {
  readonly startedAt: number;
  /** When /prestop must have answered, when the process must be gone, …: read live, they move earlier if Kubernetes shortens the grace period. */
  readonly deadlines: LiveDeadlines;
  readonly servers: ServerState[];
  readonly problems: string[];
  instanceId?: string;
  /** The registration time Eureka held for our instance when the drain found it: a newer one means the app registered again. */
  registeredAt?: number;
  /** When the client window ends by the evidence so far (the end the drain waits for). */
  windowEnd?: number;
  /** When the drain stopped waiting for the client window: its end, or the deadline. */
  windowWaitedUntil?: number;
  tailEnd?: TailEnd;
  tailEndedAt?: number;
  appExit?: AppExitResult;
  /** A step ran into the deadline. */
  cutShort: boolean;
  aborted: boolean;
  /** Take-out requests still in flight: an abort waits for them before putting the instance back. */
  readonly inFlight: Set<Promise<unknown>>;
}

/** What is known before the first step: whether the plan fits, and whether anything held the app. */
export interface DrainStart {
  readonly planFits: boolean;
  /** Started after a refused preStop call (machine.ts appNotHeld): the app was already stopping. */
  readonly appNotHeld: boolean;
}

export function newRecord(serverLabels: readonly string[], startedAt: number, deadlines: LiveDeadlines, start: DrainStart): DrainRecord {
  const problems: string[] = [];
  if (!start.planFits) problems.push(`plan does not fit the grace period; waits are cut at ${new Date(deadlines.current().answerBy).toISOString()}`);
  // Never better than what happened: the app was stopped before its callers let go.
  if (start.appNotHeld) problems.push('started after a refused preStop call (token or source mismatch): nothing held the app, which got SIGTERM at once; callers may have failed until they let go of it');
  return {
    startedAt,
    deadlines,
    servers: serverLabels.map((server) => ({ server, put: 'pending', restored: 0 })),
    problems,
    cutShort: start.appNotHeld,
    aborted: false,
    inFlight: new Set(),
  };
}

/** A piece of one server's evidence as a step reports it (verify.ts): the fields it sets; `error` given as undefined clears the cell's error. */
export type ServerEvidencePiece = Partial<Pick<ServerState, 'put' | 'putAt' | 'changedAt' | 'liveVerifiedAt' | 'cacheVerifiedAt' | 'lastStaleSeenAt' | 'error' | 'gaveUpAt'>>;

/** One server's cell after a piece of its evidence arrived. */
export function recordEvidence(state: ServerState, piece: ServerEvidencePiece): void {
  Object.assign(state, piece);
  if ('error' in piece && piece.error === undefined) delete state.error;
}

/** Pure: what a change's answer adds to a cell whose first accepted change was at `putAt`: accepted moves `changedAt` (and sets `putAt` the first time) and clears the error. */
export function changeEvidence(answer: ChangeAnswer, putAt: number | undefined): ServerEvidencePiece {
  return answer.put === 'ok' ? { put: 'ok', putAt: putAt ?? answer.at, changedAt: answer.at, error: undefined } : { put: answer.put, error: answer.error };
}

/** One server's cell after a change's answer (changeEvidence). */
export function recordChange(state: ServerState, answer: ChangeAnswer): void {
  recordEvidence(state, changeEvidence(answer, state.putAt));
}

/** One server's cell after keep-out.ts put a vanished change back: accepted, what was proven before proves nothing now. */
export function recordRestore(state: ServerState, answer: ChangeAnswer): void {
  recordChange(state, answer);
  if (answer.put !== 'ok') return;
  state.restored++;
  delete state.cacheVerifiedAt;
}
