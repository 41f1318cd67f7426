import { EurekaCodecError } from '../errors';
import { isObject } from '../json';

/**
 * What the drainer needs of a Eureka InstanceInfo. The server writes several
 * fields as strings ("@enabled", timestamps); older JSON codecs write a single
 * instance or application as an object rather than an array. Both are accepted.
 */
export interface EurekaInstance {
  readonly instanceId: string;
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly status: string;
  readonly overriddenStatus: string;
  readonly port: number;
  readonly registrationTimestamp: number;
  /** The server's lease expiry mark (renew time + duration); advances while the app heartbeats. */
  readonly lastRenewalTimestamp: number;
  readonly lastDirtyTimestamp: number;
  readonly renewalIntervalInSecs: number;
  readonly actionType: string | undefined;
}

export interface EurekaApplications {
  readonly appsHashcode: string | undefined;
  readonly instances: readonly EurekaInstance[];
}


function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function int(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : 0;
}

/** Parses body text as JSON, with an error that shows a bounded snippet (an HTML error page says more than "Unexpected token <"). */
export function parseJson(body: string, what: string): unknown {
  if (body.trim() === '') throw new EurekaCodecError(`${what}: body was empty, expected JSON`);
  try {
    return JSON.parse(body);
  } catch {
    const snippet = body.slice(0, 80).replace(/\s+/g, ' ');
    throw new EurekaCodecError(`${what}: body was not JSON: ${JSON.stringify(snippet)}${body.length > 80 ? '…' : ''}`);
  }
}

export function decodeInstance(raw: unknown): EurekaInstance {
  if (!isObject(raw)) throw new EurekaCodecError('instance is not an object');
  const port = raw.port;
  const lease = isObject(raw.leaseInfo) ? raw.leaseInfo : {};
  const instanceId = text(raw.instanceId) ?? text(raw.hostName);
  if (!instanceId) throw new EurekaCodecError('instance has neither instanceId nor hostName');
  return {
    instanceId,
    app: (text(raw.app) ?? '').toUpperCase(),
    hostName: text(raw.hostName) ?? '',
    ipAddr: text(raw.ipAddr) ?? '',
    status: text(raw.status) ?? 'UNKNOWN',
    overriddenStatus: text(raw.overriddenStatus) ?? text(raw.overriddenstatus) ?? 'UNKNOWN',
    port: isObject(port) ? int(port.$) : int(port),
    registrationTimestamp: int(lease.registrationTimestamp),
    lastRenewalTimestamp: int(lease.lastRenewalTimestamp),
    lastDirtyTimestamp: int(raw.lastDirtyTimestamp),
    renewalIntervalInSecs: int(lease.renewalIntervalInSecs) || 30,
    actionType: text(raw.actionType),
  };
}

/** `{"instance": {...}}`, the live view of one instance. */
export function decodeInstanceDocument(body: string): EurekaInstance {
  const doc = parseJson(body, 'instance');
  if (!isObject(doc) || !isObject(doc.instance)) throw new EurekaCodecError('instance: expected {"instance": {...}}');
  return decodeInstance(doc.instance);
}

/** `{"application": {"name", "instance": [...]}}`. */
export function decodeApplicationDocument(body: string): EurekaInstance[] {
  const doc = parseJson(body, 'application');
  if (!isObject(doc) || !isObject(doc.application)) throw new EurekaCodecError('application: expected {"application": {...}}');
  return asArray(doc.application.instance).map(decodeInstance);
}

/** `{"applications": {"apps__hashcode", "application": [...]}}`, as /apps and /apps/delta answer. */
export function decodeApplicationsDocument(body: string): EurekaApplications {
  const doc = parseJson(body, 'applications');
  if (!isObject(doc) || !isObject(doc.applications)) throw new EurekaCodecError('applications: expected {"applications": {...}}');
  const instances: EurekaInstance[] = [];
  for (const app of asArray(doc.applications.application)) {
    if (!isObject(app)) throw new EurekaCodecError('applications: an application is not an object');
    instances.push(...asArray(app.instance).map(decodeInstance));
  }
  return { appsHashcode: text(doc.applications.apps__hashcode), instances };
}
