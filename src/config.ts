import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseDuration, type DurationUnit } from './duration';
import { ConfigError } from './errors';
import { readSourceRule } from './source-filter';

/** One Eureka server, addressed directly (per-pod URL, never a load-balanced Service). */
export interface EurekaServerConfig {
  /** Base URL ending in `/eureka/` (or `/eureka/v2/`), credentials stripped. */
  readonly url: string;
  /** The URL as it may be logged: no credentials. */
  readonly label: string;
  readonly username?: string;
  readonly password?: string;
}

export type LoadBalancerKind = 'loadbalancer' | 'ribbon' | 'both' | 'none';
export type TailMode = 'fixed' | 'adaptive';
export type AppExitStrategy = 'kubelet' | 'http' | 'signal' | 'file';

export interface Timings {
  /** eureka.server.response-cache-update-interval-ms (0 when the read-only cache is off). */
  readonly serverCacheMs: number;
  /** eureka.client.registry-fetch-interval-seconds. */
  readonly registryFetchMs: number;
  /** spring.cloud.loadbalancer.cache.ttl (0 when the cache is disabled). */
  readonly loadBalancerTtlMs: number;
  /** ribbon.ServerListRefreshInterval. */
  readonly ribbonRefreshMs: number;
  /** Which load balancer the callers use; picks the load-balancer term. */
  readonly loadBalancer: LoadBalancerKind;
  /** Longest request a caller may have started just before it stopped selecting us. */
  readonly tailMs: number;
  /** Slack kept between the app's shutdown and the kubelet's SIGKILL. */
  readonly marginMs: number;
  /** spring.lifecycle.timeout-per-shutdown-phase: how long the app needs to stop. */
  readonly appShutdownMs: number;
  /** terminationGracePeriodSeconds, which the pod spec must repeat. */
  readonly gracePeriodMs: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly mode: 'companion';
  readonly appName: string;
  readonly appPort: number;
  readonly appHost: string;
  readonly instanceId: string | undefined;
  readonly podIp: string | undefined;
  readonly podName: string | undefined;
  readonly nodeIp: string | undefined;
  readonly servers: readonly EurekaServerConfig[];
  readonly eurekaTimeoutMs: number;
  readonly eurekaRetries: number;
  readonly verifyPollMs: number;
  readonly timings: Timings;
  readonly tailMode: TailMode;
  readonly tailMetricsUrl: string | undefined;
  readonly tailMetric: string;
  readonly tailIdleThreshold: number;
  readonly appExit: AppExitStrategy;
  readonly appExitUrl: string | undefined;
  readonly appExitProcess: string | undefined;
  readonly appExitFile: string | undefined;
  readonly token: string | undefined;
  /** Addresses and CIDR blocks (IPv4 or IPv6) allowed to call /prestop and /drain/abort; empty = any. */
  readonly allowedSources: readonly string[];
  readonly sigtermPrestopWaitMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Spring's default for spring.cloud.loadbalancer.cache.ttl. */
const DEFAULT_LB_TTL_MS = 35_000;

/**
 * Environment → frozen Config. Reads nothing but `env` (and the token or
 * credential files it names). Every problem is collected and thrown at once
 * as a ConfigError, so one restart fixes them all.
 */
export interface ParseOptions {
  /** False for `eureka-drainer plan`: only the timings matter, not where the app is. */
  readonly requireTarget?: boolean;
  readonly readFile?: (path: string) => string;
}

export function parseConfig(env: Env, options: ParseOptions = {}): Config {
  const requireTarget = options.requireTarget ?? true;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const problems: string[] = [];
  const get = (...names: string[]): { name: string; raw: string } | undefined => {
    for (const name of names) {
      const raw = env[name];
      if (raw !== undefined && raw.trim() !== '') return { name, raw: raw.trim() };
    }
    return undefined;
  };
  const shown = (raw: string): string => JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);

