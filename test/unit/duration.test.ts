import { formatMs, parseDuration } from '../../src/duration';

describe('parseDuration', () => {
  test.each([
    ['35s', 'ms', 35_000],
    ['500ms', 's', 500],
    ['2m', 'ms', 120_000],
    ['1h', 'ms', 3_600_000],
    ['1d', 'ms', 86_400_000],
    ['1.5s', 'ms', 1_500],
    ['PT35S', 'ms', 35_000],
    ['PT1M30S', 'ms', 90_000],
    ['30', 's', 30_000],
    ['30000', 'ms', 30_000],
    [' 35S ', 'ms', 35_000],
  ] as const)('%s with bare unit %s is %d ms', (text, unit, expected) => {
    expect(parseDuration(text, unit)).toBe(expected);
  });

  test.each(['', 'abc', '35 seconds', 'PT', 'P', '1x', '--5s'])('%j is not a duration', (text) => {
    expect(parseDuration(text, 'ms')).toBeUndefined();
  });
});

describe('formatMs', () => {
  test.each([
    [95_000, '95s'],
    [1_500, '1.5s'],
    [250, '250ms'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});
