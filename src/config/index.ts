import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { readSourceRule } from '../http/source-filter';
import { EnvReader, shown } from './reader';
import { parseServerUrl } from './servers';
import { POD_DEADLINE_VARIABLES, podDeadlineSettings } from './pod-deadline';
import { readOwnerConfig, type OwnerConfig } from '../owner/config';
import type { Config, EurekaServerConfig, Env, ParseOptions } from './types';
import { readVariables, type Values } from './variables';

export type { AppExitStrategy, CallerFetch, Config, EurekaServerConfig, Env, LoadBalancerKind, ParseOptions, TailMode, Timings } from './types';
export { redactUrlText } from './servers';
import { VARIABLE_NAMES as TABLE_NAMES } from './variables';

/** The pod-deadline watch's own table (pod-deadline.ts); the kubelet sets KUBERNETES_SERVICE_* in every container, so no manifest or injection sets them. */
const POD_DEADLINE_NAMES = Object.values(POD_DEADLINE_VARIABLES)
  .flatMap((v) => v.names)
  .filter((name) => !name.startsWith('KUBERNETES_SERVICE_'));

/** Every variable the drainer reads (for the injector, which copies them from the app, and the docs test). */
export const VARIABLE_NAMES: readonly string[] = [...new Set([...TABLE_NAMES, ...POD_DEADLINE_NAMES])];

/**
 * Environment → frozen Config. Reads nothing but `env` (and the token or
 * credential files it names): the table in variables.ts, then the rules that
 * tie values together. Every problem is collected and thrown at once as a
 * ConfigError, so one restart fixes them all.
 */
export function parseConfig(env: Env, options: ParseOptions = {}): Config {
  const requireTarget = options.requireTarget ?? true;
  const reader = new EnvReader(env, options.readFile ?? ((path: string) => readFileSync(path, 'utf8')));
  const v = readVariables(reader);
  const problem = (text: string): void => reader.problem(text);

  checkTarget(v, requireTarget, problem);
  const owner = v.mode === 'owner' ? readOwner(env, v, problem) : undefined;
  const podDeadline = podDeadlineSettings(env);
  // Both tables read DRAINER_GRACE_PERIOD_SECONDS: a bad value is one problem, not two.
  for (const p of podDeadline.problems) if (!reader.problems.includes(p)) problem(p);
  const servers = readServers(v, requireTarget, problem);
  checkTail(v, problem);
  checkAppExit(v, problem);
  if (v.token !== undefined && v.token.length < 16) problem('DRAINER_TOKEN(_FILE) must be at least 16 characters');
  if (v.eurekaTimeoutMs === 0) problem('DRAINER_EUREKA_TIMEOUT_MS must be above 0');
  if (v.verifyPollMs < 50) problem(`DRAINER_VERIFY_POLL_MS must be at least 50ms, got ${v.verifyPollMs}`);

  const config: Config = {
    port: v.port,
    host: v.host,
    mode: v.mode,
    appName: (v.appName?.raw ?? '').toUpperCase(),
    appPort: v.appPort,
    appHost: v.appHost,
    // Owner mode registers the instance itself, so its id is known (default POD_NAME:app:port).
    instanceId: v.instanceId?.raw ?? owner?.instanceId,
    podIp: v.podIp,
    podName: v.podName,
    nodeIp: v.nodeIp,
    servers,
    eurekaTimeoutMs: v.eurekaTimeoutMs,
    eurekaRetries: v.eurekaRetries,
    verifyPollMs: v.verifyPollMs,
    callerFetch: v.callerFetch,
    timings: {
      serverCacheMs: v.readOnlyCache ? v.serverCacheMs : 0,
      serverCacheExpiryMs: v.serverCacheExpiryMs,
      registryFetchMs: v.registryFetchMs,
      loadBalancerTtlMs: v.lbCacheEnabled ? v.loadBalancerTtlMs : 0,
      ribbonRefreshMs: v.ribbonRefreshMs,
      loadBalancer: v.loadBalancer,
      tailMs: v.tailMs,
      marginMs: v.marginMs,
      appShutdownMs: v.appShutdownMs,
      gracePeriodMs: v.gracePeriodSeconds * 1000,
    },
    tailMode: v.tailMode,
    tailMetricsUrl: v.tailMetricsUrl,
    tailMetric: v.tailMetric,
    tailIdleThreshold: v.tailIdleThreshold,
    appExit: v.appExit,
    appExitUrl: v.appExitUrl,
    appExitProcess: v.appExitProcess,
    appExitFile: v.appExitFile,
    token: v.token,
    ...allowList(v, options.podGateways ?? [], problem),
    podGateways: [...(options.podGateways ?? [])],
    sigtermPrestopWaitMs: v.sigtermPrestopWaitMs,
    logLevel: v.logLevel,
    owner,
    podDeadline: podDeadline.settings,
  };
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze(config);
}

/** Owner mode's own variables (src/owner/config.ts); their problems join the list. */
function readOwner(env: Env, v: Values, problem: (text: string) => void): OwnerConfig | undefined {
  if (!v.podIp) problem('DRAINER_MODE=owner needs POD_IP (Downward API status.podIP): the address the drainer registers for the app');
  const { config, problems } = readOwnerConfig(env, { appName: v.appName?.raw ?? '', appPort: v.appPort, podIp: v.podIp, podName: v.podName });
  for (const p of problems) if (!p.startsWith('POD_IP')) problem(p);
  return config;
}

