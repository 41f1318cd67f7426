import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/types';

export type { Logger };

/** One JSON logger for the process; components take children with `{ component }`. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'eureka-drainer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: credentials never reach a log line even if passed by mistake.
      redact: { paths: ['password', '*.password', 'token', '*.token', 'headers.authorization', 'headers["x-drainer-token"]'], censor: '[redacted]' },
    },
    destination,
  );
}
