import { parseConfig, redactConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { testConfig } from '../helpers/config';

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('parseConfig', () => {
  test('defaults follow Eureka and Spring defaults', () => {
    const config = testConfig();
    expect(config.port).toBe(8787);
    expect(config.appName).toBe('DEMO');
    expect(config.appPort).toBe(8080);
    expect(config.timings).toMatchObject({
      serverCacheMs: 30_000,
      registryFetchMs: 30_000,
      loadBalancerTtlMs: 35_000,
      ribbonRefreshMs: 30_000,
      loadBalancer: 'loadbalancer',
      gracePeriodMs: 30_000,
      appShutdownMs: 30_000,
    });
    expect(config.appExit).toBe('kubelet');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.timings)).toBe(true);
  });

  test("Spring's env names are read as fallbacks, DRAINER_* wins", () => {
    const config = parseConfig({
      SPRING_APPLICATION_NAME: 'orders',
      SERVER_PORT: '9090',
      EUREKA_CLIENT_SERVICEURL_DEFAULTZONE: 'http://a:8761/eureka/,http://b:8761/eureka',
      DRAINER_INSTANCE_ID: 'pod-1:orders:9090',
    });
    expect(config.appName).toBe('ORDERS');
    expect(config.appPort).toBe(9090);
    expect(config.servers.map((s) => s.url)).toEqual(['http://a:8761/eureka/', 'http://b:8761/eureka/']);
    expect(parseConfig({ DRAINER_APP_NAME: 'x', SPRING_APPLICATION_NAME: 'y', DRAINER_INSTANCE_ID: 'i', DRAINER_EUREKA_URLS: 'http://e/eureka/' }).appName).toBe('X');
  });

  test('fleet timings accept Spring duration forms in their own units', () => {
    const config = testConfig({
      EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: '1000',
      EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: '5',
      SPRING_CLOUD_LOADBALANCER_CACHE_TTL: '2s',
      RIBBON_SERVERLISTREFRESHINTERVAL: 'PT3S',
    });
    expect(config.timings).toMatchObject({ serverCacheMs: 1_000, registryFetchMs: 5_000, loadBalancerTtlMs: 2_000, ribbonRefreshMs: 3_000 });
  });

  test('a disabled read-only cache or load-balancer cache is a zero term', () => {
    const config = testConfig({ EUREKA_SERVER_USEREADONLYRESPONSECACHE: 'false', SPRING_CLOUD_LOADBALANCER_CACHE_ENABLED: 'false' });
    expect(config.timings.serverCacheMs).toBe(0);
    expect(config.timings.loadBalancerTtlMs).toBe(0);
  });

  test('every problem is reported at once, with name, rule and bad value', () => {
    const found = problems({ DRAINER_PORT: 'abc', DRAINER_TAIL_SECONDS: 'soon', DRAINER_APP_EXIT: 'explode' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('DRAINER_PORT must be an integer from 0 to 65535, got "abc"'),
        expect.stringContaining('DRAINER_TAIL_SECONDS must be a duration'),
        expect.stringContaining('DRAINER_APP_EXIT must be one of kubelet, http, signal, file, got "explode"'),
        expect.stringContaining('DRAINER_APP_NAME (or SPRING_APPLICATION_NAME) is required'),
        expect.stringContaining('DRAINER_EUREKA_URLS (or EUREKA_CLIENT_SERVICEURL_DEFAULTZONE) is required'),
        expect.stringContaining('set DRAINER_INSTANCE_ID, or POD_IP'),
      ]),
    );
    expect(found).toHaveLength(6);
  });

  test('strategies that need a target say which variable is missing', () => {
    expect(problems({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_APP_EXIT: 'http' })).toEqual([
      expect.stringContaining('DRAINER_APP_EXIT=http needs DRAINER_APP_EXIT_URL'),
    ]);
    expect(problems({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_TAIL_MODE: 'adaptive' })).toEqual([
      expect.stringContaining('DRAINER_TAIL_MODE=adaptive needs DRAINER_TAIL_METRICS_URL'),
    ]);
  });

  test('basic credentials are taken out of server URLs and never shown', () => {
    const config = testConfig({ DRAINER_EUREKA_URLS: 'http://user:s3cr%40t@eureka:8761/eureka' });
    expect(config.servers[0]).toEqual({ url: 'http://eureka:8761/eureka/', label: 'http://eureka:8761/eureka/', username: 'user', password: 's3cr@t' });
    expect(JSON.stringify(redactConfig(config))).not.toContain('s3cr');
  });

  test('a bad server URL is reported without its credentials', () => {
    const found = problems({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'ftp://user:hunter2@x/eureka/' });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('not http(s)');
    expect(found[0]).not.toContain('hunter2');
  });

  test('credentials and the token can come from files', () => {
    const files: Record<string, string> = { '/creds': 'admin:pw\n', '/token': 'abcdefghijklmnopqrstuvwxyz\n' };
    const config = parseConfig(
      {
        DRAINER_APP_NAME: 'a',
        POD_IP: '10.0.0.1',
        DRAINER_EUREKA_URLS: 'http://e/eureka/',
        DRAINER_EUREKA_CREDENTIALS_FILE: '/creds',
        DRAINER_TOKEN_FILE: '/token',
      },
      { readFile: (p) => files[p]! },
    );
    expect(config.servers[0]).toMatchObject({ username: 'admin', password: 'pw' });
    expect(config.token).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(redactConfig(config).token).toBe('[redacted]');
  });

  test('an unreadable token file is a problem, not a silent fallback', () => {
    const error = (() => {
      try {
        parseConfig({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_TOKEN_FILE: '/nope' }, {
          readFile: () => {
            throw Object.assign(new Error('nope'), { code: 'ENOENT' });
          },
        });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('DRAINER_CONFIG_INVALID');
    expect(error?.problems[0]).toContain('DRAINER_TOKEN_FILE names a file that cannot be read: "/nope" (ENOENT)');
  });

  test('the source allow-list: explicit, else loopback + NODE_IP without a token, else any (the token guards)', () => {
    expect(testConfig({ NODE_IP: '192.0.2.7' }).allowedSources).toEqual(['127.0.0.1', '::1', '192.0.2.7']);
    expect(testConfig({ NODE_IP: '192.0.2.7', DRAINER_TOKEN: 'a-token-of-sufficient-length' }).allowedSources).toEqual([]);
    expect(testConfig().allowedSources).toEqual([]);
    expect(testConfig({ DRAINER_ALLOWED_SOURCES: '10.1.1.1, 10.244.0.0/16' }).allowedSources).toEqual(['10.1.1.1', '10.244.0.0/16']);
    // Where the list came from, so a refusal can say what to set (src/http/source-advice.ts).
    expect(testConfig({ NODE_IP: '192.0.2.7' }).allowedSourcesFrom).toBe('NODE_IP');
    expect(testConfig({ NODE_IP: '192.0.2.7', DRAINER_TOKEN: 'a-token-of-sufficient-length' }).allowedSourcesFrom).toBe('none');
    expect(testConfig().allowedSourcesFrom).toBe('none');
    expect(testConfig({ NODE_IP: '192.0.2.7', DRAINER_ALLOWED_SOURCES: '*' }).allowedSourcesFrom).toBe('DRAINER_ALLOWED_SOURCES');
    expect(problems({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_ALLOWED_SOURCES: '10.0.0.0/33' })).toEqual([
      expect.stringContaining('DRAINER_ALLOWED_SOURCES must list IP addresses or CIDR blocks (or *); "10.0.0.0/33"'),
    ]);
  });

  test('without a token, the pod\'s default gateways (a bridge plugin\'s node-side address) join loopback + NODE_IP', () => {
    const base = { DRAINER_APP_NAME: 'a', POD_IP: '10.244.0.9', DRAINER_EUREKA_URLS: 'http://e/eureka/', NODE_IP: '192.0.2.7' };
    expect(parseConfig(base, { podGateways: ['10.244.0.1', 'fd00::1'] }).allowedSources).toEqual(['127.0.0.1', '::1', '192.0.2.7', '10.244.0.1', 'fd00::1']);
    // The node's address as gateway is not listed twice; a token or an explicit list leaves the gateways out.
    expect(parseConfig(base, { podGateways: ['192.0.2.7'] }).allowedSources).toEqual(['127.0.0.1', '::1', '192.0.2.7']);
    expect(parseConfig({ ...base, DRAINER_TOKEN: 'a-token-of-sufficient-length' }, { podGateways: ['10.244.0.1'] }).allowedSources).toEqual([]);
    expect(parseConfig({ ...base, DRAINER_ALLOWED_SOURCES: '10.1.1.1' }, { podGateways: ['10.244.0.1'] }).allowedSources).toEqual(['10.1.1.1']);
  });

  test('IPv6 addresses and CIDR blocks are accepted in the allow-list', () => {
    expect(testConfig({ DRAINER_ALLOWED_SOURCES: '::1, fd00:10:244::/64, 10.244.0.0/16' }).allowedSources).toEqual(['::1', 'fd00:10:244::/64', '10.244.0.0/16']);
  });

  // "10.0.0.0/" used to parse as /0, which lets everyone in.
  test('every malformed allow-list entry is a problem naming the variable and the entry, all at once', () => {
    const bad = ['10.0.0.0/', '10.0.0.0/33', '10.0.0.0/8x', '/8', '::1/129', 'fe80::/abc'];
    const found = problems({ DRAINER_APP_NAME: 'a', POD_IP: '10.0.0.1', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_ALLOWED_SOURCES: ['127.0.0.1', ...bad].join(',') });
    expect(found).toHaveLength(bad.length);
    bad.forEach((entry, i) => {
      expect(found[i]).toContain('DRAINER_ALLOWED_SOURCES');
      expect(found[i]).toContain(JSON.stringify(entry));
    });
    expect(found[0]).toContain('no prefix length after "/"');
    expect(found[4]).toContain('prefix length 129 is above 128');
  });

  test('the drainer listens dual-stack by default', () => {
    expect(testConfig().host).toBe('::');
    expect(testConfig({ DRAINER_HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
  });

  test('owner mode: the instance id defaults to POD_NAME:app:port and its settings are read', () => {
    const config = parseConfig({ DRAINER_APP_NAME: 'orders', POD_IP: '10.0.0.1', POD_NAME: 'orders-7d9f', SERVER_PORT: '3000', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_MODE: 'owner' });
    expect(config.mode).toBe('owner');
    expect(config.instanceId).toBe('orders-7d9f:orders:3000');
    expect(config.owner).toMatchObject({ instanceId: 'orders-7d9f:orders:3000', ipAddr: '10.0.0.1' });
  });

  test('owner mode needs POD_IP, and its problems join the list', () => {
    expect(problems({ DRAINER_APP_NAME: 'a', DRAINER_INSTANCE_ID: 'x', DRAINER_EUREKA_URLS: 'http://e/eureka/', DRAINER_MODE: 'owner', DRAINER_HEALTH_FAILURES_DOWN: 'many' })).toEqual(
      expect.arrayContaining([expect.stringContaining('DRAINER_MODE=owner needs POD_IP'), expect.stringContaining('DRAINER_HEALTH_FAILURES_DOWN')]),
    );
  });
});
