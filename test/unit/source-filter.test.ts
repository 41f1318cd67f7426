import { allowsAnyone, parseSourceRule, readSourceRule, sourceAllowed, type SourceRule } from '../../src/source-filter';

const rules = (...texts: string[]): SourceRule[] => texts.map((t) => parseSourceRule(t)!);

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

  test.each(['10.0.0.0/33', 'example.com', '10.0.0.0/x', '10.0.0.0/', '/8', '::1/129', 'fe80::/abc', '10.0.0.0/8x', '10.0.0.0/-1', '10.0.0.0/ 8', '1.2.3/8'])(
    '%s is not a rule',
    (text) => {
      expect(parseSourceRule(text)).toBeUndefined();
    },
  );

  // The bug: Number('') is 0, so "10.0.0.0/" used to be read as /0 — everyone.
  test.each([
    ['10.0.0.0/', 'no prefix length after "/"'],
    ['10.0.0.0/33', 'prefix length 33 is above 32'],
    ['10.0.0.0/8x', 'prefix length "8x" is not a whole number'],
    ['/8', 'no address before "/"'],
    ['::1/129', 'prefix length 129 is above 128'],
    ['fe80::/abc', 'prefix length "abc" is not a whole number'],
    ['example.com', 'not an IP address'],
    ['1.2.3/8', '"1.2.3" is not an IP address'],
  ])('%s is refused with a specific reason', (text, reason) => {
    const result = readSourceRule(text);
    expect(result).toEqual({ problem: expect.stringContaining(reason) });
  });

  test.each(['::/64', 'fd00::/8', '::ffff:10.0.0.0/104', '2001:db8::/128', '10.0.0.0/0', '0.0.0.0/32'])('%s is a rule', (text) => {
    expect(parseSourceRule(text)).toBeDefined();
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
  ] as const)('allowsAnyone(%j) → %s', (list, anyone) => {
    expect(allowsAnyone(list)).toBe(anyone);
  });
});
