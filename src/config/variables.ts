import { readRows, secret, setting, type EnvReader } from './reader';
import { boolean, duration, found, given, integer, ip, list, number, oneOf, text, url } from './rules';
import type { AppExitStrategy, CallerFetch, LoadBalancerKind, LogLevel, RegistrationMode, TailMode } from './types';

/** Spring's default for spring.cloud.loadbalancer.cache.ttl. */
const DEFAULT_LB_TTL_MS = 35_000;

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Every variable the drainer reads, one row each: adding a setting is adding
 * a row. Values that depend on each other (the allow-list on the token, the
 * cache terms on their on/off switches) are combined in index.ts.
 */
export const VARIABLES = {
  // --- the drainer itself
  port: setting(['DRAINER_PORT'], integer(8787, 0, 65_535), 'HTTP port (0: any free port)'),
  // "::" with ipv6Only off takes IPv4 too (as ::ffff:a.b.c.d); server.ts falls back to 0.0.0.0 without IPv6.
  host: setting(['DRAINER_HOST'], text('::'), 'bind address (:: is dual-stack); the kubelet calls the pod IP, so not loopback'),
  mode: setting(['DRAINER_MODE'], oneOf<RegistrationMode>(['companion', 'owner'], 'companion'), 'companion: the app registers itself; owner: the drainer registers the app'),
  logLevel: setting(['DRAINER_LOG_LEVEL'], oneOf(LOG_LEVELS, 'info'), 'log level'),
  sigtermPrestopWaitMs: setting(['DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS'], duration(5_000, 's'), "after a SIGTERM with no drain running, how long to wait for the kubelet's /prestop"),

  // --- the app and where it is
  appName: setting(['DRAINER_APP_NAME', 'SPRING_APPLICATION_NAME'], found(), 'the Eureka application name', { shownDefault: 'required' }),
  appPort: setting(['DRAINER_APP_PORT', 'SERVER_PORT'], integer(8080, 1, 65_535), "the app's port: part of locating the instance, probed to see the app gone"),
  appHost: setting(['DRAINER_APP_HOST'], text('127.0.0.1'), "where to probe the app's port"),
  instanceId: setting(['DRAINER_INSTANCE_ID'], found(), 'the Eureka instance id, instead of locating it by POD_IP and port'),
  podIp: setting(['POD_IP'], ip(), 'Downward API status.podIP; required unless DRAINER_INSTANCE_ID is set'),
  podName: setting(['POD_NAME'], text(), 'Downward API metadata.name'),
  nodeIp: setting(['NODE_IP'], ip(), 'Downward API status.hostIP; admitted to call /prestop when there is no token'),

  // --- Eureka servers
  serverUrls: setting(['DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE'], list(), 'Eureka server URLs, one per server pod', { shownDefault: 'required' }),
  credentials: secret('DRAINER_EUREKA_CREDENTIALS', 'DRAINER_EUREKA_CREDENTIALS_FILE', 'user:password for every server that has none in its URL'),
  eurekaTimeoutMs: setting(['DRAINER_EUREKA_TIMEOUT_MS'], duration(2_000, 'ms'), 'per-request timeout'),
  eurekaRetries: setting(['DRAINER_EUREKA_RETRIES'], integer(2, 0, 10), 'extra attempts on network errors and 5xx'),
  verifyPollMs: setting(['DRAINER_VERIFY_POLL_MS'], duration(500, 'ms'), 'how often Eureka is polled while verifying and waiting for the app to go'),

  // --- fleet timings, under their Spring property env names
  readOnlyCache: setting(['EUREKA_SERVER_USEREADONLYRESPONSECACHE'], boolean(true), 'false makes the server-cache term 0'),
  serverCacheMs: setting(['EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS'], duration(30_000, 'ms'), 'server response cache'),
  serverCacheExpiryMs: setting(
    ['EUREKA_SERVER_RESPONSECACHEAUTOEXPIRATIONINSECONDS'],
    duration(180_000, 's'),
    "how long a server's cached view can stay stale when a change was lost to the cache race",
  ),
  registryFetchMs: setting(['EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS'], duration(30_000, 's'), "callers' registry fetch"),
  lbCacheEnabled: setting(['SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED'], boolean(true), 'false makes the LoadBalancer term 0'),
  loadBalancerTtlMs: setting(['SPRING_CLOUD_LOADBALANCER_CACHE_TTL'], duration(DEFAULT_LB_TTL_MS, 'ms'), 'Spring Cloud LoadBalancer cache'),
  ribbonRefreshMs: setting(['RIBBON_SERVERLISTREFRESHINTERVAL'], duration(30_000, 'ms'), 'Ribbon server-list refresh'),
  callerFetch: setting(
    ['DRAINER_CALLER_FETCH'],
    oneOf<CallerFetch>(['delta', 'full', 'both'], 'delta'),
    "what the callers fetch from Eureka, where the drain proves its change: delta (Spring's Eureka client), full (eureka-js-client, disable-delta), both",
  ),
  loadBalancer: setting(['DRAINER_LOAD_BALANCER'], oneOf<LoadBalancerKind>(['loadbalancer', 'ribbon', 'both', 'none'], 'loadbalancer'), 'what the callers use'),
  tailMs: setting(['DRAINER_TAIL_SECONDS'], duration(10_000, 's'), 'the longest request a caller may have started just before it stopped selecting the instance'),
  marginMs: setting(['DRAINER_MARGIN_SECONDS'], duration(2_000, 's'), "slack kept before the kubelet's SIGKILL"),
  appShutdownMs: setting(['DRAINER_APP_SHUTDOWN_SECONDS', 'SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE'], duration(30_000, 's'), 'how long the app needs to shut down after SIGTERM'),
  gracePeriodSeconds: setting(['DRAINER_GRACE_PERIOD_SECONDS'], integer(30, 1, 86_400), "the pod's terminationGracePeriodSeconds, repeated"),

  // --- the tail
  // The DRAINER_INJECTED_* names are what `inject` and the webhook found in the pod (src/inject/adaptive-tail.ts):
  // read last, so the user's own setting wins, even from a ConfigMap the webhook could not see.
  tailMode: setting(['DRAINER_TAIL_MODE', 'DRAINER_INJECTED_TAIL_MODE'], oneOf<TailMode>(['fixed', 'adaptive'], 'fixed'), 'adaptive: end the tail when the app reports no request in flight'),
  tailMetricsUrl: setting(['DRAINER_TAIL_METRICS_URL', 'DRAINER_INJECTED_TAIL_METRICS_URL'], url(), 'the Prometheus page adaptive mode reads'),
  tailMetricsUrlSet: setting(['DRAINER_TAIL_METRICS_URL', 'DRAINER_INJECTED_TAIL_METRICS_URL'], given(), 'the Prometheus page adaptive mode reads'),
  tailMetric: setting(['DRAINER_TAIL_METRIC'], text('http_server_requests_active_seconds_count'), 'the series to add up, optionally with {label="value"} matchers'),
  // Spring's in-flight gauge counts the scrape that reads it, so idle reads 1.
  tailIdleThreshold: setting(['DRAINER_TAIL_IDLE_THRESHOLD'], number(1, 0), 'idle when the sum is at most this'),

  // --- telling the app to exit
  appExit: setting(['DRAINER_APP_EXIT'], oneOf<AppExitStrategy>(['kubelet', 'http', 'signal', 'file'], 'kubelet'), 'how the app is told to exit'),
  appExitUrl: setting(['DRAINER_APP_EXIT_URL'], url(), 'http: the URL to POST'),
  appExitUrlSet: setting(['DRAINER_APP_EXIT_URL'], given(), 'http: the URL to POST'),
  appExitProcess: setting(['DRAINER_APP_EXIT_PROCESS'], text(), 'signal: a pattern matched against /proc/*/cmdline'),
  appExitFile: setting(['DRAINER_APP_EXIT_FILE'], text(), 'file: the path to write in a shared volume'),

  // --- security
  token: secret('DRAINER_TOKEN', 'DRAINER_TOKEN_FILE', 'shared token (at least 16 characters) for /prestop and /drain/abort'),
  allowedSources: setting(['DRAINER_ALLOWED_SOURCES'], list(), 'addresses and CIDR blocks allowed to call /prestop and /drain/abort; * for any', {
    shownDefault: 'with a token: any; without: loopback + NODE_IP when set, else any',
  }),
} as const;

export type Values = { -readonly [K in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[K]['read']> };

/** Every variable name the drainer reads (the pod-deadline watch's are added in index.ts). */
export const VARIABLE_NAMES: readonly string[] = [...new Set(Object.values(VARIABLES).flatMap((v) => v.names))];

/** Reads the drainer's own table. */
export function readVariables(reader: EnvReader): Values {
  return readRows(reader, VARIABLES);
}
