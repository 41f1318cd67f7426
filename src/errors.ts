/**
 * Errors carry a stable `code`; callers and tests branch on it, never on the
 * message text.
 */
export class DrainerError extends Error {
  override name = 'DrainerError';
  readonly code: string = 'DRAINER_ERROR';
}

export class ConfigError extends DrainerError {
  override name = 'ConfigError';
  override readonly code = 'DRAINER_CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

export class EurekaRequestError extends DrainerError {
  override name = 'EurekaRequestError';
  override readonly code = 'DRAINER_EUREKA_REQUEST_FAILED';
  constructor(
    readonly operation: string,
    readonly server: string,
    readonly status: number | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`eureka ${operation} on ${server} failed: ${message}`, options);
  }
}

export class EurekaCodecError extends DrainerError {
  override name = 'EurekaCodecError';
  override readonly code = 'DRAINER_EUREKA_BAD_RESPONSE';
}

export class InstanceNotFoundError extends DrainerError {
  override name = 'InstanceNotFoundError';
  override readonly code = 'DRAINER_INSTANCE_NOT_FOUND';
}

/** Raised while reading a body that is longer than the read allows; the caller turns it into a request error. */
export class BodyTooLargeError extends DrainerError {
  override name = 'BodyTooLargeError';
  override readonly code = 'DRAINER_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`answered more than ${formatBytes(limit)}; refusing to read it`);
  }
}

/** `eureka-drainer check` could not read what it needs from the cluster (the kubeconfig, the API). */
export class ClusterReadError extends DrainerError {
  override name = 'ClusterReadError';
  override readonly code = 'DRAINER_CLUSTER_UNREADABLE';
}

/** This package's version could not be read from its package.json (missing, not JSON, or no usable "version"). */
export class VersionError extends DrainerError {
  override name = 'VersionError';
  override readonly code = 'DRAINER_VERSION_UNREADABLE';
}

/** `8 MiB`, `256 KiB`, `1.5 MiB`, `512 bytes`: sizes as people write limits. */
export function formatBytes(bytes: number): string {
  const units: readonly [number, string][] = [
    [1024 * 1024 * 1024, 'GiB'],
    [1024 * 1024, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

/**
 * Socket error codes worth a phrase: their own messages are terse
 * ("connect ECONNREFUSED …") or, for a dual-stack host, empty.
 */
const NETWORK_PHRASES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  ERR_STREAM_PREMATURE_CLOSE: 'connection closed before the answer ended',
};

interface ErrorFields {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

const fields = (value: unknown): ErrorFields => (typeof value === 'object' && value !== null ? value : {});

/** A system error from a socket or DNS call, or one whose code has a phrase. */
const isSocketError = (e: ErrorFields): e is ErrorFields & { readonly code: string } =>
  typeof e.code === 'string' && (e.code in NETWORK_PHRASES || typeof e.syscall === 'string');

/**
 * The socket-level errors inside `error`: itself, the `cause` an HTTP client
 * wraps it in, and the per-address attempts of an AggregateError (Node tries
 * ::1 and 127.0.0.1 for `localhost` and reports both, with an empty message).
 */
function socketErrors(error: unknown, depth = 0): (ErrorFields & { readonly code: string })[] {
  const e = fields(error);
  if (depth > 4) return [];
  const members = Array.isArray(e.errors) ? e.errors.flatMap((inner) => socketErrors(inner, depth + 1)) : [];
  if (members.length > 0) return members;
  const causes = e.cause !== undefined ? socketErrors(e.cause, depth + 1) : [];
  if (causes.length > 0) return causes;
  return isSocketError(e) ? [e] : [];
}

function where(e: ErrorFields): string {
  if (typeof e.address === 'string') {
    const host = e.address.includes(':') ? `[${e.address}]` : e.address;
    return typeof e.port === 'number' ? `${host}:${e.port}` : host;
  }
  return typeof e.hostname === 'string' ? e.hostname : '';
}

/**
 * "connection refused (ECONNREFUSED [::1]:9, 127.0.0.1:9)", one part per
 * code when the addresses failed differently; undefined when `error` holds no
 * socket error.
 */
function describeSocketError(error: unknown): string | undefined {
  const byCode = new Map<string, { phrase: string; places: Set<string> }>();
  for (const e of socketErrors(error)) {
    const entry = byCode.get(e.code) ?? { phrase: NETWORK_PHRASES[e.code] ?? `${typeof e.syscall === 'string' ? e.syscall : 'socket call'} failed`, places: new Set() };
    const place = where(e);
    if (place) entry.places.add(place);
    byCode.set(e.code, entry);
  }
  if (byCode.size === 0) return undefined;
  return [...byCode].map(([code, { phrase, places }]) => `${phrase} (${[code, [...places].join(', ')].filter(Boolean).join(' ')})`).join('; ');
}

/** The first non-empty message along `error`, its AggregateError members and its causes. */
function firstMessage(error: unknown, depth = 0): string {
  if (depth > 4) return '';
  const e = fields(error);
  const own = typeof e.message === 'string' ? e.message.trim() : '';
  if (own) return own;
  if (Array.isArray(e.errors)) {
    const inner = [...new Set(e.errors.map((x) => firstMessage(x, depth + 1)).filter(Boolean))];
    if (inner.length > 0) return inner.join('; ');
  }
  return e.cause !== undefined ? firstMessage(e.cause, depth + 1) : '';
}

/**
 * Message of any thrown value, never empty (an empty one once reached the
 * status endpoint as `error: null`), bounded so it cannot flood a log line.
 */
export function describeError(error: unknown, maxLength = 300): string {
  const text = describeAnything(error);
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}

function describeAnything(error: unknown): string {
  if (typeof error !== 'object' || error === null) {
    const text = String(error).trim();
    return text || `empty ${typeof error} thrown`;
  }
  // A socket error, or an HTTP client's wrapper of one, gets the phrase; an
  // error with its own message (a request error naming server and operation)
  // keeps that message, which already says what went wrong.
  const { message: ownMessage } = fields(error);
  const isSocket = isSocketError(fields(error));
  const hasOwnMessage = typeof ownMessage === 'string' && ownMessage.trim() !== '';
  if (isSocket || !hasOwnMessage) {
    const socket = describeSocketError(error);
    if (socket) return socket;
  }
  const message = firstMessage(error);
  if (message) return message;
  const { code } = fields(error);
  const name = error instanceof Error ? error.name : (error.constructor?.name ?? 'object');
  return typeof code === 'string' && code ? `${name} ${code} (no message)` : `${name} with no message`;
}
