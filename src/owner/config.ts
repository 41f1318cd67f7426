import { isIP } from 'node:net';
import { EnvReader, prefixed, readRows, setting, shown } from '../config/reader';
import { duration, found, integer, list, url } from '../config/rules';
import { ConfigError } from '../errors';
import type { InstanceIdentity } from './instance';

export type Env = Readonly<Record<string, string | undefined>>;

/** What owner mode takes from the main configuration (a Config satisfies it). */
export interface OwnerConfigBase {
  readonly appName: string;
  readonly appPort: number;
  readonly podIp: string | undefined;
  readonly podName: string | undefined;
}

export interface OwnerConfig extends InstanceIdentity {
  /** Where the drainer reads the app's health (2xx = healthy). */
  readonly healthUrl: string;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** Consecutive failed health reads that turn an UP instance DOWN. */
  readonly healthFailuresDown: number;
  /** Consecutive healthy reads that turn a STARTING or DOWN instance UP. */
  readonly healthSuccessesUp: number;
}

const METADATA_PREFIX = 'EUREKA_INSTANCE_METADATAMAP_';

/**
 * Owner mode's rows, in the same table form as src/config/variables.ts: adding a setting is adding a row.
 * Owner mode reads POD_IP, POD_NAME and DRAINER_INSTANCE_ID with its own meaning (they name what it registers).
 */
export const OWNER_ROWS = {
  instanceId: setting(['DRAINER_INSTANCE_ID'], found(), "Instance id to register; default POD_NAME:app:port (Spring's hostname:app:port scheme).", {
    shownDefault: 'POD_NAME:app:port',
  }),
  podName: setting(['POD_NAME', 'HOSTNAME'], found(), 'Downward API metadata.name; the first part of the default instance id (HOSTNAME is the fallback).'),
  podIp: setting(['POD_IP'], found(), 'Downward API status.podIP; required: the registered ipAddr, and hostName unless DRAINER_INSTANCE_HOSTNAME is set.', { shownDefault: 'required' }),
  instanceHostName: setting(['DRAINER_INSTANCE_HOSTNAME', 'EUREKA_INSTANCE_HOSTNAME'], found(), 'Registered hostName; default POD_IP, since callers connect to it and pod names do not resolve.', { shownDefault: 'POD_IP' }),
  healthUrl: setting(['DRAINER_APP_HEALTH_URL'], url(), "The app's health URL, 2xx = healthy; default http://127.0.0.1:<app port>/health.", { shownDefault: 'http://127.0.0.1:<app port>/health' }),
  healthIntervalMs: setting(['DRAINER_HEALTH_INTERVAL_SECONDS'], duration(5_000, 's'), 'How often the health URL is read once registered.'),
  healthTimeoutMs: setting(['DRAINER_HEALTH_TIMEOUT_SECONDS'], duration(2_000, 's'), 'How long one health read may take before it counts as a failure.'),
  healthFailuresDown: setting(['DRAINER_HEALTH_FAILURES_DOWN'], integer(3, 1, 1_000), 'Consecutive failed health reads that register the instance DOWN.'),
  healthSuccessesUp: setting(['DRAINER_HEALTH_SUCCESSES_UP'], integer(1, 1, 1_000), 'Consecutive healthy reads that register it UP again (and UP the first time).'),
  leaseRenewalSeconds: setting(['DRAINER_LEASE_RENEWAL_SECONDS', 'EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS'], integer(30, 1, 3_600), 'Heartbeat interval and leaseInfo.renewalIntervalInSecs.'),
  leaseDurationSeconds: setting(['DRAINER_LEASE_DURATION_SECONDS', 'EUREKA_INSTANCE_LEASEEXPIRATIONDURATIONINSECONDS'], integer(90, 1, 86_400), 'leaseInfo.durationInSecs; must exceed the renewal interval.'),
  instanceMetadata: setting(['DRAINER_INSTANCE_METADATA'], list(), 'Instance metadata as k=v,k=v; wins over EUREKA_INSTANCE_METADATAMAP_* for the same key.'),
  metadataMap: prefixed(METADATA_PREFIX, "One metadata entry each, Spring's env form: the key is lower-cased and _ becomes . (…_MANAGEMENT_PORT → management.port)."),
} as const;

/** Every variable owner mode reads, with what it does (for the docs test; --help reads OWNER_ROWS). */
export const OWNER_VARIABLES: readonly { readonly name: string; readonly description: string }[] = Object.values(OWNER_ROWS).map((v) => ({ name: v.names[0]!, description: v.about }));

/** Keys a Java caller can read back from the server's JSON and XML alike. */
const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Environment → owner settings, with every problem collected. The main
 * configuration merges `problems` into its own list, so one restart fixes
 * them all; parseOwnerConfig is the stand-alone form that throws.
 */
