import { BlockList, isIP } from 'node:net';

/**
 * Which peer addresses may call /prestop and /drain/abort: exact addresses and
 * CIDR blocks, IPv4 or IPv6. The kubelet calls from the node, and depending on
 * the CNI its source is the node IP or the node's bridge address in the pod
 * CIDR, so a CIDR is often the right entry.
 *
 * We parse the entries (so a bad one gets a specific reason); node:net's
 * BlockList matches. It compares addresses as numbers, not text ("2001:db8::1"
 * and "2001:DB8:0:0:0:0:0:1" are one address), and an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, how a dual-stack socket reports an IPv4 peer) as the IPv4
 * address, whether it is the peer or written in the list; an IPv6 block that
 * covers the mapped range (::/0, ::/80…) admits IPv4 peers too.
 */
export interface SourceRule {
  readonly family: 4 | 6;
  /** The address as written; BlockList ignores a zone index (fe80::1%eth0), the allow-list has no interfaces. */
  readonly address: string;
  /** Prefix length; an exact address is /32 or /128. */
  readonly bits: number;
  readonly text: string;
}

export type SourceRuleResult = SourceRule | { readonly problem: string };

/** Whether a peer address may call; built once from the rules. */
export type SourceFilter = (peer: string) => boolean;

/**
 * One allow-list entry, or why it is not one. Every malformed prefix is an
 * error: Number('') is 0, so a lenient parse once read "10.0.0.0/" as /0,
 * which lets everyone in.
 */
export function readSourceRule(text: string): SourceRuleResult {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText === '') return { problem: 'no address before "/"' };
  const family = isIP(addressText);
  if (family !== 4 && family !== 6) return { problem: `${JSON.stringify(addressText.slice(0, 64))} is not an IP address` };
  const width = family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    if (prefix === '') return { problem: 'no prefix length after "/"' };
    if (!/^\d{1,3}$/.test(prefix)) return { problem: `prefix length ${JSON.stringify(prefix.slice(0, 16))} is not a whole number` };
    bits = Number(prefix);
    if (bits > width) return { problem: `prefix length ${bits} is above ${width}, the IPv${family} maximum` };
  }
  return { family, address: addressText, bits, text };
}

export function parseSourceRule(text: string): SourceRule | undefined {
  const result = readSourceRule(text);
  return 'problem' in result ? undefined : result;
}

/** The filter for these rules; no rules admit every peer. A peer that is not an IP address is refused. */
export function sourceFilter(rules: readonly SourceRule[]): SourceFilter {
  if (rules.length === 0) return () => true;
  const admitted = new BlockList();
  // An exact address is a full-width block, so one call adds either.
  for (const rule of rules) admitted.addSubnet(rule.address, rule.bits, blockListType(rule.family));
  return (peer) => {
    const family = isIP(peer);
    return (family === 4 || family === 6) && admitted.check(peer, blockListType(family));
  };
}

/** ::ffff:0:0/96, where IPv4 addresses live inside IPv6. */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * True when the effective list lets any caller through: empty (no filter),
 * `*`, or a /0 block (an IPv4-mapped ::ffff:a.b.c.d/96 is IPv4's /0). One
 * definition, so the startup warning and the docs cannot disagree about what
 * "anyone" means. Entries that do not parse are ignored here; the config
 * parser refuses them.
 */
export function allowsAnyone(sources: readonly string[]): boolean {
  if (sources.length === 0 || sources.includes('*')) return true;
  return sources.some((source) => {
    const rule = parseSourceRule(source);
    if (rule === undefined) return false;
    return rule.bits === 0 || (rule.family === 6 && rule.bits === 96 && IPV4_MAPPED.check(rule.address, 'ipv6'));
  });
}

function blockListType(family: 4 | 6): 'ipv4' | 'ipv6' {
  return family === 4 ? 'ipv4' : 'ipv6';
}
