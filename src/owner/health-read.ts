import axios, { type AxiosInstance } from 'axios';
import type { Readable } from 'node:stream';
import { withTimeout } from '../clock';
import { describeError } from '../errors';

export type HealthCheckResult = 'healthy' | 'unhealthy' | 'error';

export interface HealthAnswer {
  readonly result: HealthCheckResult;
  /** "HTTP 200", "HTTP 503", "timed out after 2000 ms", "connection refused (…)": for logs. */
  readonly detail: string;
}

/** One read of the app's health URL. Injected, so tests need no server. */
export type HealthRead = (url: string, signal: AbortSignal) => Promise<HealthAnswer>;

/**
 * The real read: GET, 2xx = healthy, any other status = unhealthy, a timeout
 * or a refused connection = error (which the gate counts as a failure). The
 * body is never read: a health page is judged by its status, and a large or
 * endless body must not hold the poller.
 */
export function httpHealthRead(timeoutMs: number, http: AxiosInstance = axios.create()): HealthRead {
  return async (url, signal) => {
    const attempt = withTimeout(timeoutMs, signal);
    try {
      const response = await http.get<Readable>(url, {
        responseType: 'stream',
        validateStatus: () => true,
        maxRedirects: 0,
        signal: attempt,
        headers: { Accept: 'application/json, */*' },
      });
      response.data?.destroy?.();
      const ok = response.status >= 200 && response.status < 300;
      return { result: ok ? 'healthy' : 'unhealthy', detail: `HTTP ${response.status}` };
    } catch (error) {
      signal.throwIfAborted();
      return { result: 'error', detail: attempt.aborted ? `timed out after ${timeoutMs} ms` : describeError(error) };
    }
  };
}
