import axios, { type AxiosInstance } from 'axios';
import { Readable } from 'node:stream';
import { withTimeout, type Clock } from '../clock';
import type { EurekaServerConfig } from '../config';
import { BodyTooLargeError, EurekaCodecError, EurekaRequestError, describeError, formatBytes } from '../errors';
import {
  decodeApplicationDocument,
  decodeApplicationsDocument,
  decodeInstanceDocument,
  type EurekaApplications,
  type EurekaInstance,
} from './codec';
import { readBody, readPrefix, type ReadProgress } from './read-body';

/** Operation names double as metric label values. */
export type EurekaOperation =
  | 'get_application'
  | 'get_applications'
  | 'get_delta'
  | 'get_instance'
  | 'put_status'
  | 'remove_status'
  | 'cancel'
  | 'register'
  | 'heartbeat';

export type EurekaResult = 'success' | 'not_found' | 'client_error' | 'server_error' | 'network_error' | 'bad_response';

/** The operations whose answer is read and decoded; every other answer is only glanced at. */
export type EurekaReadOperation = 'get_application' | 'get_applications' | 'get_delta' | 'get_instance';

/**
 * The most a 2xx body may be, after decompression. An instance is 1-3 KB of
 * JSON (1 KB bare as Spring Cloud writes it, more with metadata). Decoding a
 * body costs about 5× its size at the peak, and the drainer reads every
 * server at once: two 8 MiB deltas peak at ~135 MiB RSS, two 16 MiB ones at
 * ~202 MiB, over the 192 Mi of the k8s examples (bench/garbage-body.js). So
 * the limits are what a large registry really sends, with headroom, and no
 * more. A refused read fails like an unreachable server (that server is not
 * verified and counts at its worst case in the plan) instead of the sidecar
 * being killed for memory. Raise them together with the memory limit.
 */
export const DEFAULT_BODY_LIMITS: Readonly<Record<EurekaReadOperation, number>> = {
  // One instance: 256 KiB is ~100 instances' worth, room for any metadata map.
  get_instance: 256 * 1024,
  // One app's instances: 4 MiB is ~1,400 instances at 3 KB (~4,000 at 1 KB);
  // a large app has hundreds.
  get_application: 4 * 1024 * 1024,
  // The instances changed in the last 3 minutes (the server's delta
  // retention), each once, so at most the whole registry: 8 MiB is ~2,700
  // instances at 3 KB (~8,000 at 1 KB) all changing within 3 minutes, 4× the
  // worst case of a 2,000-instance registry (1.9 MiB in the bench).
  get_delta: 8 * 1024 * 1024,
  // The whole registry; the drainer itself never reads it (tests and tools
  // do). The delta's bound, which is the registry's own size in the worst case.
  get_applications: 8 * 1024 * 1024,
};

/** Of a non-2xx answer or a write's answer only this much is read: the start goes into the error message, the rest is not worth the memory. */
const GLANCE_BYTES = 4 * 1024;

export interface EurekaClientOptions {
  readonly timeoutMs: number;
  /** Extra attempts after the first, on network errors and 5xx only. */
  readonly retries: number;
  readonly clock: Clock;
  readonly onRequest?: (operation: EurekaOperation, server: string, result: EurekaResult, seconds: number) => void;
  readonly http?: AxiosInstance;
  /** Backoff base; the n-th retry waits about base × 2^n, with jitter. */
  readonly backoffMs?: number;
  readonly random?: () => number;
  /** Per-operation body limits in bytes; missing ones keep DEFAULT_BODY_LIMITS. */
  readonly bodyLimits?: Partial<Record<EurekaReadOperation, number>>;
}

/** What the drain needs of a Eureka client; tests substitute an in-memory registry. */
export type EurekaApi = Pick<EurekaClient, 'getApplication' | 'getApplications' | 'getDelta' | 'getInstance' | 'setStatusOverride' | 'removeStatusOverride' | 'cancel'>;

