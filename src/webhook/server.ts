/**
 * The webhook's TLS server: POST /inject and /inject-pod answer AdmissionReviews, GET /healthz
 * and /readyz answer probes. The certificate and key are read from files and read again every
 * few seconds; a new valid pair replaces the served one without a restart (cert-manager rotates
 * it). Polling, not fs.watch: a Secret volume swaps a `..data` symlink, which watchers on the
 * files miss.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { createLogLimiter, type LogLimiter } from '../http/log-limiter';
import type { Logger } from '../logger';
import { applyConnectionBounds, boundedOptions, type ServerBounds } from '../http/server';
import { describeHandshakeFailure, peerOf } from './handshake-failure';
import type { WebhookMetrics } from './metrics';
import { answerOversized, answerReview, type ReviewAnswer, type ReviewDeps, type ReviewRoute } from './review';

/** The drainer's server bounds (src/http/server.ts), plus the body limit and the TLS handshake. */
export interface WebhookBounds extends ServerBounds {
  /** A review body beyond this is not read (answered allowed with a warning, or 400). */
  readonly bodyLimitBytes: number;
  /** The TLS handshake. */
  readonly handshakeTimeoutMs: number;
}

/**
 * The apiserver refuses request bodies over 3 MiB, so a pod it sends us is smaller; the review
 * around it adds the user info and a few fields. 4 MiB holds any pod CREATE. At 64 connections
 * that is at most 256 MiB of bodies at once.
 */
export const WEBHOOK_BOUNDS: WebhookBounds = {
  bodyLimitBytes: 4 * 1024 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  // Longer than the apiserver's own idle timeout (90 s), so the apiserver closes first: a server that
  // closes an idle connection while the client sends a new request on it fails that call, and with
  // failurePolicy Ignore that pod goes uninjected.
  keepAliveTimeoutMs: 120_000,
  checkIntervalMs: 1_000,
  maxConnections: 64,
  maxHeaderBytes: 8 * 1024,
  maxHeadersCount: 64,
};

/** The first bytes of an oversized body kept to find its uid. */
const OVERSIZED_PREFIX_BYTES = 4 * 1024;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Of cert and key together: tells a changed pair from a re-read of the same one. */
  readonly digest: string;
  readonly fingerprint256: string;
  readonly subject: string;
  readonly serialNumber: string;
  readonly validTo: Date;
}

/** Reads and checks a pair; throws when either file is unreadable, either is not PEM, or they do not match. */
export async function readTlsPair(files: TlsFiles): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  const digest = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
  return checkedPair(cert, key, digest);
}

function checkedPair(cert: Buffer, key: Buffer, digest: string): TlsPair {
  const x509 = new X509Certificate(cert);
  createSecureContext({ cert, key });
  return { cert, key, digest, fingerprint256: x509.fingerprint256, subject: x509.subject, serialNumber: x509.serialNumber, validTo: new Date(x509.validTo) };
}

export interface WebhookServerOptions {
  readonly tls: TlsFiles;
  /** The pair read at start (main reads it first and exits if it cannot). */
  readonly initial: TlsPair;
  readonly port: number;
  readonly host: string;
  readonly review: ReviewDeps;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** /readyz answers 503 when false (during shutdown). */
  readonly isReady: () => boolean;
  /** How often the files are read again. */
  readonly reloadIntervalMs: number;
  readonly bounds?: Partial<WebhookBounds>;
  readonly onListenError?: (error: NodeJS.ErrnoException) => void;
  /** At most one warn line per kind per interval (src/http/log-limiter.ts); tests give one on their own clock. */
  readonly logLimiter?: LogLimiter;
}

export interface WebhookServer {
  readonly server: Server;
  /** The pair being served. */
  current(): TlsPair;
  /** Reads the files (after any read in progress); resolves when done (tests use it; the timer calls it too). */
  reload(): Promise<void>;
  /** Stops the reload timer and the server; resolves when open requests are answered. */
  close(): Promise<void>;
}

const ROUTES: Readonly<Record<string, ReviewRoute>> = { '/inject': 'namespace', '/inject-pod': 'pod' };

