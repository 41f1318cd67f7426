import { types } from 'node:util';
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/types';
import { describeError } from './errors';

export type { Logger };

/** One JSON logger for the process; components take children with `{ component }`. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'eureka-drainer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errorField },
      // Belt and braces: credentials never reach a log line even if passed by mistake.
      redact: { paths: ['password', '*.password', 'token', '*.token', 'headers.authorization', 'headers["x-drainer-token"]'], censor: '[redacted]' },
    },
    destination,
  );
}

/** Room for an API's own refusal after ours (a 403 names the service account, the verb and the resource). */
const MESSAGE_MAX_CHARS = 1000;

/** What a log line's `err` holds. */
export interface ErrorField {
  readonly type?: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
}

/**
 * The `err` field: the error's type, a message that says what went wrong (describeError: a refused connection
 * reads as a phrase, not as an empty AggregateError), the stack with its causes, and the code when it has one.
 * Nothing else the error carries: pino's own serializer copies every property, and an axios error holds the
 * request, its headers and the Eureka credentials.
 */
export function errorField(value: unknown): ErrorField {
  if (!types.isNativeError(value) && !(value instanceof Error)) return { message: describeError(value, MESSAGE_MAX_CHARS) };
  const { type, stack } = pino.stdSerializers.err(value);
  const code = (value as { code?: unknown }).code;
  return { type, message: describeError(value, MESSAGE_MAX_CHARS), stack, ...(typeof code === 'string' ? { code } : {}) };
}
