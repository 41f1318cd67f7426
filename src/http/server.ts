import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config';
import { createLogLimiter, type LogLimiter } from './log-limiter';
import type { Logger } from '../logger';

/**
 * How long a caller may take to send a request, how long an idle connection
 * lives, and how many connections there may be. Without them a request whose
 * body never finished stayed open for minutes, and 3,000 of them held 3,020
 * file descriptors. Callers are the kubelet, probes and Prometheus: a handful
 * of connections, each request a few hundred bytes sent at once.
 */
export interface ServerBounds {
  /** From the connection's first byte (or the previous response) to the end of the headers. */
  readonly headersTimeoutMs: number;
  /** To the end of the whole request, body included. Not the response: see below. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection between requests. */
  readonly keepAliveTimeoutMs: number;
  /** How often Node looks for requests past the two timeouts above: the slack on them. */
  readonly checkIntervalMs: number;
  /** Connections beyond this are closed as soon as they are accepted. */
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  /** Headers beyond this count are ignored by Node (not refused). */
  readonly maxHeadersCount: number;
}

export const SERVER_BOUNDS: ServerBounds = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxConnections: 256,
  maxHeaderBytes: 8 * 1024,
  maxHeadersCount: 64,
};

export interface StartOptions {
  /** Tests shorten the bounds; production uses SERVER_BOUNDS. */
  readonly bounds?: Partial<ServerBounds>;
  /** Called after the 'cannot listen' line; main.ts exits there. */
  readonly onListenError?: (error: NodeJS.ErrnoException) => void;
}

/** Node's server options for the bounds; node:http and node:https take the same. */
export function boundedOptions(bounds: ServerBounds) {
  return {
    headersTimeout: bounds.headersTimeoutMs,
    // Node's requestTimeout covers receiving the request only: once the
    // last body byte is in, the connection leaves the timed list, so
    // /prestop may take the whole drain (minutes) to answer. A body that
    // never finishes is answered 408 and closed.
    requestTimeout: bounds.requestTimeoutMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
    maxHeaderSize: bounds.maxHeaderBytes,
  };
}

/**
 * The bounds Node sets on a created server, and one rate-limited warning per
 * kind of refused connection (`limiter`: the caller's, when it logs other
 * kinds through it too).
 */
export function applyConnectionBounds(
  server: Pick<Server, 'timeout' | 'maxConnections' | 'maxHeadersCount' | 'on'>,
  bounds: ServerBounds,
  log: Logger,
  limiter: LogLimiter = createLogLimiter(),
): void {
  // No socket inactivity timeout: /prestop's socket is silent while the drain
  // runs, and the drain's own deadline bounds it.
  server.timeout = 0;
  server.maxConnections = bounds.maxConnections;
  server.maxHeadersCount = bounds.maxHeadersCount;
  server.on('drop', () => {
    const admitted = limiter.admit('drop');
    if (admitted) {
      log.warn({ maxConnections: bounds.maxConnections, ...(admitted.suppressed > 0 ? { suppressed: admitted.suppressed } : {}) }, 'refused a connection: too many open');
    }
  });
}

/** Errors that mean "this host has no IPv6", as opposed to a taken port or a bad address. */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/**
 * Creates the bounded server and starts listening on config.host:config.port.
 * Returns at once; 'listening' or the onListenError callback follows.
 */
export function startServer(app: RequestListener, config: Config, logger: Logger, options: StartOptions = {}): Server {
  const bounds = { ...SERVER_BOUNDS, ...options.bounds };
  const log = logger.child({ component: 'server' });
  const server = createServer(boundedOptions(bounds), app);
  applyConnectionBounds(server, bounds, log);

  let host = config.host;
  let listening = false;
  // ipv6Only false: "::" also takes IPv4 peers, seen as ::ffff:a.b.c.d.
  const listen = (): void => void server.listen({ port: config.port, host, ipv6Only: false });
  server.on('listening', () => {
    listening = true;
    const address = server.address() as AddressInfo | null;
    log.info({ port: address?.port ?? config.port, host }, 'listening');
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (listening) {
      // After listen, errors come from accept (EMFILE and the like) and pass;
      // exiting here would abandon a drain the kubelet is waiting on.
      log.error({ err: error, code: error.code }, 'server error');
      return;
    }
    if (host === '::' && error.code !== undefined && NO_IPV6.has(error.code)) {
      log.warn({ err: error }, 'no IPv6 on this host; listening on 0.0.0.0 (IPv4 only) instead of ::');
      host = '0.0.0.0';
      listen();
      return;
    }
    log.fatal({ err: error, port: config.port, host }, 'cannot listen');
    options.onListenError?.(error);
  });
  listen();
  return server;
}
