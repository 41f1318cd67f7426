import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { MutatingWebhookConfiguration } from '../../helpers/manifest';
import { NAMESPACES_NEVER_INJECTED, webhookRoute } from '../../../src/check/scope';

test("the namespaces never injected are the shipped webhook configuration's, for both entries", () => {
  const config = YAML.parse(readFileSync(join(__dirname, '..', '..', '..', 'k8s', 'webhook', 'mutating-webhook.yaml'), 'utf8')) as MutatingWebhookConfiguration;
  expect(config.webhooks).toHaveLength(2);
  for (const webhook of config.webhooks) {
    const notIn = webhook.namespaceSelector?.matchExpressions?.find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
    expect(notIn?.values).toEqual(NAMESPACES_NEVER_INJECTED);
  }
});

const ON = { 'eureka-drainer/inject': 'enabled' };
const OFF = { 'eureka-drainer/inject': 'disabled' };
test.each<[string, string, Record<string, string>, Record<string, string>, 'namespace' | 'pod' | undefined]>([
  ['opted-in namespace', 'shop', ON, {}, 'namespace'],
  ['opted-in namespace, pod labelled enabled too', 'shop', ON, ON, 'namespace'],
  ['opted-in namespace, pod labelled disabled', 'shop', ON, OFF, undefined],
  ['other namespace, pod labelled enabled', 'shop', {}, ON, 'pod'],
  ['namespace labelled disabled, pod labelled enabled', 'shop', OFF, ON, 'pod'],
  ['other namespace, pod unlabelled', 'shop', {}, {}, undefined],
  ['namespace label with another value', 'shop', { 'eureka-drainer/inject': 'true' }, {}, undefined],
  ['kube-system, labelled', 'kube-system', ON, ON, undefined],
  ['eureka-drainer-system, pod labelled', 'eureka-drainer-system', {}, ON, undefined],
])('%s', (_case, namespace, namespaceLabels, podLabels, route) => {
  expect(webhookRoute(namespace, namespaceLabels, podLabels)).toBe(route);
});
