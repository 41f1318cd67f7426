import { isIP } from 'node:net';
import { EnvReader, readRows, row, shown } from '../config/reader';
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

export interface OwnerVariable {
  readonly name: string;
  readonly description: string;
}

/** Every variable owner mode reads, for the README and `--help`. */
export const OWNER_VARIABLES: readonly OwnerVariable[] = [
  { name: 'DRAINER_INSTANCE_ID', description: 'Instance id to register; default POD_NAME:app:port (Spring\'s hostname:app:port scheme).' },
  { name: 'POD_NAME', description: 'Downward API metadata.name; the first part of the default instance id (HOSTNAME is the fallback).' },
  { name: 'POD_IP', description: 'Downward API status.podIP; required: the registered ipAddr, and hostName unless DRAINER_INSTANCE_HOSTNAME is set.' },
  { name: 'DRAINER_INSTANCE_HOSTNAME', description: 'Registered hostName (fallback EUREKA_INSTANCE_HOSTNAME); default POD_IP, since callers connect to it and pod names do not resolve.' },
  { name: 'DRAINER_APP_HEALTH_URL', description: 'The app\'s health URL, 2xx = healthy; default http://127.0.0.1:<app port>/health.' },
  { name: 'DRAINER_HEALTH_INTERVAL_SECONDS', description: 'How often the health URL is read once registered; default 5s.' },
  { name: 'DRAINER_HEALTH_TIMEOUT_SECONDS', description: 'How long one health read may take before it counts as a failure; default 2s.' },
  { name: 'DRAINER_HEALTH_FAILURES_DOWN', description: 'Consecutive failed health reads that register the instance DOWN; default 3.' },
  { name: 'DRAINER_HEALTH_SUCCESSES_UP', description: 'Consecutive healthy reads that register it UP again (and UP the first time); default 1.' },
  { name: 'DRAINER_LEASE_RENEWAL_SECONDS', description: 'Heartbeat interval and leaseInfo.renewalIntervalInSecs (fallback EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS); default 30.' },
  { name: 'DRAINER_LEASE_DURATION_SECONDS', description: 'leaseInfo.durationInSecs (fallback EUREKA_INSTANCE_LEASEEXPIRATIONDURATIONINSECONDS); default 90; must exceed the renewal interval.' },
  { name: 'DRAINER_INSTANCE_METADATA', description: 'Instance metadata as k=v,k=v; wins over EUREKA_INSTANCE_METADATAMAP_* for the same key.' },
  { name: 'EUREKA_INSTANCE_METADATAMAP_<KEY>', description: 'One metadata entry each, Spring\'s env form: the key is lower-cased and _ becomes . (…_MANAGEMENT_PORT → management.port).' },
];

/** Owner mode's rows, in the same table form as src/config/variables.ts: adding a setting is adding a row. */
export const OWNER_ROWS = {
  healthUrl: row(['DRAINER_APP_HEALTH_URL'], (r, n) => r.url(n)),
  healthIntervalMs: row(['DRAINER_HEALTH_INTERVAL_SECONDS'], (r, n) => r.duration(n, 5_000, 's')),
  healthTimeoutMs: row(['DRAINER_HEALTH_TIMEOUT_SECONDS'], (r, n) => r.duration(n, 2_000, 's')),
  healthFailuresDown: row(['DRAINER_HEALTH_FAILURES_DOWN'], (r, n) => r.integer(n, 3, 1, 1_000)),
  healthSuccessesUp: row(['DRAINER_HEALTH_SUCCESSES_UP'], (r, n) => r.integer(n, 1, 1, 1_000)),
  leaseRenewalSeconds: row(['DRAINER_LEASE_RENEWAL_SECONDS', 'EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS'], (r, n) => r.integer(n, 30, 1, 3_600)),
  leaseDurationSeconds: row(['DRAINER_LEASE_DURATION_SECONDS', 'EUREKA_INSTANCE_LEASEEXPIRATIONDURATIONINSECONDS'], (r, n) => r.integer(n, 90, 1, 86_400)),
  instanceHostName: row(['DRAINER_INSTANCE_HOSTNAME', 'EUREKA_INSTANCE_HOSTNAME'], (r, n) => r.get(...n)),
  instanceMetadata: row(['DRAINER_INSTANCE_METADATA'], (r, n) => r.get(...n)),
} as const;

const METADATA_PREFIX = 'EUREKA_INSTANCE_METADATAMAP_';
/** Keys a Java caller can read back from the server's JSON and XML alike. */
const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Environment → owner settings, with every problem collected. The main
 * configuration merges `problems` into its own list, so one restart fixes
 * them all; parseOwnerConfig is the stand-alone form that throws.
 */
export function readOwnerConfig(env: Env, base: OwnerConfigBase): { readonly config: OwnerConfig | undefined; readonly problems: readonly string[] } {
  const reader = new EnvReader(env, () => '');
  const v = readRows(reader, OWNER_ROWS);
  const problems = reader.problems;
  const get = (...names: string[]) => reader.get(...names);

  // --- who the instance is ------------------------------------------------------
  const app = base.appName.toUpperCase();
  const vipAddress = base.appName.toLowerCase();
  const podIp = base.podIp ?? get('POD_IP')?.raw;
  if (podIp === undefined) problems.push('owner mode needs POD_IP (Downward API status.podIP): it is the ipAddr callers connect to');
  else if (isIP(podIp) === 0) problems.push(`POD_IP must be an IP address, got ${shown(podIp)}`);
  const ipAddr = podIp ?? '';

  const idFound = get('DRAINER_INSTANCE_ID');
  const podName = base.podName ?? get('POD_NAME', 'HOSTNAME')?.raw;
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
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(METADATA_PREFIX)) continue;
    const value = env[name];
    if (value === undefined) continue;
    const key = name.slice(METADATA_PREFIX.length).toLowerCase().replace(/_/g, '.');
    if (!METADATA_KEY.test(key)) problems.push(`${name} does not name a metadata key (letters, digits, . _ - after ${METADATA_PREFIX})`);
    else metadata[key] = value;
  }
  const listFound = v.instanceMetadata;
  if (listFound) {
    const seen = new Set<string>();
    for (const part of listFound.raw.split(',').map((s) => s.trim()).filter(Boolean)) {
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
