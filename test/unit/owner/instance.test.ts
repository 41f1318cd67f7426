import { parseOwnerConfig } from '../../../src/owner/config';
import { buildInstanceInfo, encodeInstanceDocument, type RegisteredStatus } from '../../../src/owner/instance';

const config = parseOwnerConfig({ DRAINER_INSTANCE_METADATA: 'zone=a' }, { appName: 'Demo-Service', appPort: 8080, podIp: '10.0.0.7', podName: 'demo-abc' });

describe('registration body', () => {
  test('carries every field a Spring Cloud caller reads, in the server’s JSON shape', () => {
    const document = JSON.parse(encodeInstanceDocument(buildInstanceInfo(config, 'UP', 1_700_000_000_000))) as { instance: Record<string, unknown> };
    expect(document.instance).toEqual({
      instanceId: 'demo-abc:Demo-Service:8080',
      app: 'DEMO-SERVICE',
      hostName: '10.0.0.7',
      ipAddr: '10.0.0.7',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      metadata: { zone: 'a' },
      homePageUrl: 'http://10.0.0.7:8080/',
      statusPageUrl: 'http://10.0.0.7:8080/health',
      healthCheckUrl: 'http://10.0.0.7:8080/health',
      vipAddress: 'demo-service',
      secureVipAddress: 'demo-service',
      isCoordinatingDiscoveryServer: 'false',
      lastDirtyTimestamp: '1700000000000',
      actionType: 'ADDED',
    });
  });

  test.each<RegisteredStatus>(['STARTING', 'UP', 'DOWN'])('registers as %s', (status) => {
    expect(buildInstanceInfo(config, status, 1).status).toBe(status);
  });

  test('refuses OUT_OF_SERVICE even through a cast (eureka#1398)', () => {
    // @ts-expect-error: the type has no OUT_OF_SERVICE, which is the point
    const outOfService: RegisteredStatus = 'OUT_OF_SERVICE';
    expect(() => buildInstanceInfo(config, outOfService, 1)).toThrow('never registers as OUT_OF_SERVICE');
  });
});
