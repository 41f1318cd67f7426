import { parseSourceRule, sourceAllowed, type SourceRule } from '../../src/source-filter';

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

  test('an empty list allows any source', () => {
    expect(sourceAllowed([], '198.51.100.1')).toBe(true);
  });

  test.each(['10.0.0.0/33', 'example.com', '10.0.0.0/x', '::/64'])('%s is not a rule', (text) => {
    expect(parseSourceRule(text)).toBeUndefined();
  });
});