function checkTarget(v: Values, requireTarget: boolean, problem: (text: string) => void): void {
  if (!v.appName && requireTarget) problem('DRAINER_APP_NAME (or SPRING_APPLICATION_NAME) is required: the Eureka application name of the app');
  else if (v.appName && !/^[A-Za-z0-9._-]+$/.test(v.appName.raw)) problem(`${v.appName.name} must be a Eureka application name (letters, digits, . _ -), got ${shown(v.appName.raw)}`);
  if (v.instanceId && /[/?#\s]/.test(v.instanceId.raw)) problem(`DRAINER_INSTANCE_ID must not contain "/", "?", "#" or spaces, got ${shown(v.instanceId.raw)}`);
  if (!v.instanceId && !v.podIp && requireTarget) problem('set DRAINER_INSTANCE_ID, or POD_IP (Downward API status.podIP) so the drainer can find its instance in Eureka');
}

function readServers(v: Values, requireTarget: boolean, problem: (text: string) => void): EurekaServerConfig[] {
  if (v.credentials !== undefined && !v.credentials.includes(':')) problem('DRAINER_EUREKA_CREDENTIALS(_FILE) must hold "user:password"');
  const servers: EurekaServerConfig[] = [];
  const found = v.serverUrls;
  if (!found) {
    if (requireTarget) problem('DRAINER_EUREKA_URLS (or EUREKA_CLIENT_SERVICEURL_DEFAULTZONE) is required: comma-separated Eureka server URLs, one per server pod');
    return servers;
  }
  for (const part of found.items) {
    const server = parseServerUrl(part, v.credentials);
    if (typeof server === 'string') problem(`${found.name} has ${server}`);
    else if (servers.some((s) => s.url === server.url)) problem(`${found.name} lists ${server.label} twice`);
    else servers.push(server);
  }
  return servers;
}

function checkTail(v: Values, problem: (text: string) => void): void {
  if (v.tailMode === 'adaptive' && v.tailMetricsUrl === undefined && !problemAlreadyNamed(v)) {
    problem('DRAINER_TAIL_MODE=adaptive needs DRAINER_TAIL_METRICS_URL (e.g. http://127.0.0.1:8080/actuator/prometheus)');
  }
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?$/.test(v.tailMetric)) problem(`DRAINER_TAIL_METRIC must be a Prometheus metric name with optional {label="value"} matchers, got ${shown(v.tailMetric)}`);
}

/** A bad DRAINER_TAIL_METRICS_URL was already reported by its row; do not report it missing too. */
function problemAlreadyNamed(v: Values): boolean {
  return v.tailMetricsUrlSet;
}

function checkAppExit(v: Values, problem: (text: string) => void): void {
  if (v.appExit === 'http' && !v.appExitUrlSet) problem('DRAINER_APP_EXIT=http needs DRAINER_APP_EXIT_URL (e.g. http://127.0.0.1:8080/actuator/shutdown)');
  if (v.appExit === 'signal' && !v.appExitProcess) problem('DRAINER_APP_EXIT=signal needs DRAINER_APP_EXIT_PROCESS, a pattern matched against /proc/*/cmdline (needs shareProcessNamespace: true)');
  if (v.appExit === 'signal' && v.appExitProcess) {
    try {
      new RegExp(v.appExitProcess);
    } catch {
      problem(`DRAINER_APP_EXIT_PROCESS must be a valid regular expression, got ${shown(v.appExitProcess)}`);
    }
  }
  if (v.appExit === 'file' && !v.appExitFile) problem('DRAINER_APP_EXIT=file needs DRAINER_APP_EXIT_FILE, a path in a volume shared with the app');
}

function allowList(v: Values, podGateways: readonly string[], problem: (text: string) => void): Pick<Config, 'allowedSources' | 'allowedSourcesFrom'> {
  if (v.allowedSources) {
    const sources = v.allowedSources.items;
    for (const source of sources) {
      if (source === '*') continue;
      const rule = readSourceRule(source);
      if ('problem' in rule) problem(`DRAINER_ALLOWED_SOURCES must list IP addresses or CIDR blocks (or *); ${shown(source)}: ${rule.problem}`);
    }
    return { allowedSources: sources.includes('*') ? [] : [...sources], allowedSourcesFrom: 'DRAINER_ALLOWED_SOURCES' };
  }
  // No token: only loopback and the node may start a drain. The kubelet's
  // source is NODE_IP or, with bridge network plugins, the pod's default
  // gateway (the node's bridge address; src/pod-gateway.ts). Any other
  // plugin's choice is logged with its source on refusal, with the setting
  // that admits it (src/http/source-advice.ts), so the list can be widened.
  if (v.token === undefined && v.nodeIp) return { allowedSources: [...new Set(['127.0.0.1', '::1', v.nodeIp, ...podGateways])], allowedSourcesFrom: 'NODE_IP' };
  // With a token the token is the guard: a source filter that misses the
  // kubelet's address would silently skip the drain.
  return { allowedSources: [], allowedSourcesFrom: 'none' };
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
