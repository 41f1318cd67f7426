import { AxiosError, type InternalAxiosRequestConfig } from 'axios';
import { captureLogs } from '../helpers/capture-logs';

describe('the err field', () => {
  test('an error logs as one JSON line with its type, message and stack', () => {
    const { logger, lines } = captureLogs();
    logger.error({ err: new TypeError('the answer is not JSON') }, 'cannot read the answer');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.err).toEqual({ type: 'TypeError', message: 'the answer is not JSON', stack: expect.stringMatching(/^TypeError: the answer is not JSON\n\s+at /) as unknown });
  });

  test('a cause is kept in the message and the stack', () => {
    const { logger, lines } = captureLogs();
    logger.error({ err: new Error('registration failed', { cause: new Error('socket hang up') }) }, 'x');
    const err = lines[0]!.err as { message: string; stack: string };
    expect(err.message).toContain('registration failed');
    expect(err.stack).toContain('caused by: Error: socket hang up');
  });

  test('a refused connection reads as a phrase and keeps its code; the request and its credentials stay out', () => {
    const { logger, lines } = captureLogs();
    const config = { headers: { authorization: 'Basic c2VjcmV0' }, auth: { username: 'eureka', password: 'secret' } } as unknown as InternalAxiosRequestConfig;
    const refused = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED', errors: [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8761'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 8761 })] });
    const error = AxiosError.from(refused, 'ECONNREFUSED', config);
    logger.warn({ err: error }, 'cannot reach eureka');
    const err = lines[0]!.err as Record<string, unknown>;
    expect(Object.keys(err).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(err.type).toBe('AxiosError');
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/refused/);
    expect(JSON.stringify(lines[0])).not.toMatch(/secret|c2VjcmV0/);
  });

  test('something thrown that is not an error is described, not dropped', () => {
    const { logger, lines } = captureLogs();
    logger.error({ err: 'plain string' }, 'x');
    logger.error({ err: null }, 'y');
    expect(lines.map((l) => l.err)).toEqual([{ message: 'plain string' }, { message: 'null' }]);
  });
});
