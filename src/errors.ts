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

/** Message of any thrown value, bounded so it cannot flood a log line. */
export function describeError(error: unknown, maxLength = 300): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