/** Found, or the server said 404. */
export type Outcome = 'ok' | 'not_found';

interface RequestSpec {
  readonly operation: EurekaOperation;
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** 404 is an answer here, not an error. */
  readonly notFoundIsAnswer?: boolean;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * The only module that knows Eureka's REST paths. Every call goes to exactly
 * one server (the drainer fans out itself), JSON only, and never carries the
 * replication header: with it the server would not replicate to its peers.
 */
export class EurekaClient {
  private readonly http: AxiosInstance;
  private readonly backoffMs: number;
  private readonly random: () => number;
  private readonly bodyLimits: Readonly<Record<EurekaReadOperation, number>>;

  constructor(private readonly options: EurekaClientOptions) {
    this.http = options.http ?? axios.create();
    this.backoffMs = options.backoffMs ?? 100;
    this.random = options.random ?? Math.random;
    this.bodyLimits = { ...DEFAULT_BODY_LIMITS, ...options.bodyLimits };
  }

  /** GET apps/{APP} (cached on the server); [] when the app has no instances. */
  async getApplication(server: EurekaServerConfig, app: string, signal?: AbortSignal): Promise<EurekaInstance[]> {
    const answer = await this.request(server, { operation: 'get_application', method: 'GET', path: `apps/${enc(app)}`, notFoundIsAnswer: true }, signal);
    if (answer.status === 404) return [];
    return this.decode(server, 'get_application', () => decodeApplicationDocument(answer.body));
  }

  /** GET apps (cached): the full registry, as a caller's first fetch sees it. */
  async getApplications(server: EurekaServerConfig, signal?: AbortSignal): Promise<EurekaApplications> {
    const answer = await this.request(server, { operation: 'get_applications', method: 'GET', path: 'apps' }, signal);
    return this.decode(server, 'get_applications', () => decodeApplicationsDocument(answer.body));
  }

  /** GET apps/delta (cached): the key callers poll, so what callers see. */
  async getDelta(server: EurekaServerConfig, signal?: AbortSignal): Promise<EurekaApplications> {
    const answer = await this.request(server, { operation: 'get_delta', method: 'GET', path: 'apps/delta' }, signal);
    return this.decode(server, 'get_delta', () => decodeApplicationsDocument(answer.body));
  }

  /** GET apps/{APP}/{ID}: the live registry, not cached; null when absent or expired. */
  async getInstance(server: EurekaServerConfig, app: string, id: string, signal?: AbortSignal): Promise<EurekaInstance | null> {
    const answer = await this.request(
      server,
      { operation: 'get_instance', method: 'GET', path: `apps/${enc(app)}/${enc(id)}`, notFoundIsAnswer: true },
      signal,
    );
    if (answer.status === 404) return null;
    return this.decode(server, 'get_instance', () => decodeInstanceDocument(answer.body));
  }

  /**
   * PUT apps/{APP}/{ID}/status?value=…: the status override, which wins over
   * the app's own UP heartbeats and re-registrations until it is removed or the
   * lease is cancelled. A lastDirtyTimestamp of "now" makes this copy the
   * newest, so a peer that missed it converges on the next heartbeat.
   */
  async setStatusOverride(
    server: EurekaServerConfig,
    app: string,
    id: string,
    status: 'OUT_OF_SERVICE',
    lastDirtyTimestamp: number,
    signal?: AbortSignal,
  ): Promise<Outcome> {
    const answer = await this.request(
      server,
      {
        operation: 'put_status',
        method: 'PUT',
        path: `apps/${enc(app)}/${enc(id)}/status`,
        query: { value: status, lastDirtyTimestamp: String(lastDirtyTimestamp) },
        notFoundIsAnswer: true,
      },
      signal,
    );
    return answer.status === 404 ? 'not_found' : 'ok';
  }

