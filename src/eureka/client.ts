import axios, { type AxiosInstance } from 'axios';
import { withTimeout, type Clock } from '../clock';
import type { EurekaServerConfig } from '../config';
import { EurekaCodecError, EurekaRequestError, describeError } from '../errors';
import {
  decodeApplicationDocument,
  decodeApplicationsDocument,
  decodeInstanceDocument,
  encodeRegistration,
  type EurekaApplications,
  type EurekaInstance,
  type RegistrationInput,
} from './codec';

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
}

/** What the drain needs of a Eureka client; tests substitute an in-memory registry. */
export type EurekaApi = Pick<EurekaClient, 'getApplication' | 'getDelta' | 'getInstance' | 'setStatusOverride' | 'removeStatusOverride' | 'cancel'>;

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

  constructor(private readonly options: EurekaClientOptions) {
    this.http = options.http ?? axios.create();
    this.backoffMs = options.backoffMs ?? 100;
    this.random = options.random ?? Math.random;
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

  /** POST apps/{APP}: registers (204). */
  async register(server: EurekaServerConfig, input: RegistrationInput, signal?: AbortSignal): Promise<void> {
    if ((input.status as string) === 'OUT_OF_SERVICE') throw new Error('never register as OUT_OF_SERVICE (eureka#1398)');
    await this.request(server, { operation: 'register', method: 'POST', path: `apps/${enc(input.app.toUpperCase())}`, body: encodeRegistration(input) }, signal);
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
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const response = await this.http.request<string>({
          url: new URL(spec.path, server.url).toString(),
          method: spec.method,
          params: spec.query,
          data: spec.body,
          headers: {
            Accept: 'application/json',
            ...(spec.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(server.username !== undefined ? { auth: { username: server.username, password: server.password ?? '' } } : {}),
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          validateStatus: () => true,
          maxRedirects: 0,
          maxContentLength: 64 * 1024 * 1024,
          signal: withTimeout(this.options.timeoutMs, signal),
        });
        const status = response.status;
        const body = typeof response.data === 'string' ? response.data : '';
        if (status >= 200 && status < 300) {
          this.options.onRequest?.(spec.operation, server.label, 'success', seconds());
          return { status, body };
        }
        if (status === 404 && spec.notFoundIsAnswer) {
          this.options.onRequest?.(spec.operation, server.label, 'not_found', seconds());
          return { status, body };
        }
        const result: EurekaResult = status >= 500 ? 'server_error' : 'client_error';
        this.options.onRequest?.(spec.operation, server.label, result, seconds());
        const error = new EurekaRequestError(spec.operation, server.label, status, `HTTP ${status}${bodyHint(body)}`);
        if (status < 500) throw error; // 4xx: retrying cannot help
        lastError = error;
      } catch (error) {
        if (error instanceof EurekaRequestError) throw error;
        if (signal?.aborted) throw signal.reason;
        this.options.onRequest?.(spec.operation, server.label, 'network_error', seconds());
        const timedOut = (error as { code?: string }).code === 'ERR_CANCELED' || (error as Error).name === 'CanceledError';
        lastError = new EurekaRequestError(
          spec.operation,
          server.label,
          undefined,
          timedOut ? `no answer within ${this.options.timeoutMs}ms` : describeError(error),
          { cause: error },
        );
      }
    }
    throw lastError ?? new EurekaRequestError(spec.operation, server.label, undefined, 'no attempt made');
  }
}

const enc = encodeURIComponent;

function bodyHint(body: string): string {
  const trimmed = body.trim().replace(/\s+/g, ' ');
  if (!trimmed) return '';
  return `: ${JSON.stringify(trimmed.length > 120 ? `${trimmed.slice(0, 120)}…` : trimmed)}`;
}
