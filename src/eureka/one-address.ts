import { lookup as dnsLookup } from 'node:dns/promises';
import type { EurekaServerConfig } from '../config';

export type Lookup = (host: string) => Promise<readonly string[]>;

const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/**
 * Several Eureka URLs that all resolve to the same address are one
 * load-balanced Service, not per-pod URLs: every check then asks a random
 * server, so "verified on every server" proves nothing (eureka-facts §5).
 * Returns the warning to log, or undefined. Lookup failures say nothing.
 */
export async function oneAddressWarning(servers: readonly EurekaServerConfig[], lookup: Lookup = systemLookup): Promise<string | undefined> {
  if (servers.length < 2) return undefined;
  const resolved = await Promise.all(
    servers.map(async (s) => {
      const url = new URL(s.url);
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      const addresses = await lookup(url.hostname.replace(/^\[|\]$/g, '')).catch(() => [] as string[]);
      // Two servers on one host with their own ports are two servers; one address and port is one Service.
      return addresses.length === 0 ? '' : `${addresses.slice().sort().join(',')} port ${port}`;
    }),
  );
  if (resolved.some((r) => r === '') || new Set(resolved).size > 1) return undefined;
  return `all ${servers.length} DRAINER_EUREKA_URLS resolve to the same address (${resolved[0]}): that looks like one load-balanced Service, not one URL per Eureka pod; the drainer then cannot take the instance out of, nor verify, every server (use the StatefulSet's per-pod names, e.g. http://eureka-0.eureka:8761/eureka/)`;
}
