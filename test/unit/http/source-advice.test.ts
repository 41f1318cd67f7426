import { parseConfig } from '../../../src/config';
import { admissionWarnings, logAdmissionWarnings, sourceAdvice } from '../../../src/http/source-advice';
import { parseSourceRule, sourceFilter, type SourceRule } from '../../../src/http/source-filter';
import { captureLogs } from '../../helpers/capture-logs';

const BASE = { DRAINER_APP_NAME: 'a', POD_IP: '10.244.0.9', DRAINER_EUREKA_URLS: 'http://e/eureka/' };
const TOKEN = 'a-token-of-sufficient-length';

/** The configuration main.ts would build, with the pod gateways it found. */
function config(env: Record<string, string>, podGateways: string[] = []) {
  return parseConfig({ ...BASE, ...env }, { podGateways });
}

/** The advice is only useful if what it says to set really admits the caller. */
function admitsAfter(setting: string, source: string, env: Record<string, string>): boolean {
  const value = setting.slice('DRAINER_ALLOWED_SOURCES='.length);
  const rules = config({ ...env, DRAINER_ALLOWED_SOURCES: value }).allowedSources.map(parseSourceRule).filter((r): r is SourceRule => r !== undefined);
  return sourceFilter(rules)(source);
}

describe('what to set to admit a refused caller (issue 20, bug 3)', () => {
  test('no token, no default route: names the caller, why, and the list that admits it (today’s list plus it) or the token', () => {
    const env = { NODE_IP: '192.0.2.7' };
    const advice = sourceAdvice(config(env), '10.88.0.1');
    expect(advice.why).toBe('10.88.0.1 is not loopback, NODE_IP (192.0.2.7) or a default gateway of the pod (none: the pod has no default route); with no DRAINER_TOKEN only those may call');
    expect(advice.admitWith).toEqual(['DRAINER_ALLOWED_SOURCES=127.0.0.1,::1,192.0.2.7,10.88.0.1/32', expect.stringMatching(/^DRAINER_TOKEN=.*httpHeaders \(X-Drainer-Token\)/)]);
    expect(admitsAfter(advice.admitWith[0]!, '10.88.0.1', env)).toBe(true);
    expect(admitsAfter(advice.admitWith[0]!, '192.0.2.7', env)).toBe(true); // the node stays admitted
  });

  test('the gateways found are named when the caller is none of them', () => {
    expect(sourceAdvice(config({ NODE_IP: '192.0.2.7' }, ['10.244.0.1']), '10.88.0.1').why).toContain('a default gateway of the pod (10.244.0.1)');
  });

  test('an explicit list: add the caller to it (a token would not open it)', () => {
    const env = { DRAINER_ALLOWED_SOURCES: '10.1.1.1,10.244.0.0/16', DRAINER_TOKEN: TOKEN };
    const advice = sourceAdvice(config(env), '192.0.2.9');
    expect(advice).toEqual({ why: '192.0.2.9 is not in DRAINER_ALLOWED_SOURCES=10.1.1.1,10.244.0.0/16', admitWith: ['DRAINER_ALLOWED_SOURCES=10.1.1.1,10.244.0.0/16,192.0.2.9/32'] });
    expect(admitsAfter(advice.admitWith[0]!, '192.0.2.9', env)).toBe(true);
  });

  test('IPv6 callers get a /128, without a zone', () => {
    const env = { DRAINER_ALLOWED_SOURCES: '::1' };
    const advice = sourceAdvice(config(env), 'fe80::1%eth0');
    expect(advice.admitWith).toEqual(['DRAINER_ALLOWED_SOURCES=::1,fe80::1/128']);
    expect(admitsAfter(advice.admitWith[0]!, 'fe80::1', env)).toBe(true);
  });

  test('an address that is not one (a closed socket reports none) gets no list to paste', () => {
    const advice = sourceAdvice(config({ DRAINER_ALLOWED_SOURCES: '10.1.1.1' }), '');
    expect(advice.admitWith).toEqual([]);
    expect(advice.why).toContain('is not an IP address');
  });
});

describe('start-up warnings about who may call', () => {
  test('no token and no default route: one warn line saying the kubelet may be refused, and what to set', () => {
    const { logger, lines } = captureLogs();
    logAdmissionWarnings(config({ NODE_IP: '192.0.2.7' }), logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      allowedSources: ['127.0.0.1', '::1', '192.0.2.7'],
      admitWith: ['DRAINER_ALLOWED_SOURCES=127.0.0.1,::1,192.0.2.7,<the node’s address on the pod network>/32', expect.stringMatching(/^DRAINER_TOKEN=/)],
    });
    expect(lines[0]!.msg).toMatch(/^no DRAINER_TOKEN and no default route in the pod.*refused.*WITHOUT a drain/);
  });

  test.each([
    ['a gateway was found', { NODE_IP: '192.0.2.7' }, ['10.244.0.1']],
    ['a token guards', { NODE_IP: '192.0.2.7', DRAINER_TOKEN: TOKEN }, []],
    ['the list was set on purpose', { NODE_IP: '192.0.2.7', DRAINER_ALLOWED_SOURCES: '10.0.0.0/8' }, []],
  ] as const)('no such warning when %s', (_why, env, gateways) => {
    expect(admissionWarnings(config(env, [...gateways]))).toEqual([]);
  });

  test('no token and no NODE_IP: the one warning is that anyone may start a drain', () => {
    const warnings = admissionWarnings(config({}));
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('anyone who reaches the pod can start a drain')]);
  });
});
