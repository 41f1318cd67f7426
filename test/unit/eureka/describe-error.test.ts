import { request } from 'node:http';
import type { LookupAddress } from 'node:dns';
import { createServer, type AddressInfo, type LookupFunction } from 'node:net';
import { describeError, formatBytes } from '../../../src/errors';

/**
 * describeError feeds the status endpoint and every warning about a Eureka
 * server. It lives with the Eureka tests because the failures it must name are
 * the client's: refused, reset, unresolvable; the raw errors are Node's own.
 */

/** The error Node itself raises for a GET to `host:port`, with an optional pinned lookup. */
function rawRequestError(host: string, port: number, addresses?: LookupAddress[]): Promise<Error> {
  return new Promise((resolve) => {
    const lookup: LookupFunction | undefined = addresses
      ? (_h, options, callback) => {
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        }
      : undefined;
    // Node 20 tries every address of a lookup in turn (autoSelectFamily is on by default).
    request({ host, port, path: '/', ...(lookup ? { lookup } : {}) })
      .on('error', resolve)
      .end();
  });
}

let closedPort: number;
beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

describe('describeError', () => {
  test('a refused 127.0.0.1 names the code and the address', async () => {
    expect(describeError(await rawRequestError('127.0.0.1', closedPort))).toBe(`connection refused (ECONNREFUSED 127.0.0.1:${closedPort})`);
  });

  test("a refused dual-stack localhost: Node's AggregateError has an empty message, the description names both attempts", async () => {
    const error = await rawRequestError('localhost', closedPort, [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ]);
    expect(error.message).toBe(''); // the bug: this went out as `error: null`
    expect(describeError(error)).toMatch(new RegExp(`^.+\\[::1\\]:${closedPort}.*127\\.0\\.0\\.1:${closedPort}\\)$`));
    expect(describeError(error)).toContain('connection refused (ECONNREFUSED');
  });

  test('an error wrapping a socket error, with no message of its own, is described by the socket error', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:8761'), { code: 'ECONNREFUSED', syscall: 'connect', address: '10.0.0.1', port: 8761 });
    expect(describeError(new Error('', { cause }))).toBe('connection refused (ECONNREFUSED 10.0.0.1:8761)');
  });

  test('a host that does not resolve names the host', () => {
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND eureka.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'eureka.invalid' });
    expect(describeError(error)).toBe('host name not found (ENOTFOUND eureka.invalid)');
  });

  test('an error with its own message keeps it, even with a socket error inside', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });
    expect(describeError(new Error('eureka cancel on east failed: connection refused', { cause }))).toBe('eureka cancel on east failed: connection refused');
  });

  test.each<[string, unknown, RegExp]>([
    ['an Error with an empty message', new Error(''), /^Error with no message$/],
    ['an Error with only a code', Object.assign(new Error(''), { code: 'ERR_SOMETHING' }), /^Error ERR_SOMETHING \(no message\)$/],
    ['an AggregateError of messages', new AggregateError([new Error('first'), new Error('second')], ''), /^first; second$/],
    ['an Error whose cause has the message', new Error(' ', { cause: new Error('inner') }), /^inner$/],
    ['an empty string', '', /^empty string thrown$/],
    ['undefined', undefined, /^undefined$/],
    ['null', null, /^null$/],
    ['a plain object', {}, /^Object with no message$/],
    ['a null-prototype object', Object.create(null), /^object with no message$/],
    ['an object with a message', { message: 'from a library' }, /^from a library$/],
  ])('is never empty: %s', (_name, value, expected) => {
    expect(describeError(value)).toMatch(expected);
  });

  test('is bounded', () => {
    expect(describeError(new Error('x'.repeat(1_000)))).toHaveLength(301);
  });
});

describe('formatBytes', () => {
  test.each([
    [512, '512 bytes'],
    [256 * 1024, '256 KiB'],
    [8 * 1024 * 1024, '8 MiB'],
    [1.5 * 1024 * 1024, '1.5 MiB'],
  ])('%d is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