export function readOwnerConfig(env: Env, base: OwnerConfigBase): { readonly config: OwnerConfig | undefined; readonly problems: readonly string[] } {
  const reader = new EnvReader(env);
  const v = readRows(reader, OWNER_ROWS);
  const problems = reader.problems;

  // --- who the instance is ------------------------------------------------------
  const app = base.appName.toUpperCase();
  const vipAddress = base.appName.toLowerCase();
  const podIp = base.podIp ?? v.podIp?.raw;
  if (podIp === undefined) problems.push('owner mode needs POD_IP (Downward API status.podIP): it is the ipAddr callers connect to');
  else if (isIP(podIp) === 0) problems.push(`POD_IP must be an IP address, got ${shown(podIp)}`);
  const ipAddr = podIp ?? '';

  const idFound = v.instanceId;
  const podName = base.podName ?? v.podName?.raw;
  let instanceId = '';
  if (idFound) instanceId = idFound.raw;
  else if (podName !== undefined) instanceId = `${podName}:${base.appName}:${base.appPort}`;
  else problems.push('owner mode needs POD_NAME (Downward API metadata.name) or DRAINER_INSTANCE_ID to name the instance it registers');
  // The id is a path segment of every heartbeat and cancel.
  if (instanceId && /[/?#\s]/.test(instanceId)) problems.push(`${idFound ? 'DRAINER_INSTANCE_ID' : 'the default instance id (POD_NAME:app:port)'} must not contain "/", "?", "#" or spaces, got ${shown(instanceId)}`);

  const hostFound = v.instanceHostName;
  if (hostFound && !/^[A-Za-z0-9.:_-]+$/.test(hostFound.raw)) problems.push(`${hostFound.name} must be a host name or IP address, got ${shown(hostFound.raw)}`);
  const hostName = hostFound?.raw ?? ipAddr;

  // --- health -------------------------------------------------------------------
  const healthUrl = v.healthUrl ?? `http://127.0.0.1:${base.appPort}/health`;
  const { healthIntervalMs, healthTimeoutMs, healthFailuresDown, healthSuccessesUp } = v;
  for (const [name, ms] of [['DRAINER_HEALTH_INTERVAL_SECONDS', healthIntervalMs], ['DRAINER_HEALTH_TIMEOUT_SECONDS', healthTimeoutMs]] as const) {
    if (ms < 100) problems.push(`${name} must be at least 100 ms, got ${ms} ms`);
  }

  // --- the lease ----------------------------------------------------------------
  const { leaseRenewalSeconds, leaseDurationSeconds } = v;
  // A lease shorter than the heartbeat interval expires between two beats.
  if (leaseDurationSeconds <= leaseRenewalSeconds) {
    problems.push(`the lease duration (${leaseDurationSeconds} s) must be longer than the renewal interval (${leaseRenewalSeconds} s), or the lease expires between heartbeats`);
  }

  // --- metadata: Spring's per-key variables first, the drainer's list wins -------
  const metadata: Record<string, string> = {};
  for (const { name, raw: value } of v.metadataMap) {
    const key = name.slice(METADATA_PREFIX.length).toLowerCase().replace(/_/g, '.');
    if (!METADATA_KEY.test(key)) problems.push(`${name} does not name a metadata key (letters, digits, . _ - after ${METADATA_PREFIX})`);
    else metadata[key] = value;
  }
  const listFound = v.instanceMetadata;
  if (listFound) {
    const seen = new Set<string>();
    for (const part of listFound.items) {
      const equals = part.indexOf('=');
      const key = equals < 0 ? part : part.slice(0, equals).trim();
      if (equals <= 0 || !METADATA_KEY.test(key)) {
        problems.push(`DRAINER_INSTANCE_METADATA must be k=v pairs separated by commas (keys: letters, digits, . _ -), got ${shown(part)}`);
        continue;
      }
      if (seen.has(key)) problems.push(`DRAINER_INSTANCE_METADATA sets ${shown(key)} twice`);
      seen.add(key);
      metadata[key] = part.slice(equals + 1).trim();
    }
  }

  if (problems.length > 0) return { config: undefined, problems };

  // The app's health URL usually points at loopback; callers and dashboards
  // need the same path on the pod address.
  const health = new URL(healthUrl);
  if (LOOPBACK.has(health.hostname)) health.hostname = ipAddr.includes(':') ? `[${ipAddr}]` : ipAddr;
  const host = ipAddr.includes(':') ? `[${ipAddr}]` : ipAddr;
  const healthCheckUrl = health.toString();
  const config: OwnerConfig = {
    instanceId,
    app,
    vipAddress,
    hostName,
    ipAddr,
    port: base.appPort,
    homePageUrl: `http://${host}:${base.appPort}/`,
    // A non-JVM app has no /actuator/info; its health page is the one page it is known to serve.
    statusPageUrl: healthCheckUrl,
    healthCheckUrl,
    leaseRenewalSeconds,
    leaseDurationSeconds,
    metadata: Object.freeze(metadata),
    healthUrl,
    healthIntervalMs,
    healthTimeoutMs,
    healthFailuresDown,
    healthSuccessesUp,
  };
  return { config: Object.freeze(config), problems };
}

/** Environment → frozen OwnerConfig; throws a ConfigError listing every problem. */
export function parseOwnerConfig(env: Env, base: OwnerConfigBase): OwnerConfig {
  const { config, problems } = readOwnerConfig(env, base);
  if (!config) throw new ConfigError(problems);
  return config;
}
