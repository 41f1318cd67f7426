import type { EurekaInstance } from '../../../src/eureka/codec';
import { locateInstance } from '../../../src/eureka/locate';

const make = (id: string, ip: string, port: number, registered = 0): EurekaInstance => ({
  instanceId: id,
  app: 'DEMO',
  hostName: ip,
  ipAddr: ip,
  status: 'UP',
  overriddenStatus: 'UNKNOWN',
  port,
  registrationTimestamp: registered,
  lastRenewalTimestamp: registered,
  lastDirtyTimestamp: registered,
  renewalIntervalInSecs: 30,
  actionType: undefined,
});

describe('locateInstance', () => {
  const instances = [make('a', '10.0.0.1', 8080), make('b', '10.0.0.2', 8080), make('c', '10.0.0.1', 9090)];

  test('matches ipAddr == POD_IP and port.$ == the app port', () => {
    expect(locateInstance(instances, { podIp: '10.0.0.1', port: 9090 })?.instance.instanceId).toBe('c');
    expect(locateInstance(instances, { podIp: '10.0.0.2', port: 8080 })?.instance.instanceId).toBe('b');
  });

  test('an explicit instance id wins', () => {
    expect(locateInstance(instances, { instanceId: 'b', podIp: '10.0.0.1', port: 8080 })?.instance.instanceId).toBe('b');
  });

  test('no match is undefined', () => {
    expect(locateInstance(instances, { podIp: '10.9.9.9', port: 8080 })).toBeUndefined();
  });

  test('several matches: the newest registration, and the others are reported', () => {
    const found = locateInstance([make('old', '10.0.0.1', 8080, 100), make('new', '10.0.0.1', 8080, 200)], { podIp: '10.0.0.1', port: 8080 });
    expect(found?.instance.instanceId).toBe('new');
    expect(found?.alsoMatched.map((i) => i.instanceId)).toEqual(['old']);
  });
});
