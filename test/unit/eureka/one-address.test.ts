import { oneAddressWarning } from '../../../src/eureka/one-address';

const servers = (...urls: string[]) => urls.map((url) => ({ url, label: url }));

describe('Eureka URLs that resolve to one address (a load-balanced Service)', () => {
  test('two names, one address: warned, naming the address and the fix', async () => {
    const warning = await oneAddressWarning(servers('http://eureka-a:8761/eureka/', 'http://eureka-b:8761/eureka/'), async () => ['10.96.0.12']);
    expect(warning).toContain('resolve to the same address (10.96.0.12 port 8761)');
    expect(warning).toContain('per-pod names');
  });

  test('per-pod URLs with their own addresses: nothing', async () => {
    const addresses: Record<string, string[]> = { 'eureka-0.eureka': ['10.1.0.4'], 'eureka-1.eureka': ['10.1.1.9'] };
    expect(await oneAddressWarning(servers('http://eureka-0.eureka:8761/eureka/', 'http://eureka-1.eureka:8761/eureka/'), async (h) => addresses[h]!)).toBeUndefined();
  });

  test('one URL, or a name that does not resolve: nothing (no false alarm)', async () => {
    expect(await oneAddressWarning(servers('http://eureka:8761/eureka/'), async () => ['10.96.0.12'])).toBeUndefined();
    expect(await oneAddressWarning(servers('http://a:1/eureka/', 'http://b:1/eureka/'), async (h) => (h === 'a' ? ['1.2.3.4'] : Promise.reject(new Error('ENOTFOUND'))))).toBeUndefined();
  });

  test('IP literals are compared as they are', async () => {
    expect(await oneAddressWarning(servers('http://127.0.0.2:8761/eureka/', 'http://127.0.0.3:8761/eureka/'), async (h) => [h])).toBeUndefined();
    expect(await oneAddressWarning(servers('http://127.0.0.2:8761/eureka/', 'http://127.0.0.2:8762/eureka/'), async (h) => [h])).toBeUndefined(); // one host, two ports: two servers
    expect(await oneAddressWarning(servers('http://127.0.0.2:8761/eureka/', 'http://localhost:8761/eureka/'), async () => ['127.0.0.2'])).toContain('127.0.0.2 port 8761');
  });
});
