/**
 * values.schema.json refuses bad values before anything is rendered, with a message that names the value and
 * says what is wrong (Helm prints the schema validator's words; these are the ones a user sees).
 */
import { template } from '../../helpers/helm';

test.each([
  ['a typo in a key', { 'webhook.replica': 2 }, "at '/webhook': additional properties 'replica' not allowed"],
  ['no replicas', { 'webhook.replicas': 0 }, "at '/webhook/replicas': minimum: got 0, want 1"],
  ['replicas as text', { 'webhook.replicas': 'two' }, "at '/webhook/replicas': got string, want integer"],
  ['an unknown sidecar kind', { 'drainer.sidecar': 'sideways' }, "at '/drainer/sidecar': value must be one of 'native', 'classic'"],
  ['an unknown failure policy', { 'webhook.failurePolicy': 'Maybe' }, "at '/webhook/failurePolicy': value must be one of 'Ignore', 'Fail'"],
  ['a timeout the apiserver refuses', { 'webhook.timeoutSeconds': 60 }, "at '/webhook/timeoutSeconds': maximum: got 60, want 30"],
  ['an unknown log level', { 'webhook.logLevel': 'verbose' }, "at '/webhook/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'"],
  ['an image tag with a space', { 'image.tag': 'bad tag' }, "at '/image/tag': 'bad tag' does not match pattern"],
  ['an image repository with a tag in it', { 'image.repository': 'ghcr.io/eureka-drainer/eureka-drainer:0.1.0' }, "at '/image/repository': 'ghcr.io/eureka-drainer/eureka-drainer:0.1.0' does not match pattern"],
  ['an unknown pull policy', { 'image.pullPolicy': 'Sometimes' }, "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"],
  ['a selector operator Kubernetes does not have', { 'webhook.byPod.namespaceSelector.matchExpressions': [{ key: 'a', operator: 'Is', values: ['b'] }] }, "at '/webhook/byPod/namespaceSelector/matchExpressions/0/operator': value must be one of 'In', 'NotIn', 'Exists', 'DoesNotExist'"],
  ['a selector expression without a key', { 'webhook.byNamespace.namespaceSelector.matchExpressions': [{ operator: 'Exists' }] }, "at '/webhook/byNamespace/namespaceSelector/matchExpressions/0': missing property 'key'"],
  ['a PDB minAvailable that is neither a number nor a percentage', { 'webhook.podDisruptionBudget.minAvailable': 'half' }, "at '/webhook/podDisruptionBudget/minAvailable'"],
  ['a resource quantity that is not one', { 'webhook.resources.limits.memory': 'lots' }, "at '/webhook/resources/limits/memory'"],
  ['a drainer port out of range', { 'drainer.port': 70000 }, "at '/drainer/port': maximum: got 70,000, want 65,535"],
  ['a drainer resource other than cpu and memory', { 'drainer.resources.limits.gpu': 1 }, "at '/drainer/resources/limits': additional properties 'gpu' not allowed"],
  ['a drainer quantity that is not one', { 'drainer.resources.requests.memory': '96MB' }, "at '/drainer/resources/requests/memory'"],
  ['a drainer env entry without a value', { 'drainer.env': [{ name: 'DRAINER_TAIL_SECONDS' }] }, "at '/drainer/env/0': missing property 'value'"],
  ['a drainer env value that is a number', { 'drainer.env': [{ name: 'DRAINER_TAIL_SECONDS', value: 5 }] }, "at '/drainer/env/0/value': got number, want string"],
  ['a token Secret name Kubernetes cannot have', { 'drainer.token.secretName': 'Drainer_Token' }, "at '/drainer/token/secretName': 'Drainer_Token' does not match pattern"],
  ['a certificate valid for less than 30 days', { 'generatedCertificate.validityDays': 7 }, "at '/generatedCertificate/validityDays': minimum: got 7, want 30"],
  ['certManager as text', { 'certManager.enabled': 'yes' }, "at '/certManager/enabled': got string, want boolean"],
  ['a name override Kubernetes cannot use in a name', { nameOverride: 'Eureka_Drainer' }, "at '/nameOverride': 'Eureka_Drainer' does not match pattern"],
])('%s is refused, naming the value', (_what, values, message) => {
  const run = template({ values });
  expect(run.status).not.toBe(0);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain("values don't meet the specifications of the schema(s)");
  expect(run.stderr).toContain(message);
});

test('the defaults, and each value of the refused kinds set right, pass', () => {
  for (const values of [{}, { 'webhook.replicas': 1, 'drainer.sidecar': 'classic', 'webhook.failurePolicy': 'Fail', 'webhook.timeoutSeconds': 30, 'image.tag': '0.2.0-rc.1', 'webhook.podDisruptionBudget.minAvailable': '50%', 'webhook.resources.limits.memory': '512Mi', 'generatedCertificate.validityDays': 30 }]) {
    const run = template({ values });
    expect({ status: run.status, stderr: run.stderr.split('\n').filter((l) => l.startsWith('Error')) }).toEqual({ status: 0, stderr: [] });
  }
});