  /**
   * DELETE apps/{APP}/{ID}/status with no `value`: the status becomes UNKNOWN,
   * the app's next heartbeat gets 404 and it re-registers with its real status.
   * (`value=UP` would force UP on an app that may be DOWN.)
   */
  async removeStatusOverride(server: EurekaServerConfig, app: string, id: string, lastDirtyTimestamp: number, signal?: AbortSignal): Promise<Outcome> {
    const answer = await this.request(
      server,
      {
        operation: 'remove_status',
        method: 'DELETE',
        path: `apps/${enc(app)}/${enc(id)}/status`,
        query: { lastDirtyTimestamp: String(lastDirtyTimestamp) },
        notFoundIsAnswer: true,
      },
      signal,
    );
    return answer.status === 404 ? 'not_found' : 'ok';
  }

  /** DELETE apps/{APP}/{ID}: cancels the lease. Undone by the next heartbeat if the app still runs. */
  async cancel(server: EurekaServerConfig, app: string, id: string, signal?: AbortSignal): Promise<Outcome> {
    const answer = await this.request(server, { operation: 'cancel', method: 'DELETE', path: `apps/${enc(app)}/${enc(id)}`, notFoundIsAnswer: true }, signal);
    return answer.status === 404 ? 'not_found' : 'ok';
  }

  /**
   * POST apps/{APP} with a complete instance document the caller built (owner
   * mode sets every field a Spring Cloud caller reads). 204 on success; a 400
   * names the missing field in its text, which the error message carries.
   */
  async registerDocument(server: EurekaServerConfig, app: string, document: string, signal?: AbortSignal): Promise<void> {
    await this.request(server, { operation: 'register', method: 'POST', path: `apps/${enc(app.toUpperCase())}`, body: document }, signal);
  }

  /** PUT apps/{APP}/{ID}?status=…&lastDirtyTimestamp=…, as the Java client renews; not_found asks for a re-register. */
  async heartbeat(
    server: EurekaServerConfig,
    app: string,
    id: string,
    status: 'UP' | 'DOWN' | 'STARTING',
    lastDirtyTimestamp: number,
    signal?: AbortSignal,
  ): Promise<Outcome> {
    const answer = await this.request(
      server,
      {
        operation: 'heartbeat',
        method: 'PUT',
        path: `apps/${enc(app)}/${enc(id)}`,
        query: { status, lastDirtyTimestamp: String(lastDirtyTimestamp) },
        notFoundIsAnswer: true,
      },
      signal,
    );
    return answer.status === 404 ? 'not_found' : 'ok';
  }

