import { deltaEvidence, liveEvidence } from '../../../src/drain/evidence';
import type { EurekaInstance } from '../../../src/eureka/codec';

const ID = '10.0.0.1:demo:8080';
const instance = (patch: Partial<EurekaInstance>): EurekaInstance => ({
  instanceId: ID, app: 'DEMO', hostName: 'h', ipAddr: '10.0.0.1', status: 'UP', overriddenStatus: 'UNKNOWN', port: 8080,
  registrationTimestamp: 0, lastRenewalTimestamp: 0, lastDirtyTimestamp: 0, renewalIntervalInSecs: 30, actionType: undefined, ...patch,
});

describe('what an answer of Eureka proves (only positive evidence for our app and id)', () => {
  test.each<[string, EurekaInstance | null, string]>([
    ['our override in force', instance({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' }), 'out'],
    ["the app's own DOWN while shutting down (wins over the override)", instance({ status: 'DOWN', overriddenStatus: 'OUT_OF_SERVICE' }), 'out'],
    ['UP with the override removed', instance({ status: 'UP' }), 'offered'],
    ['OUT_OF_SERVICE status without the override (about to be reset by a heartbeat)', instance({ status: 'OUT_OF_SERVICE' }), 'offered'],
    ['another app with our id', instance({ app: 'OTHER', status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' }), 'offered'],
    ['absent', null, 'absent'],
  ])('live view: %s', (_name, live, expected) => {
    expect(liveEvidence(live, 'demo', ID)).toBe(expected);
  });

  test.each<[string, EurekaInstance[], string]>([
    ['listed OUT_OF_SERVICE (MODIFIED)', [instance({ status: 'OUT_OF_SERVICE', actionType: 'MODIFIED' })], 'out'],
    ['listed DOWN', [instance({ status: 'DOWN', actionType: 'MODIFIED' })], 'out'],
    ['listed DELETED (a cancel), whatever its last status', [instance({ status: 'UP', actionType: 'DELETED' })], 'out'],
    ['not listed: a delta from before our change', [instance({ instanceId: 'other', status: 'UP', actionType: 'ADDED' })], 'offered'],
    ['listed UP', [instance({ status: 'UP', actionType: 'ADDED' })], 'offered'],
    ['only another app lists our id as out', [instance({ app: 'OTHER', status: 'OUT_OF_SERVICE', actionType: 'MODIFIED' })], 'offered'],
  ])("the callers' delta: %s", (_name, list, expected) => {
    expect(deltaEvidence(list, 'demo', ID)).toBe(expected);
  });
});
