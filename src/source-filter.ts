import { isIP } from 'node:net';

/**
 * Which peer addresses may call /prestop and /drain/abort: exact addresses and
 * CIDR blocks, IPv4 or IPv6. The kubelet calls from the node, and depending on
 * the CNI its source is the node IP or the node's bridge address in the pod
 * CIDR, so a CIDR is often the right entry.
 *
 * Addresses are compared as numbers, not text: "2001:db8::1" and
 * "2001:DB8:0:0:0:0:0:1" are one address. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, how a dual-stack socket reports an IPv4 peer) is an IPv4
 * address, whether it is the peer or written in the list.
 */
export interface SourceRule {
  readonly family: 4 | 6;
  /** The network, host bits cleared; 32 or 128 bits wide by family. */
  readonly base: bigint;
  /** Prefix length; an exact address is /32 or /128. */
  readonly bits: number;
  readonly text: string;
}

export type SourceRuleResult = SourceRule | { readonly problem: string };

/** ::ffff:0:0/96, where IPv4 addresses live inside IPv6. */
const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

/**
 * One allow-list entry, or why it is not one. Every malformed prefix is an
 * error: Number('') is 0, so a lenient parse once read "10.0.0.0/" as /0,
 * which lets everyone in.
 */
export function readSourceRule(text: string): SourceRuleResult {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText === '') return { problem: 'no address before "/"' };
  const address = parseAddress(addressText);
  if (address === undefined) return { problem: `${JSON.stringify(addressText.slice(0, 64))} is not an IP address` };
  const width = address.family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    if (prefix === '') return { problem: 'no prefix length after "/"' };
    if (!/^\d{1,3}$/.test(prefix)) return { problem: `prefix length ${JSON.stringify(prefix.slice(0, 16))} is not a whole number` };
    bits = Number(prefix);
    if (bits > width) return { problem: `prefix length ${bits} is above ${width}, the IPv${address.family} maximum` };
  }
  // A mapped block of at least /96 is an IPv4 block; a shorter IPv6 block
  // that covers the mapped range still admits IPv4 peers (see matches()).
  if (address.family === 6 && bits >= 96 && (address.value & MAPPED_MASK) === MAPPED_PREFIX) {
    return { family: 4, base: address.value & mask(32, bits - 96), bits: bits - 96, text };
  }
  return { family: address.family, base: address.value & mask(width, bits), bits, text };
}

export function parseSourceRule(text: string): SourceRule | undefined {
  const result = readSourceRule(text);
  return 'problem' in result ? undefined : result;
}

export function sourceAllowed(rules: readonly SourceRule[], peer: string): boolean {
  if (rules.length === 0) return true;
  const address = parseAddress(peer);
  if (address === undefined) return false;
  const normalized = address.family === 6 && (address.value & MAPPED_MASK) === MAPPED_PREFIX ? { family: 4 as const, value: address.value & 0xffffffffn } : address;
  return rules.some((rule) => matches(rule, normalized));
}

/**
 * True when the effective list lets any caller through: empty (no filter),
 * `*`, or a /0 block. One definition, so the startup warning and the docs
 * cannot disagree about what "anyone" means. Entries that do not parse are
 * ignored here; the config parser refuses them.
 */
export function allowsAnyone(sources: readonly string[]): boolean {
  if (sources.length === 0 || sources.includes('*')) return true;
  return sources.some((source) => parseSourceRule(source)?.bits === 0);
}

function matches(rule: SourceRule, address: { readonly family: 4 | 6; readonly value: bigint }): boolean {
  if (rule.family === address.family) return (address.value & mask(rule.family === 4 ? 32 : 128, rule.bits)) === rule.base;
  // An IPv4 peer is also ::ffff:a.b.c.d, so an IPv6 block that covers it (::/0, ::/80…) admits it.
  if (address.family === 4) return ((MAPPED_PREFIX | address.value) & mask(128, rule.bits)) === rule.base;
  return false;
}

function mask(width: number, bits: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return (all << BigInt(width - bits)) & all;
}

/** Text → number; a zone index (fe80::1%eth0) is dropped, the allow-list has no interfaces. */
function parseAddress(text: string): { readonly family: 4 | 6; readonly value: bigint } | undefined {
  const family = isIP(text);
  if (family === 4) return { family: 4, value: ipv4ToBigInt(text) };
  if (family !== 6) return undefined;
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  // isIP() has vouched for the syntax: at most one "::", an IPv4 tail only last.
  const groupsOf = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? [Number(ipv4ToBigInt(g) >> 16n).toString(16), Number(ipv4ToBigInt(g) & 0xffffn).toString(16)] : [g]));
  const gap = bare.indexOf('::');
  const head = groupsOf(gap < 0 ? bare : bare.slice(0, gap));
  const tail = gap < 0 ? [] : groupsOf(bare.slice(gap + 2));
  const groups = gap < 0 ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  return { family: 6, value: groups.reduce((n, group) => (n << 16n) | BigInt(parseInt(group, 16)), 0n) };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}
