import { decodeApplicationDocument, decodeApplicationsDocument, decodeInstanceDocument } from '../../../src/eureka/codec';

const instance = {
  instanceId: 'pod-a:demo:8080',
  hostName: '10.1.2.3',
  app: 'DEMO',
  ipAddr: '10.1.2.3',
  status: 'OUT_OF_SERVICE',
  overriddenStatus: 'OUT_OF_SERVICE',
  port: { $: 8080, '@enabled': 'true' },
  leaseInfo: { renewalIntervalInSecs: 30, registrationTimestamp: 1700000000000, lastRenewalTimestamp: 1700000090000 },
  lastDirtyTimestamp: '1700000000000',
  actionType: 'MODIFIED',
};

describe('Eureka JSON codec', () => {
  test('decodes an instance as the Spring Cloud server writes it, string-typed fields included', () => {
    expect(decodeInstanceDocument(JSON.stringify({ instance }))).toMatchObject({
      instanceId: 'pod-a:demo:8080',
      status: 'OUT_OF_SERVICE',
      overriddenStatus: 'OUT_OF_SERVICE',
      port: 8080,
      lastDirtyTimestamp: 1700000000000,
      registrationTimestamp: 1700000000000,
      actionType: 'MODIFIED',
    });
  });

  test('accepts the lower-case overriddenstatus and a string port', () => {
    const decoded = decodeInstanceDocument(JSON.stringify({ instance: { ...instance, overriddenStatus: undefined, overriddenstatus: 'UNKNOWN', port: { $: '9090' } } }));
    expect(decoded.overriddenStatus).toBe('UNKNOWN');
    expect(decoded.port).toBe(9090);
  });

  test.each([
    ['an array', [instance, { ...instance, instanceId: 'b' }], 2],
    ['a single object', instance, 1],
    ['absent', undefined, 0],
  ])('application.instance as %s', (_name, value, count) => {
    expect(decodeApplicationDocument(JSON.stringify({ application: { name: 'DEMO', instance: value } }))).toHaveLength(count);
  });

  test('applications as array or object', () => {
    const single = decodeApplicationsDocument(JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: { name: 'DEMO', instance } } }));
    expect(single.instances).toHaveLength(1);
    expect(single.appsHashcode).toBe('UP_1_');
    const many = decodeApplicationsDocument(JSON.stringify({ applications: { application: [{ instance: [instance] }, { instance }] } }));
    expect(many.instances).toHaveLength(2);
  });

  test.each([
    ['HTML', '<html><body>502 Bad Gateway</body></html>', 'body was not JSON'],
    ['XML', '<applications><application/></applications>', 'body was not JSON'],
    ['truncated JSON', '{"applications": {"application": [', 'body was not JSON'],
    ['the wrong root', '{"instance": {}}', 'expected {"applications"'],
  ])('%s is a clear error', (_name, body, message) => {
    expect(() => decodeApplicationsDocument(body)).toThrow(message);
  });

  test('a huge garbage body is quoted only in part', () => {
    try {
      decodeInstanceDocument('x'.repeat(100_000));
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
      expect((error as { code?: string }).code).toBe('DRAINER_EUREKA_BAD_RESPONSE');
    }
    expect.assertions(2);
  });
});
