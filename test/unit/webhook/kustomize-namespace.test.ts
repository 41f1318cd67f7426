/**
 * k8s/webhook in another namespace: its kustomization's `namespace:` is the one place to change. kustomize's
 * namespace transformer moves the objects (and the Namespace, and the webhook's clientConfig); the replacements
 * carry it into what the transformer does not know: the certificate's DNS names, cert-manager's cainjector
 * annotation and both webhook entries' exclusion of their own namespace. Rendered by the real kustomize (kubectl's).
 */
import { kustomize, kustomizeWebhook, ROOT } from '../../helpers/helm';
import { one, type Manifest } from '../../helpers/manifest';
import { resolve } from 'node:path';

/** Every place the rendered objects name a namespace, by what it is. */
function namespacePlaces(objects: readonly Manifest[]): Record<string, unknown> {
  const configuration = one(objects, 'MutatingWebhookConfiguration');
  return {
    namespace: one(objects, 'Namespace').metadata.name,
    namespaced: [...new Set(objects.filter((o) => o.kind !== 'Namespace' && o.kind !== 'MutatingWebhookConfiguration').map((o) => o.metadata.namespace))],
    dnsNames: one(objects, 'Certificate', 'eureka-drainer-webhook').spec.dnsNames,
    injectCaFrom: configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'],
    clientConfig: configuration.webhooks.map((w) => w.clientConfig.service?.namespace),
    excluded: configuration.webhooks.map((w) => w.namespaceSelector?.matchExpressions?.find((e) => e.key === 'kubernetes.io/metadata.name')?.values),
  };
}

const placesIn = (ns: string): Record<string, unknown> => ({
  namespace: ns,
  namespaced: [ns],
  dnsNames: [`eureka-drainer-webhook.${ns}.svc`, `eureka-drainer-webhook.${ns}.svc.cluster.local`],
  injectCaFrom: `${ns}/eureka-drainer-webhook`,
  clientConfig: [ns, ns],
  excluded: [['kube-system', ns], ['kube-system', ns]],
});

test('as shipped: eureka-drainer-system in every place', () => {
  expect(namespacePlaces(kustomize(resolve(ROOT, 'k8s', 'webhook')))).toEqual(placesIn('eureka-drainer-system'));
});

test.each(['platform-tools', 'drain'])('namespace %s: every place follows it, and the old name is nowhere', (ns) => {
  const objects = kustomizeWebhook(ns);
  expect(namespacePlaces(objects)).toEqual(placesIn(ns));
  expect(JSON.stringify(objects)).not.toContain('eureka-drainer-system');
});
