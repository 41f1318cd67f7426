/**
 * The statuses owner mode may register. OUT_OF_SERVICE is left out on
 * purpose: it is the server's override state, and an instance registered with
 * it is afterwards kept out even when it sends UP (eureka#1398,
 * eureka-facts §1.4). Taking the instance out is a cancel, never a status.
 */
export type RegisteredStatus = 'STARTING' | 'UP' | 'DOWN';

export const REGISTERED_STATUSES: readonly RegisteredStatus[] = ['STARTING', 'UP', 'DOWN'];

/** Who the instance is: everything in a registration that does not change while it runs. */
export interface InstanceIdentity {
  readonly instanceId: string;
  /** The Eureka application name, upper-case as the server stores it. */
  readonly app: string;
  /** vipAddress and secureVipAddress: the application name in lower case, as Spring sets them (callers look it up by this). */
  readonly vipAddress: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number;
  readonly homePageUrl: string;
  readonly statusPageUrl: string;
  readonly healthCheckUrl: string;
  readonly leaseRenewalSeconds: number;
  readonly leaseDurationSeconds: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** An InstanceInfo as the register POST carries it, in the server's own JSON shape (eureka-facts §1.4). */
export interface InstanceInfoJson {
  readonly instanceId: string;
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly status: RegisteredStatus;
  readonly overriddenStatus: 'UNKNOWN';
  readonly port: { readonly $: number; readonly '@enabled': 'true' };
  readonly securePort: { readonly $: number; readonly '@enabled': 'false' };
  readonly countryId: 1;
  readonly dataCenterInfo: { readonly '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo'; readonly name: 'MyOwn' };
  readonly leaseInfo: { readonly renewalIntervalInSecs: number; readonly durationInSecs: number };
  readonly metadata: Readonly<Record<string, string>>;
  readonly homePageUrl: string;
  readonly statusPageUrl: string;
  readonly healthCheckUrl: string;
  readonly vipAddress: string;
  readonly secureVipAddress: string;
  readonly isCoordinatingDiscoveryServer: 'false';
  readonly lastDirtyTimestamp: string;
  readonly actionType: 'ADDED';
}

/**
 * The complete instance a Spring Cloud caller expects to find. `@enabled`,
 * timestamps and the coordinating flag are strings because that is how the
 * server's own codec writes them; its reader accepts both.
 */
export function buildInstanceInfo(identity: InstanceIdentity, status: RegisteredStatus, lastDirtyTimestamp: number): InstanceInfoJson {
  // The type already forbids OUT_OF_SERVICE; this catches a cast or a JS caller.
  if (!REGISTERED_STATUSES.includes(status)) throw new Error(`owner mode never registers as ${String(status)} (only ${REGISTERED_STATUSES.join(', ')})`);
  return {
    instanceId: identity.instanceId,
    app: identity.app.toUpperCase(),
    hostName: identity.hostName,
    ipAddr: identity.ipAddr,
    status,
    overriddenStatus: 'UNKNOWN',
    port: { $: identity.port, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: identity.leaseRenewalSeconds, durationInSecs: identity.leaseDurationSeconds },
    metadata: { ...identity.metadata },
    homePageUrl: identity.homePageUrl,
    statusPageUrl: identity.statusPageUrl,
    healthCheckUrl: identity.healthCheckUrl,
    vipAddress: identity.vipAddress,
    secureVipAddress: identity.vipAddress,
    isCoordinatingDiscoveryServer: 'false',
    lastDirtyTimestamp: String(lastDirtyTimestamp),
    actionType: 'ADDED',
  };
}

/** The POST body: the server reads the instance under an `instance` root. */
export function encodeInstanceDocument(info: InstanceInfoJson): string {
  return JSON.stringify({ instance: info });
}
