import { ConfigError } from '../../../src/errors';
import { OWNER_VARIABLES, parseOwnerConfig, readOwnerConfig, type OwnerConfigBase } from '../../../src/owner/config';

const base: OwnerConfigBase = { appName: 'demo', appPort: 8080, podIp: '10.0.0.7', podName: 'demo-7d9f-abcde' };

function problems(env: Record<string, string>, b: OwnerConfigBase = base): readonly string[] {
  return readOwnerConfig(env, b).problems;
}

describe('owner config', () => {
  test('defaults: POD_NAME:app:port id, POD_IP as host and address, loopback health URL, 30/90 lease, 3 down / 1 up', () => {
    const config = parseOwnerConfig({}, base);
    expect(config).toMatchObject({
      instanceId: 'demo-7d9f-abcde:demo:8080',
      app: 'DEMO',
      vipAddress: 'demo',
      hostName: '10.0.0.7',
      ipAddr: '10.0.0.7',
      port: 8080,
      healthUrl: 'http://127.0.0.1:8080/health',
      healthCheckUrl: 'http://10.0.0.7:8080/health',
      statusPageUrl: 'http://10.0.0.7:8080/health',
      homePageUrl: 'http://10.0.0.7:8080/',
      leaseRenewalSeconds: 30,
      leaseDurationSeconds: 90,
      healthFailuresDown: 3,
      healthSuccessesUp: 1,
      healthIntervalMs: 5_000,
      healthTimeoutMs: 2_000,
      metadata: {},
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.metadata)).toBe(true);
  });

  test('DRAINER_INSTANCE_ID overrides the default id; POD_NAME and POD_IP are read from env when the base has none', () => {
    const config = parseOwnerConfig({ DRAINER_INSTANCE_ID: 'custom-1', POD_IP: '10.0.0.9' }, { ...base, podIp: undefined, podName: undefined });
    expect(config.instanceId).toBe('custom-1');
    expect(config.ipAddr).toBe('10.0.0.9');
    expect(parseOwnerConfig({ POD_NAME: 'pod-x' }, { ...base, podName: undefined }).instanceId).toBe('pod-x:demo:8080');
  });

  test('own lease variables win over the Spring names, which are the fallback', () => {
    const spring = { EUREKA_INSTANCE_LEASERENEWALINTERVALINSECONDS: '5', EUREKA_INSTANCE_LEASEEXPIRATIONDURATIONINSECONDS: '15' };
    expect(parseOwnerConfig(spring, base)).toMatchObject({ leaseRenewalSeconds: 5, leaseDurationSeconds: 15 });
    expect(parseOwnerConfig({ ...spring, DRAINER_LEASE_RENEWAL_SECONDS: '10', DRAINER_LEASE_DURATION_SECONDS: '30' }, base)).toMatchObject({ leaseRenewalSeconds: 10, leaseDurationSeconds: 30 });
  });

  test('metadata from EUREKA_INSTANCE_METADATAMAP_* (Spring key form) and DRAINER_INSTANCE_METADATA, the latter winning', () => {
    const config = parseOwnerConfig(
      { EUREKA_INSTANCE_METADATAMAP_ZONE: 'a', EUREKA_INSTANCE_METADATAMAP_MANAGEMENT_PORT: '9000', DRAINER_INSTANCE_METADATA: 'zone=b, version=1.2.3 ,query=a=b' },
      base,
    );
    expect(config.metadata).toEqual({ zone: 'b', 'management.port': '9000', version: '1.2.3', query: 'a=b' });
  });

  test('a health URL on loopback is registered on the pod address with its own port and path; an IPv6 pod is bracketed', () => {
    const config = parseOwnerConfig({ DRAINER_APP_HEALTH_URL: 'http://localhost:9000/healthz' }, base);
    expect(config.healthUrl).toBe('http://localhost:9000/healthz');
    expect(config.healthCheckUrl).toBe('http://10.0.0.7:9000/healthz');
    const v6 = parseOwnerConfig({}, { ...base, podIp: 'fd00::7' });
    expect(v6.homePageUrl).toBe('http://[fd00::7]:8080/');
    expect(v6.healthCheckUrl).toBe('http://[fd00::7]:8080/health');
  });

  test('health thresholds and interval are configurable', () => {
    expect(parseOwnerConfig({ DRAINER_HEALTH_FAILURES_DOWN: '5', DRAINER_HEALTH_SUCCESSES_UP: '2', DRAINER_HEALTH_INTERVAL_SECONDS: '500ms' }, base)).toMatchObject({
      healthFailuresDown: 5,
      healthSuccessesUp: 2,
      healthIntervalMs: 500,
    });
  });

  test('every problem is reported at once, each naming its variable and value', () => {
    const found = problems(
      {
        DRAINER_LEASE_RENEWAL_SECONDS: 'soon',
        DRAINER_LEASE_DURATION_SECONDS: '0',
        DRAINER_HEALTH_FAILURES_DOWN: '-1',
        DRAINER_HEALTH_SUCCESSES_UP: '1.5',
        DRAINER_HEALTH_INTERVAL_SECONDS: 'often',
        DRAINER_APP_HEALTH_URL: 'ftp://x/health',
        DRAINER_INSTANCE_METADATA: 'zone=a,broken,=x,zone=b',
        EUREKA_INSTANCE_METADATAMAP_: 'x',
      },
      { ...base, podIp: undefined, podName: undefined },
    );
    const text = found.join('\n');
    for (const expected of [
      'POD_IP',
      'POD_NAME',
      'DRAINER_LEASE_RENEWAL_SECONDS must be an integer from 1 to 3600, got "soon"',
      'DRAINER_LEASE_DURATION_SECONDS must be an integer from 1 to 86400, got "0"',
      'DRAINER_HEALTH_FAILURES_DOWN must be an integer from 1 to 1000, got "-1"',
      'DRAINER_HEALTH_SUCCESSES_UP must be an integer from 1 to 1000, got "1.5"',
      'DRAINER_HEALTH_INTERVAL_SECONDS',
      'DRAINER_APP_HEALTH_URL must be an http(s) URL, got "ftp://x/health"',
      'got "broken"',
      'got "=x"',
      'DRAINER_INSTANCE_METADATA sets "zone" twice',
      'EUREKA_INSTANCE_METADATAMAP_ does not name a metadata key',
    ]) {
      expect(text).toContain(expected);
    }
    expect(() => parseOwnerConfig({ DRAINER_LEASE_RENEWAL_SECONDS: 'soon' }, base)).toThrow(ConfigError);
  });

  test('a lease that is not longer than the renewal interval is refused', () => {
    expect(problems({ DRAINER_LEASE_RENEWAL_SECONDS: '30', DRAINER_LEASE_DURATION_SECONDS: '30' })).toEqual([
      'the lease duration (30 s) must be longer than the renewal interval (30 s), or the lease expires between heartbeats',
    ]);
  });

  test('an instance id with a path character is refused, and a bad POD_IP', () => {
    expect(problems({ DRAINER_INSTANCE_ID: 'a/b' }).join()).toContain('DRAINER_INSTANCE_ID must not contain');
    expect(problems({}, { ...base, podIp: 'not-an-ip' }).join()).toContain('POD_IP must be an IP address, got "not-an-ip"');
  });

  test('every variable read is listed with a description', () => {
    const names = OWNER_VARIABLES.map((v) => v.name);
    for (const name of ['DRAINER_INSTANCE_ID', 'DRAINER_APP_HEALTH_URL', 'DRAINER_LEASE_RENEWAL_SECONDS', 'DRAINER_LEASE_DURATION_SECONDS', 'DRAINER_INSTANCE_METADATA', 'EUREKA_INSTANCE_METADATAMAP_<KEY>', 'DRAINER_HEALTH_FAILURES_DOWN', 'DRAINER_HEALTH_SUCCESSES_UP', 'DRAINER_HEALTH_INTERVAL_SECONDS']) {
      expect(names).toContain(name);
    }
    for (const variable of OWNER_VARIABLES) expect(variable.description.length).toBeGreaterThan(10);
  });
});
