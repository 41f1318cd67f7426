import { allowsAnyone, parseSourceRule, readSourceRule, sourceFilter, type SourceRule } from '../../../src/http/source-filter';

const rules = (...texts: string[]): SourceRule[] => texts.map((t) => parseSourceRule(t)!);
const sourceAllowed = (list: readonly SourceRule[], peer: string): boolean => sourceFilter(list)(peer);

describe('source allow-list', () => {
  test.each([
    ['127.0.0.1', ['127.0.0.1', '10.0.0.7'], true],
    ['::ffff:10.0.0.7', ['127.0.0.1', '10.0.0.7'], true],
    ['10.0.0.8', ['127.0.0.1', '10.0.0.7'], false],
    ['10.244.3.1', ['10.244.0.0/16'], true],
    ['10.245.0.1', ['10.244.0.0/16'], false],
    ['::1', ['::1'], true],
    ['fe80::1', ['10.0.0.0/8'], false],
    ['203.0.113.9', ['0.0.0.0/0'], true],
  ] as const)('%s against %j → %s', (peer, list, allowed) => {
    expect(sourceAllowed(rules(...list), peer)).toBe(allowed);
  });

  test.each([
    // IPv6 CIDRs
    ['fd00:10:244::5', ['fd00:10:244::/64'], true],
    ['fd00:10:245::5', ['fd00:10:244::/64'], false],
    ['2001:db8::1', ['::/0'], true],
    ['2001:db8:0:0:0:0:0:1', ['2001:db8::1'], true],
    ['2001:DB8::1', ['2001:db8::1'], true],
    ['2001:db8::2', ['2001:db8::1'], false],
    ['fe80::1%eth0', ['fe80::/10'], true],
    // mapped peers compare as IPv4, against IPv4 rules and mapped rules alike
    ['::ffff:10.244.3.1', ['10.244.0.0/16'], true],
    ['::ffff:a00:7', ['10.0.0.7'], true],
    ['10.0.0.7', ['::ffff:10.0.0.7'], true],
    ['10.244.3.1', ['::ffff:10.244.0.0/112'], true],
    ['10.245.3.1', ['::ffff:10.244.0.0/112'], false],
    // ::/0 covers the mapped range, so IPv4 peers on a dual-stack socket too
    ['203.0.113.9', ['::/0'], true],
    // an IPv4 rule never admits a native IPv6 peer
    ['2001:db8::1', ['0.0.0.0/0'], false],
    ['::1', ['127.0.0.1'], false],
  ] as const)('IPv6: %s against %j → %s', (peer, list, allowed) => {
    expect(sourceAllowed(rules(...list), peer)).toBe(allowed);
  });

  test('an empty list allows any source', () => {
    expect(sourceAllowed([], '198.51.100.1')).toBe(true);
  });

  // The bug: Number('') is 0, so "10.0.0.0/" used to be read as /0 — everyone.
  test.each([
    ['10.0.0.0/', 'no prefix length after "/"'],
    ['10.0.0.0/33', 'prefix length 33 is above 32, the IPv4 maximum'],
    ['10.0.0.0/8x', 'prefix length "8x" is not a whole number'],
    ['10.0.0.0/x', 'prefix length "x" is not a whole number'],
    ['10.0.0.0/-1', 'prefix length "-1" is not a whole number'],
    ['10.0.0.0/ 8', 'prefix length " 8" is not a whole number'],
    ['/8', 'no address before "/"'],
    ['::1/129', 'prefix length 129 is above 128, the IPv6 maximum'],
    ['fe80::/abc', 'prefix length "abc" is not a whole number'],
    ['example.com', '"example.com" is not an IP address'],
    ['1.2.3/8', '"1.2.3" is not an IP address'],
  ])('%s is not a rule: %s', (text, reason) => {
    expect(readSourceRule(text)).toEqual({ problem: reason });
    expect(parseSourceRule(text)).toBeUndefined();
  });

  test.each([
    // ::/64 holds the mapped range (its first 80 bits are zero), so IPv4 peers too
    ['::/64', { family: 6, address: '::', bits: 64 }, ['::1', '::ffff:10.0.0.1', '10.0.0.1', '0:0:0:0:ffff::1'], ['0:0:0:1::1', 'fd00::1']],
    ['fd00::/8', { family: 6, address: 'fd00::', bits: 8 }, ['fd00::1', 'fdff:ffff::1', 'FD12::1'], ['fc00::1', 'fe00::1', '10.0.0.1', '::ffff:10.0.0.1']],
    ['::ffff:10.0.0.0/104', { family: 6, address: '::ffff:10.0.0.0', bits: 104 }, ['10.0.0.1', '10.255.255.255', '::ffff:10.1.2.3', '::ffff:a01:203'], ['11.0.0.0', '9.255.255.255', '::a00:1', 'fd00::a00:1']],
    ['2001:db8::/128', { family: 6, address: '2001:db8::', bits: 128 }, ['2001:db8::', '2001:DB8:0::0'], ['2001:db8::1', '2001:db9::']],
    ['10.0.0.0/0', { family: 4, address: '10.0.0.0', bits: 0 }, ['10.0.0.1', '192.168.1.1', '0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4'], ['::1', '2001:db8::1', '::']],
    ['0.0.0.0/32', { family: 4, address: '0.0.0.0', bits: 32 }, ['0.0.0.0', '::ffff:0.0.0.0'], ['0.0.0.1', '::']],
    ['10.1.2.3', { family: 4, address: '10.1.2.3', bits: 32 }, ['10.1.2.3', '::ffff:10.1.2.3'], ['10.1.2.4', '10.1.2.2', '::a01:203']],
    ['fe80::1%eth0/64', { family: 6, address: 'fe80::1%eth0', bits: 64 }, ['fe80::2', 'fe80::2%eth1', 'fe80::ffff:1'], ['fe80:0:0:1::1', 'fe81::1']],
  ] as const)('%s is the rule %j: admits %j, refuses %j', (text, parsed, admits, refuses) => {
    const rule = parseSourceRule(text);
    expect(rule).toEqual({ ...parsed, text });
    for (const peer of admits) expect([peer, sourceAllowed([rule!], peer)]).toEqual([peer, true]);
    for (const peer of refuses) expect([peer, sourceAllowed([rule!], peer)]).toEqual([peer, false]);
  });

  test.each(['', 'garbage', '10.0.0.1:80', 'fe80::1%', '10.0.0.0/8'])('a peer %j that is not an IP address is refused, even by ::/0 and 0.0.0.0/0', (peer) => {
    expect(sourceAllowed(rules('::/0', '0.0.0.0/0'), peer)).toBe(false);
  });

  test.each([
    [[], true],
    [['*'], true],
    [['0.0.0.0/0'], true],
    [['::/0'], true],
    [['10.0.0.1', '::/0'], true],
    [['10.0.0.0/0'], true],
    [['127.0.0.1', '::1', '10.0.0.7'], false],
    [['10.0.0.0/8', 'fd00::/8'], false],
    [['::/1'], false],
    // a mapped /96 is IPv4's /0; a longer or shorter mapped block is not
    [['::ffff:0.0.0.0/96'], true],
    [['::ffff:10.0.0.0/97'], false],
    [['::ffff:0:0/95'], false],
  ] as const)('allowsAnyone(%j) → %s', (list, anyone) => {
    expect(allowsAnyone(list)).toBe(anyone);
  });
});
