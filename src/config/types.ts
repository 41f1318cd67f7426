import type { PodDeadlineSettings } from './pod-deadline';
import type { OwnerConfig } from '../owner/config';

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
/** What the callers fetch from Eureka: the delta (`/apps/delta`), the full registry (`/apps/`), or some of each. */
export type CallerFetch = 'delta' | 'full' | 'both';
export type TailMode = 'fixed' | 'adaptive';
export type AppExitStrategy = 'kubelet' | 'http' | 'signal' | 'file';
export type RegistrationMode = 'companion' | 'owner';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Timings {
  /** eureka.server.response-cache-update-interval-ms (0 when the read-only cache is off). */
  readonly serverCacheMs: number;
  /**
   * eureka.server.response-cache-auto-expiration-in-seconds: the most a cached view serves a value loaded before
   * a change whose invalidation the cache lost (google/guava#1881, timing.ts serverSettledAt).
   */
  readonly serverCacheExpiryMs: number;
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
  readonly mode: RegistrationMode;
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
  /** Which of the callers' views the drain proves its change on (verify.ts). */
  readonly callerFetch: CallerFetch;
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
  /**
   * Where allowedSources comes from: DRAINER_ALLOWED_SOURCES as set; NODE_IP, the
   * no-token default (loopback, NODE_IP and the pod's default gateways); none, no
   * filter (a token guards, or there is no NODE_IP to build one from).
   */
  readonly allowedSourcesFrom: 'DRAINER_ALLOWED_SOURCES' | 'NODE_IP' | 'none';
  /** The pod's default gateways found at start-up (src/pod-gateway.ts); empty when the pod has no default route. */
  readonly podGateways: readonly string[];
  readonly sigtermPrestopWaitMs: number;
  readonly logLevel: LogLevel;
  /** Owner mode only: what the drainer registers and heartbeats for the app. */
  readonly owner: OwnerConfig | undefined;
  /** Learn the real end of the grace period from the pod's deletionTimestamp (off by default). */
  readonly podDeadline: PodDeadlineSettings;
}

export type { Env } from './reader';

export interface ParseOptions {
  /** False for `eureka-drainer plan`: only the timings matter, not where the app is. */
  readonly requireTarget?: boolean;
  readonly readFile?: (path: string) => string;
  /** The pod's default gateways (src/pod-gateway.ts), admitted with NODE_IP when there is no token. */
  readonly podGateways?: readonly string[];
}
