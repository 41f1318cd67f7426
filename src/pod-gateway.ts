import { readFileSync } from 'node:fs';

/**
 * The pod's default gateways, from the routing tables the drainer shares with the app (one network
 * namespace per pod). Why: with no token, the kubelet's preStop call must pass the source allow-list,
 * and its source address depends on the network plugin. Calico and the AWS VPC CNI route node → pod
 * with no source hint, so the call comes from the node's address (`NODE_IP`); bridge plugins (flannel,
 * kubenet's cbr0) and Cilium route it via the bridge or host device whose address is the pod's
 * default gateway. Either address is the node's own, so admitting both admits the node and nothing else.
 */
export function parseDefaultGateways(ipv4Routes: string, ipv6Routes: string): string[] {
  const gateways: string[] = [];
  // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses in host
  // byte order as hex (little-endian on every architecture Kubernetes nodes run).
  for (const line of ipv4Routes.split('\n').slice(1)) {
    const [, destination, gateway, flags, , , , mask] = line.trim().split(/\s+/);
    if (destination !== '00000000' || mask !== '00000000' || !gateway || !flags) continue;
    if ((parseInt(flags, 16) & RTF_GATEWAY) === 0 || !/^[0-9A-Fa-f]{8}$/.test(gateway) || gateway === '00000000') continue;
    const octets = [6, 4, 2, 0].map((at) => parseInt(gateway.slice(at, at + 2), 16));
    gateways.push(octets.join('.'));
  }
  // /proc/net/ipv6_route: dest plen src src_plen next_hop metric refcnt use flags iface, hex without colons.
  for (const line of ipv6Routes.split('\n')) {
    const [destination, prefix, , , nextHop, , , , flags] = line.trim().split(/\s+/);
    if (destination !== ZERO_V6 || prefix !== '00' || !nextHop || !flags || nextHop === ZERO_V6) continue;
    if ((parseInt(flags, 16) & RTF_GATEWAY) === 0 || !/^[0-9a-fA-F]{32}$/.test(nextHop)) continue;
    gateways.push(compactIpv6(nextHop));
  }
  return [...new Set(gateways)];
}

/** Reads the pod's routing tables; none (not Linux, no /proc) is an empty list, never an error. */
export function readDefaultGateways(readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): string[] {
  const read = (path: string): string => {
    try {
      return readFile(path);
    } catch {
      return '';
    }
  };
  return parseDefaultGateways(read('/proc/net/route'), read('/proc/net/ipv6_route'));
}

const RTF_GATEWAY = 0x2;
const ZERO_V6 = '0'.repeat(32);

function compactIpv6(hex: string): string {
  const groups = (hex.match(/.{4}/g) ?? []).map((g) => parseInt(g, 16).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = { at: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j += 1;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}