  private decode<T>(server: EurekaServerConfig, operation: EurekaOperation, decode: () => T): T {
    try {
      return decode();
    } catch (error) {
      this.options.onRequest?.(operation, server.label, 'bad_response', 0);
      if (error instanceof EurekaCodecError) {
        throw new EurekaRequestError(operation, server.label, 200, `bad response: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private async request(server: EurekaServerConfig, spec: RequestSpec, signal?: AbortSignal): Promise<Answer> {
    const attempts = this.options.retries + 1;
    let lastError: EurekaRequestError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      signal?.throwIfAborted();
      if (attempt > 0) {
        const base = Math.min(this.backoffMs * 2 ** (attempt - 1), 2_000);
        await this.options.clock.sleep(Math.round(base * (0.5 + this.random() * 0.5)), signal);
      }
      const outcome = await this.attempt(server, spec, signal);
      if ('answer' in outcome) return outcome.answer;
      if (!outcome.retry) throw outcome.error;
      lastError = outcome.error;
    }
    throw lastError ?? new EurekaRequestError(spec.operation, server.label, undefined, `no attempt made (retries = ${this.options.retries})`);
  }

  /** One try: an answer, or an error and whether another try could help. Reports the result to onRequest. */
  private async attempt(
    server: EurekaServerConfig,
    spec: RequestSpec,
    signal?: AbortSignal,
  ): Promise<{ readonly answer: Answer } | { readonly error: EurekaRequestError; readonly retry: boolean }> {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    const report = (result: EurekaResult): void => this.options.onRequest?.(spec.operation, server.label, result, seconds());
    const fail = (result: EurekaResult, status: number | undefined, message: string, retry: boolean, cause?: unknown) => {
      report(result);
      return { error: new EurekaRequestError(spec.operation, server.label, status, message, cause === undefined ? undefined : { cause }), retry };
    };
    // One signal for the whole exchange, body included, so a timeout is told
    // apart from the caller's cancellation by which of the two fired.
    const attemptSignal = withTimeout(this.options.timeoutMs, signal);
    const limit = (this.bodyLimits as Partial<Record<EurekaOperation, number>>)[spec.operation];
    const progress: ReadProgress = { bytes: 0 };
    let status: number | undefined;
    try {
      const response = await this.http.request<unknown>({
        url: new URL(spec.path, server.url).toString(),
        method: spec.method,
        params: spec.query,
        data: spec.body,
        headers: {
          Accept: 'application/json',
          // Registry answers compress ~10x; the server keeps a gzip copy of every cached key.
          'Accept-Encoding': 'gzip',
          ...(spec.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(server.username !== undefined ? { auth: { username: server.username, password: server.password ?? '' } } : {}),
        // A stream, read here under a per-operation limit: buffered, axios
        // would hold up to maxContentLength before it refused.
        responseType: 'stream',
        decompress: true,
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        maxRedirects: 0,
        signal: attemptSignal,
      });
      status = response.status;
      const stream = asStream(response.data);
      const ok = status >= 200 && status < 300;
      if (ok && limit !== undefined) {
        const declared = Number(response.headers['content-length']);
        const body = await readBody(stream, limit, { ...(Number.isFinite(declared) ? { declaredLength: declared } : {}), signal: attemptSignal, progress });
        report('success');
        return { answer: { status, body: utf8(body) } };
      }
      const glance = utf8(await readPrefix(stream, GLANCE_BYTES, attemptSignal));
      if (ok) {
        report('success');
        return { answer: { status, body: glance } };
      }
      if (status === 404 && spec.notFoundIsAnswer) {
        report('not_found');
        return { answer: { status, body: glance } };
      }
      // 4xx: retrying cannot help; 5xx may be a restarting or overloaded server
      return fail(status >= 500 ? 'server_error' : 'client_error', status, `answered HTTP ${status}${bodyHint(glance)}`, status >= 500);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof BodyTooLargeError) {
        // The same registry would send the same answer again: not retried.
        return fail('bad_response', status, error.message, false, error);
      }
      const during = status === undefined ? '' : ` while reading the HTTP ${status} body (${formatBytes(progress.bytes)} read)`;
      if (attemptSignal.aborted) {
        return fail('network_error', status, `timed out after ${this.options.timeoutMs} ms${during}`, true, error);
      }
      if (isZlibError(error)) {
        return fail('bad_response', status, `body could not be decompressed: ${describeError(error)}`, false, error);
      }
      return fail('network_error', status, `${describeError(error)}${during}`, true, error);
    }
  }
}

/** The body as a stream even from an injected HTTP client that ignores responseType. */
function asStream(data: unknown): Readable {
  if (data instanceof Readable) return data;
  if (data === undefined || data === null) return Readable.from([]);
  return Readable.from([Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data))]);
}

/** UTF-8 text without a byte-order mark, as axios decoded text bodies. */
function utf8(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR, …): a body that claims gzip but is not. */
function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof code === 'string' && code.startsWith('Z_') && typeof errno === 'number';
}

const enc = encodeURIComponent;

function bodyHint(body: string): string {
  const trimmed = body.trim().replace(/\s+/g, ' ');
  if (!trimmed) return '';
  return `: ${JSON.stringify(trimmed.length > 120 ? `${trimmed.slice(0, 120)}…` : trimmed)}`;
}