  const integer = (names: string[], fallback: number, min: number, max: number): number => {
    const found = get(...names);
    if (!found) return fallback;
    const value = Number(found.raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${found.name} must be an integer from ${min} to ${max}, got ${shown(found.raw)}`);
      return fallback;
    }
    return value;
  };
  const number = (names: string[], fallback: number, min: number): number => {
    const found = get(...names);
    if (!found) return fallback;
    const value = Number(found.raw);
    if (!Number.isFinite(value) || value < min) {
      problems.push(`${found.name} must be a number ≥ ${min}, got ${shown(found.raw)}`);
      return fallback;
    }
    return value;
  };
  const duration = (names: string[], fallbackMs: number, bareUnit: DurationUnit): number => {
    const found = get(...names);
    if (!found) return fallbackMs;
    const ms = parseDuration(found.raw, bareUnit);
    if (ms === undefined || ms < 0) {
      problems.push(
        `${found.name} must be a duration such as "35s", "500ms", "PT35S" or a number of ${bareUnit === 's' ? 'seconds' : 'milliseconds'}, got ${shown(found.raw)}`,
      );
      return fallbackMs;
    }
    return ms;
  };
  const oneOf = <T extends string>(names: string[], allowed: readonly T[], fallback: T): T => {
    const found = get(...names);
    if (!found) return fallback;
    const value = found.raw.toLowerCase();
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`${found.name} must be one of ${allowed.join(', ')}, got ${shown(found.raw)}`);
      return fallback;
    }
    return value as T;
  };
  const boolean = (names: string[], fallback: boolean): boolean => {
    const found = get(...names);
    if (!found) return fallback;
    const value = found.raw.toLowerCase();
    if (value === 'true') return true;
    if (value === 'false') return false;
    problems.push(`${found.name} must be true or false, got ${shown(found.raw)}`);
    return fallback;
  };
  const url = (names: string[]): string | undefined => {
    const found = get(...names);
    if (!found) return undefined;
    try {
      const parsed = new URL(found.raw);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
      return parsed.toString();
    } catch {
      problems.push(`${found.name} must be an http(s) URL, got ${shown(found.raw)}`);
      return undefined;
    }
  };
  const ip = (name: string): string | undefined => {
    const found = get(name);
    if (!found) return undefined;
    if (isIP(found.raw) === 0) {
      problems.push(`${name} must be an IP address, got ${shown(found.raw)}`);
      return undefined;
    }
    return found.raw;
  };
  const secretFromFile = (valueName: string, fileName: string): string | undefined => {
    const direct = get(valueName);
    const file = get(fileName);
    if (direct && file) problems.push(`set ${valueName} or ${fileName}, not both`);
    if (direct) return direct.raw;
    if (!file) return undefined;
    try {
      const content = readFile(file.raw).trim();
      if (content === '') problems.push(`${fileName} names an empty file: ${shown(file.raw)}`);
      return content || undefined;
    } catch (error) {
      problems.push(`${fileName} names a file that cannot be read: ${shown(file.raw)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };

  // --- the app and where it is -------------------------------------------------
  const mode = get('DRAINER_MODE');
  if (mode && mode.raw.toLowerCase() !== 'companion') {
    problems.push(
      mode.raw.toLowerCase() === 'owner'
        ? 'DRAINER_MODE=owner is not available in this version; use companion (the app registers itself with Eureka)'
        : `DRAINER_MODE must be companion, got ${shown(mode.raw)}`,
    );
  }
  const appNameFound = get('DRAINER_APP_NAME', 'SPRING_APPLICATION_NAME');
  if (!appNameFound && requireTarget) problems.push('DRAINER_APP_NAME (or SPRING_APPLICATION_NAME) is required: the Eureka application name of the app');
  else if (appNameFound && !/^[A-Za-z0-9._-]+$/.test(appNameFound.raw)) problems.push(`${appNameFound.name} must be a Eureka application name (letters, digits, . _ -), got ${shown(appNameFound.raw)}`);
  const instanceIdFound = get('DRAINER_INSTANCE_ID');
  if (instanceIdFound && /[/?#\s]/.test(instanceIdFound.raw)) problems.push(`DRAINER_INSTANCE_ID must not contain "/", "?", "#" or spaces, got ${shown(instanceIdFound.raw)}`);
  const podIp = ip('POD_IP');
  const nodeIp = ip('NODE_IP');
  if (!instanceIdFound && !podIp && requireTarget) problems.push('set DRAINER_INSTANCE_ID, or POD_IP (Downward API status.podIP) so the drainer can find its instance in Eureka');

  // --- Eureka servers -------------------------------------------------------------
  const serversFound = get('DRAINER_EUREKA_URLS', 'EUREKA_CLIENT_SERVICEURL_DEFAULTZONE');
  const credentials = secretFromFile('DRAINER_EUREKA_CREDENTIALS', 'DRAINER_EUREKA_CREDENTIALS_FILE');
  if (credentials !== undefined && !credentials.includes(':')) problems.push('DRAINER_EUREKA_CREDENTIALS(_FILE) must hold "user:password"');
  const servers: EurekaServerConfig[] = [];
  if (!serversFound) {
    if (requireTarget) problems.push('DRAINER_EUREKA_URLS (or EUREKA_CLIENT_SERVICEURL_DEFAULTZONE) is required: comma-separated Eureka server URLs, one per server pod');
  } else {
    for (const part of serversFound.raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const server = parseServerUrl(part, credentials);
      if (typeof server === 'string') problems.push(`${serversFound.name} has ${server}`);
      else if (servers.some((s) => s.url === server.url)) problems.push(`${serversFound.name} lists ${server.label} twice`);
      else servers.push(server);
    }
  }

  // --- fleet timings, under their Spring property env names -----------------------
  const readOnlyCache = boolean(['EUREKA_SERVER_USEREADONLYRESPONSECACHE'], true);
  const serverCacheMs = readOnlyCache ? duration(['EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS'], 30_000, 'ms') : 0;
  const registryFetchMs = duration(['EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS'], 30_000, 's');
  const lbCacheEnabled = boolean(['SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED'], true);
  const loadBalancerTtlMs = lbCacheEnabled ? duration(['SPRING_CLOUD_LOADBALANCER_CACHE_TTL'], DEFAULT_LB_TTL_MS, 'ms') : 0;
  const ribbonRefreshMs = duration(['RIBBON_SERVERLISTREFRESHINTERVAL'], 30_000, 'ms');
  const loadBalancer = oneOf(['DRAINER_LOAD_BALANCER'], ['loadbalancer', 'ribbon', 'both', 'none'] as const, 'loadbalancer');
  const tailMs = duration(['DRAINER_TAIL_SECONDS'], 10_000, 's');
  const marginMs = duration(['DRAINER_MARGIN_SECONDS'], 2_000, 's');
  const appShutdownMs = duration(['DRAINER_APP_SHUTDOWN_SECONDS', 'SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE'], 30_000, 's');
  const gracePeriodMs = integer(['DRAINER_GRACE_PERIOD_SECONDS'], 30, 1, 86_400) * 1000;

  // --- the tail ---------------------------------------------------------------------
  const tailMode = oneOf(['DRAINER_TAIL_MODE'], ['fixed', 'adaptive'] as const, 'fixed');
  const tailMetricsUrl = url(['DRAINER_TAIL_METRICS_URL']);
  if (tailMode === 'adaptive' && !tailMetricsUrl && !get('DRAINER_TAIL_METRICS_URL')) {
    problems.push('DRAINER_TAIL_MODE=adaptive needs DRAINER_TAIL_METRICS_URL (e.g. http://127.0.0.1:8080/actuator/prometheus)');
  }
  const tailMetric = get('DRAINER_TAIL_METRIC')?.raw ?? 'http_server_requests_active_seconds_count';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$/.test(tailMetric)) problems.push(`DRAINER_TAIL_METRIC must be a Prometheus metric name with optional {label="value"} matchers, got ${shown(tailMetric)}`);
  // Spring's in-flight gauge counts the scrape that reads it, so idle reads 1.
  const tailIdleThreshold = number(['DRAINER_TAIL_IDLE_THRESHOLD'], 1, 0);

  // --- telling the app to exit ----------------------------------------------------------
  const appExit = oneOf(['DRAINER_APP_EXIT'], ['kubelet', 'http', 'signal', 'file'] as const, 'kubelet');
  const appExitUrl = url(['DRAINER_APP_EXIT_URL']);
  const appExitProcess = get('DRAINER_APP_EXIT_PROCESS')?.raw;
  const appExitFile = get('DRAINER_APP_EXIT_FILE')?.raw;
  if (appExit === 'http' && !get('DRAINER_APP_EXIT_URL')) problems.push('DRAINER_APP_EXIT=http needs DRAINER_APP_EXIT_URL (e.g. http://127.0.0.1:8080/actuator/shutdown)');
  if (appExit === 'signal' && !appExitProcess) problems.push('DRAINER_APP_EXIT=signal needs DRAINER_APP_EXIT_PROCESS, a pattern matched against /proc/*/cmdline (needs shareProcessNamespace: true)');
  if (appExit === 'signal' && appExitProcess) {
    try {
      new RegExp(appExitProcess);
    } catch {
      problems.push(`DRAINER_APP_EXIT_PROCESS must be a valid regular expression, got ${shown(appExitProcess)}`);
    }
  }
  if (appExit === 'file' && !appExitFile) problems.push('DRAINER_APP_EXIT=file needs DRAINER_APP_EXIT_FILE, a path in a volume shared with the app');

  // --- security ---------------------------------------------------------------------------
  const token = secretFromFile('DRAINER_TOKEN', 'DRAINER_TOKEN_FILE');
  if (token !== undefined && token.length < 16) problems.push('DRAINER_TOKEN(_FILE) must be at least 16 characters');
  const allowedFound = get('DRAINER_ALLOWED_SOURCES');
  let allowedSources: string[];
  if (allowedFound) {
    allowedSources = allowedFound.raw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const source of allowedSources) {
      if (source === '*') continue;
      const rule = readSourceRule(source);
      if ('problem' in rule) problems.push(`DRAINER_ALLOWED_SOURCES must list IP addresses or CIDR blocks (or *); ${shown(source)}: ${rule.problem}`);
    }
    if (allowedSources.includes('*')) allowedSources = [];
  } else if (token === undefined && nodeIp) {
    // No token: only loopback and the node may start a drain. The kubelet's
    // source can also be the node's bridge address (CNI-dependent); a refused
    // call is logged with its source so the list can be widened.
    allowedSources = ['127.0.0.1', '::1', nodeIp];
  } else {
    // With a token the token is the guard: a source filter that misses the
    // kubelet's address would silently skip the drain.
    allowedSources = [];
  }

  const config: Config = {
    port: integer(['DRAINER_PORT'], 8787, 0, 65_535),
    // "::" with ipv6Only off takes IPv4 too (as ::ffff:a.b.c.d); server.ts
    // falls back to 0.0.0.0 on a host without IPv6.
    host: get('DRAINER_HOST')?.raw ?? '::',
    mode: 'companion',
    appName: (appNameFound?.raw ?? '').toUpperCase(),
    appPort: integer(['DRAINER_APP_PORT', 'SERVER_PORT'], 8080, 1, 65_535),
    appHost: get('DRAINER_APP_HOST')?.raw ?? '127.0.0.1',
    instanceId: instanceIdFound?.raw,
    podIp,
    podName: get('POD_NAME')?.raw,
    nodeIp,
    servers,
    eurekaTimeoutMs: duration(['DRAINER_EUREKA_TIMEOUT_MS'], 2_000, 'ms'),
    eurekaRetries: integer(['DRAINER_EUREKA_RETRIES'], 2, 0, 10),
    verifyPollMs: duration(['DRAINER_VERIFY_POLL_MS'], 500, 'ms'),
    timings: {
      serverCacheMs,
      registryFetchMs,
      loadBalancerTtlMs,
      ribbonRefreshMs,
      loadBalancer,
      tailMs,
      marginMs,
      appShutdownMs,
      gracePeriodMs,
    },
    tailMode,
    tailMetricsUrl,
    tailMetric,
    tailIdleThreshold,
    appExit,
    appExitUrl,
    appExitProcess,
    appExitFile,
    token,
    allowedSources,
    sigtermPrestopWaitMs: duration(['DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS'], 5_000, 's'),
    logLevel: oneOf(['DRAINER_LOG_LEVEL'], ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  };
  if (config.eurekaTimeoutMs === 0) problems.push('DRAINER_EUREKA_TIMEOUT_MS must be above 0');
  if (config.verifyPollMs < 50) problems.push(`DRAINER_VERIFY_POLL_MS must be at least 50ms, got ${config.verifyPollMs}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function parseServerUrl(text: string, credentials: string | undefined): EurekaServerConfig | string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `a server URL that does not parse: ${JSON.stringify(redactUrlText(text))}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `a server URL that is not http(s): ${JSON.stringify(redactUrlText(text))}`;
  let username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  let password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  if (credentials !== undefined && username === undefined) {
    const at = credentials.indexOf(':');
    username = credentials.slice(0, at);
    password = credentials.slice(at + 1);
  }
  parsed.username = '';
  parsed.password = '';
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  const url = parsed.toString();
  return {
    url,
    label: url,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** Strips user:pass@ from anything that looks like a URL, for error messages. */
export function redactUrlText(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/** The configuration as it may be logged: secrets replaced, nothing else hidden. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    servers: config.servers.map((s) => ({ url: s.label, basicAuth: s.username !== undefined })),
    token: config.token === undefined ? undefined : '[redacted]',
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