export function startWebhookServer(options: WebhookServerOptions): WebhookServer {
  const bounds = { ...WEBHOOK_BOUNDS, ...options.bounds };
  const log = options.logger.child({ component: 'webhook' });
  const limiter = options.logLimiter ?? createLogLimiter();
  let pair = options.initial;
  options.metrics.certificateLoaded(pair.validTo.getTime() / 1000);

  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      minVersion: 'TLSv1.2',
      handshakeTimeout: bounds.handshakeTimeoutMs,
      ...boundedOptions(bounds),
    },
    (req, res) => void handle(req, res),
  );
  applyConnectionBounds(server, bounds, log, limiter);
  // The one trace of an apiserver that does not trust us (it fails open and admits the pod
  // uninjected): warn, with who and why; at most one line per kind per interval.
  server.on('tlsClientError', (error, socket) => {
    const failure = describeHandshakeFailure(error);
    const admitted = limiter.admit(failure.kind === 'rejected' ? 'tls-rejected' : 'tls-failed');
    if (!admitted) return;
    const { kind, ...facts } = failure;
    const peer = peerOf(socket) ?? 'unknown (closed before its address was read)';
    log.warn({ peer, ...facts, serving: pair.fingerprint256, ...suppressed(admitted) }, kind === 'rejected' ? 'TLS handshake rejected by the caller' : 'TLS handshake failed');
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = ROUTES[path];
    if (route !== undefined) {
      if (req.method !== 'POST') return send(res, 405, status(405, 'MethodNotAllowed', 'use POST'), { allow: 'POST' });
      let body: Body;
      try {
        body = await readBody(req, bounds.bodyLimitBytes);
      } catch {
        // The caller went away mid-body: nobody to answer.
        res.destroy();
        return;
      }
      const started = process.hrtime.bigint();
      const answer = body.oversized ? answerOversized(body.text, bounds.bodyLimitBytes) : answerReview(body.text, route, options.review);
      options.metrics.review(route, answer.result, Number(process.hrtime.bigint() - started) / 1e9);
      logAnswer(route, answer);
      return send(res, answer.status, answer.body, body.oversized ? { connection: 'close' } : {});
    }
    if (path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, status(405, 'MethodNotAllowed', 'use GET'), { allow: 'GET, HEAD' });
      const ok = path === '/healthz' || options.isReady();
      return send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'shutting down' });
    }
    return send(res, 404, status(404, 'NotFound', 'not found'));
  }

  function logAnswer(route: ReviewRoute, answer: ReviewAnswer): void {
    const fields = { route, result: answer.result, ...answer.facts, ...(answer.reason ? { reason: answer.reason } : {}) };
    if (answer.result === 'injected') log.info(fields, 'injected the drainer');
    else if (answer.result === 'unchanged') log.debug(fields, 'left unchanged');
    else if (answer.result === 'refused') log.info(fields, 'refused to inject');
    else {
      const admitted = limiter.admit(answer.result);
      if (admitted) {
        const err = answer.error === undefined ? {} : { err: answer.error };
        log.warn({ ...fields, ...err, ...suppressed(admitted) }, answer.result === 'error' ? 'injection failed; allowed unchanged' : 'malformed review; allowed unchanged');
      }
    }
  }

  let reloading: Promise<void> | undefined;
  let rejectedDigest: string | undefined;
  async function readFiles(): Promise<void> {
    let next: TlsPair;
    try {
      const [cert, key] = await Promise.all([readFile(options.tls.certFile), readFile(options.tls.keyFile)]);
      const digest = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
      if (digest === pair.digest || digest === rejectedDigest) return;
      try {
        next = checkedPair(cert, key, digest);
      } catch (error) {
        rejectedDigest = digest;
        throw error;
      }
    } catch (error) {
      // Logged once per distinct bad content, not once per poll. A missing file is mid-swap or gone.
      options.metrics.certificateRejected();
      log.warn({ err: error, serving: pair.fingerprint256 }, 'cannot use the new TLS certificate and key; still serving the previous pair');
      return;
    }
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    pair = next;
    rejectedDigest = undefined;
    options.metrics.certificateLoaded(next.validTo.getTime() / 1000);
    log.info({ subject: next.subject, serialNumber: next.serialNumber, validTo: next.validTo.toISOString(), fingerprint256: next.fingerprint256 }, 'serving a new TLS certificate');
  }
  let queued: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    if (reloading === undefined) {
      reloading = readFiles().finally(() => {
        reloading = undefined;
      });
      return reloading;
    }
    // A read in progress may have read the files before the caller changed them: one more read after it, shared by
    // everyone who asks meanwhile (the timer included), so a reload always sees what was written before it was asked.
    queued ??= reloading.then(() => {
      queued = undefined;
      return reload();
    });
    return queued;
  };
  const timer = setInterval(() => void reload(), options.reloadIntervalMs);
  timer.unref();

  let listening = false;
  server.on('listening', () => {
    listening = true;
    log.info({ port: (server.address() as { port: number } | null)?.port ?? options.port, host: options.host, fingerprint256: pair.fingerprint256, validTo: pair.validTo.toISOString() }, 'webhook listening (TLS)');
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (listening) {
      log.error({ err: error, code: error.code }, 'server error');
      return;
    }
    log.fatal({ err: error, port: options.port, host: options.host }, 'cannot listen');
    options.onListenError?.(error);
  });
  server.listen({ port: options.port, host: options.host, ipv6Only: false });

  return {
    server,
    current: () => pair,
    reload,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

interface Body {
  readonly text: string;
  /** Over the limit: `text` is only the first bytes. */
  readonly oversized: boolean;
}

/**
 * The whole body, or its first bytes when it is over the limit. An oversized body is still read
 * to its end (and thrown away) so the answer reaches a caller that writes before it reads;
 * requestTimeout bounds how long that takes.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  let oversized = Number(req.headers['content-length'] ?? 0) > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (oversized) {
      if (size < OVERSIZED_PREFIX_BYTES) chunks.push(chunk.subarray(0, OVERSIZED_PREFIX_BYTES - size));
      size += chunk.length;
      continue;
    }
    size += chunk.length;
    chunks.push(chunk);
    if (size > limit) {
      oversized = true;
      const head = Buffer.concat(chunks).subarray(0, OVERSIZED_PREFIX_BYTES);
      chunks.length = 0;
      chunks.push(head);
      size = head.length;
    }
  }
  const buffer = Buffer.concat(chunks);
  return { text: (oversized ? buffer.subarray(0, OVERSIZED_PREFIX_BYTES) : buffer).toString('utf8'), oversized };
}

function status(code: number, reason: string, message: string): unknown {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': String(payload.length), ...headers });
  res.end(payload);
}

function suppressed(admitted: { readonly suppressed: number }): { suppressed?: number } {
  return admitted.suppressed > 0 ? { suppressed: admitted.suppressed } : {};
}
