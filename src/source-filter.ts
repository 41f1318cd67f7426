import { isIP } from 'node:net';

/**
 * Which peer addresses may call /prestop and /drain/abort: exact addresses
 * (IPv4 or IPv6) and IPv4 CIDR blocks. The kubelet calls from the node, and
 * depending on the CNI its source is the node IP or the node's bridge address
 * in the pod CIDR, so a CIDR is often the right entry.
 */
export type SourceRule = { readonly kind: 'ip'; readonly address: string } | { readonly kind: 'cidr4'; readonly base: number; readonly mask: number; readonly text: string };

export function parseSourceRule(text: string): SourceRule | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return isIP(text) === 0 ? undefined : { kind: 'ip', address: text };
  const address = text.slice(0, slash);
  const bits = Number(text.slice(slash + 1));
  if (isIP(address) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { kind: 'cidr4', base: (ipv4ToInt(address) & mask) >>> 0, mask, text };
}

export function sourceAllowed(rules: readonly SourceRule[], peer: string): boolean {
  if (rules.length === 0) return true;
  const address = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
  return rules.some((rule) =>
    rule.kind === 'ip' ? rule.address === address : isIP(address) === 4 && ((ipv4ToInt(address) & rule.mask) >>> 0) === rule.base,
  );
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
