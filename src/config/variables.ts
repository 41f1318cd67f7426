import { readRows, row, type EnvReader } from './reader';
import type { AppExitStrategy, LoadBalancerKind, LogLevel, RegistrationMode, TailMode } from './types';

/** Spring's default for spring.cloud.loadbalancer.cache.ttl. */
const DEFAULT_LB_TTL_MS = 35_000;

/**
 * Every variable the drainer reads, one row each: adding a setting is adding
 * a row. Values that depend on each other (the allow-list on the token, the
 * cache terms on their on/off switches) are combined in index.ts.
 */
export const VARIABLES = {
  // --- the drainer itself
  port: row(['DRAINER_PORT'], (r, n) => r.integer(n, 8787, 0, 65_535)),
  // "::" with ipv6Only off takes IPv4 too (as ::ffff:a.b.c.d); server.ts falls back to 0.0.0.0 without IPv6.
  host: row(['DRAINER_HOST'], (r, n) => r.text(n, '::')),
  mode: row(['DRAINER_MODE'], (r, n) => r.oneOf<RegistrationMode>(n, ['companion', 'owner'], 'companion')),
  logLevel: row(['DRAINER_LOG_LEVEL'], (r, n) => r.oneOf<LogLevel>(n, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info')),
  sigtermPrestopWaitMs: row(['DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS'], (r, n) => r.duration(n, 5_000, 's')),

  // --- the app and where it is
  appName: row(['DRAINER_APP_NAME', 'SPRING_APPLICATION_NAME'], (r, n) => r.get(...n)),
  appPort: row(['DRAINER_APP_PORT', 'SERVER_PORT'], (r, n) => r.integer(n, 8080, 1, 65_535)),
  appHost: row(['DRAINER_APP_HOST'], (r, n) => r.text(n, '127.0.0.1')),
  instanceId: row(['DRAINER_INSTANCE_ID'], (r, n) => r.get(...n)),
  podIp: row(['POD_IP'], (r, n) => r.ip(n)),
  podName: row(['POD_NAME'], (r, n) => r.text(n)),
  nodeIp: row(['NODE_IP'], (r, n) => r.ip(n)),

  // --- Eureka servers
  serverUrls: row(['DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE'], (r, n) => r.get(...n)),
  credentials: row(['DRAINER_EUREKA_CREDENTIALS', 'DRAINER_EUREKA_CREDENTIALS_FILE'], (r, n) => r.secret(n[0]!, n[1]!)),
  eurekaTimeoutMs: row(['DRAINER_EUREKA_TIMEOUT_MS'], (r, n) => r.duration(n, 2_000, 'ms')),
  eurekaRetries: row(['DRAINER_EUREKA_RETRIES'], (r, n) => r.integer(n, 2, 0, 10)),
  verifyPollMs: row(['DRAINER_VERIFY_POLL_MS'], (r, n) => r.duration(n, 500, 'ms')),

  // --- fleet timings, under their Spring property env names
  readOnlyCache: row(['EUREKA_SERVER_USEREADONLYRESPONSECACHE'], (r, n) => r.boolean(n, true)),
  serverCacheMs: row(['EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS'], (r, n) => r.duration(n, 30_000, 'ms')),
  registryFetchMs: row(['EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS'], (r, n) => r.duration(n, 30_000, 's')),
  lbCacheEnabled: row(['SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED'], (r, n) => r.boolean(n, true)),
  loadBalancerTtlMs: row(['SPRING_CLOUD_LOADBALANCER_CACHE_TTL'], (r, n) => r.duration(n, DEFAULT_LB_TTL_MS, 'ms')),
  ribbonRefreshMs: row(['RIBBON_SERVERLISTREFRESHINTERVAL'], (r, n) => r.duration(n, 30_000, 'ms')),
  loadBalancer: row(['DRAINER_LOAD_BALANCER'], (r, n) => r.oneOf<LoadBalancerKind>(n, ['loadbalancer', 'ribbon', 'both', 'none'], 'loadbalancer')),
  tailMs: row(['DRAINER_TAIL_SECONDS'], (r, n) => r.duration(n, 10_000, 's')),
  marginMs: row(['DRAINER_MARGIN_SECONDS'], (r, n) => r.duration(n, 2_000, 's')),
  appShutdownMs: row(['DRAINER_APP_SHUTDOWN_SECONDS', 'SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE'], (r, n) => r.duration(n, 30_000, 's')),
  gracePeriodSeconds: row(['DRAINER_GRACE_PERIOD_SECONDS'], (r, n) => r.integer(n, 30, 1, 86_400)),

  // --- the tail
  tailMode: row(['DRAINER_TAIL_MODE'], (r, n) => r.oneOf<TailMode>(n, ['fixed', 'adaptive'], 'fixed')),
  tailMetricsUrl: row(['DRAINER_TAIL_METRICS_URL'], (r, n) => r.url(n)),
  tailMetricsUrlSet: row(['DRAINER_TAIL_METRICS_URL'], (r, n) => r.get(...n) !== undefined),
  tailMetric: row(['DRAINER_TAIL_METRIC'], (r, n) => r.text(n, 'http_server_requests_active_seconds_count')),
  // Spring's in-flight gauge counts the scrape that reads it, so idle reads 1.
  tailIdleThreshold: row(['DRAINER_TAIL_IDLE_THRESHOLD'], (r, n) => r.number(n, 1, 0)),

  // --- telling the app to exit
  appExit: row(['DRAINER_APP_EXIT'], (r, n) => r.oneOf<AppExitStrategy>(n, ['kubelet', 'http', 'signal', 'file'], 'kubelet')),
  appExitUrl: row(['DRAINER_APP_EXIT_URL'], (r, n) => r.url(n)),
  appExitUrlSet: row(['DRAINER_APP_EXIT_URL'], (r, n) => r.get(...n) !== undefined),
  appExitProcess: row(['DRAINER_APP_EXIT_PROCESS'], (r, n) => r.text(n)),
  appExitFile: row(['DRAINER_APP_EXIT_FILE'], (r, n) => r.text(n)),

  // --- security
  token: row(['DRAINER_TOKEN', 'DRAINER_TOKEN_FILE'], (r, n) => r.secret(n[0]!, n[1]!)),
  allowedSources: row(['DRAINER_ALLOWED_SOURCES'], (r, n) => r.get(...n)),
} as const;

export type Values = { -readonly [K in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[K]['read']> };

/** Every variable name the drainer reads (for the README's reference and its test). */
export const VARIABLE_NAMES: readonly string[] = [...new Set(Object.values(VARIABLES).flatMap((v) => v.names))];

/** Reads the drainer's own table. */
export function readVariables(reader: EnvReader): Values {
  return readRows(reader, VARIABLES);
}
