/**
 * The chart and k8s/webhook install the same webhook. Released as `eureka-drainer` with cert-manager, the chart
 * renders every object kustomize renders from k8s/webhook (but the Namespace: `helm install --create-namespace`
 * makes it), field for field, but for what the chart adds on purpose (CHART_ADDS); in another namespace too
 * (k8s/webhook's kustomization set to it).
 */
import { kustomize, kustomizeWebhook, render, ROOT } from '../../helpers/helm';
import { idOf, isKind, type Manifest, type StringMap } from '../../helpers/manifest';
import { resolve } from 'node:path';

/** What the chart adds to the objects k8s/webhook has, and why. */
const CHART_ADDS = {
  /** Helm's and the release's labels on every object (compared apart: the chart's labels include k8s/webhook's). */
  labels: ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by', 'helm.sh/chart'],
  /** The release in every selector: two releases never select each other's pods. */
  selectorLabel: 'app.kubernetes.io/instance',
  /** image.pullPolicy, a value. */
  containerFields: ['imagePullPolicy'],
  /** webhook.logLevel, drainer.port and drainer.resources, values (k8s/webhook leaves the webhook's defaults, the same). */
  env: ['DRAINER_LOG_LEVEL', 'WEBHOOK_DRAINER_PORT', 'WEBHOOK_DRAINER_RESOURCES'],
} as const;

const without = (labels: StringMap | undefined, keys: readonly string[]): StringMap | undefined =>
  labels === undefined ? undefined : Object.fromEntries(Object.entries(labels).filter(([k]) => !keys.includes(k)));

/** The chart's object with CHART_ADDS taken out, and metadata.labels apart. */
function comparable(o: Manifest, adds?: typeof CHART_ADDS): { object: Manifest; labels: StringMap } {
  const object = structuredClone(o);
  const labels = object.metadata.labels ?? {};
  delete object.metadata.labels;
  if (!adds) return { object, labels };
  const selectorKeys = [adds.selectorLabel];
  if (isKind(object, 'Service')) object.spec.selector = without(object.spec.selector, selectorKeys)!;
  if (isKind(object, 'PodDisruptionBudget')) object.spec.selector.matchLabels = without(object.spec.selector.matchLabels, selectorKeys);
  if (isKind(object, 'Deployment')) {
    const pod = object.spec.template;
    object.spec.selector.matchLabels = without(object.spec.selector.matchLabels, selectorKeys);
    pod.metadata.labels = without(pod.metadata.labels, [...adds.labels, adds.selectorLabel]);
    for (const t of pod.spec.topologySpreadConstraints ?? []) t.labelSelector.matchLabels = without(t.labelSelector.matchLabels, selectorKeys);
    for (const c of pod.spec.containers) {
      for (const field of adds.containerFields) delete c[field];
      c.env = c.env?.filter((e) => !(adds.env as readonly string[]).includes(e.name));
    }
  }
  return { object, labels: without(labels, adds.labels)! };
}

describe.each([
  ['eureka-drainer-system (k8s/webhook as shipped)', 'eureka-drainer-system', () => kustomize(resolve(ROOT, 'k8s', 'webhook'))],
  ['platform-tools (k8s/webhook with its namespace set)', 'platform-tools', () => kustomizeWebhook('platform-tools')],
])('in %s', (_label, namespace, renderKustomize) => {
  const fromKustomize = renderKustomize().filter((o) => o.kind !== 'Namespace');
  const fromChart = render({ name: 'eureka-drainer', namespace, values: { 'certManager.enabled': true } });

  test('the same objects', () => {
    expect(fromChart.map(idOf).sort()).toEqual(fromKustomize.map(idOf).sort());
  });

  test.each(fromKustomize.map((o) => [idOf(o), o] as const))('%s: equal but for what the chart adds', (id, kustomized) => {
    const charted = fromChart.find((o) => idOf(o) === id)!;
    const chart = comparable(charted, CHART_ADDS);
    const plain = comparable(kustomized);
    expect(chart.object).toEqual(plain.object);
    // k8s/webhook's labels are kept (the chart may add the name label to objects k8s/webhook leaves unlabelled).
    expect(chart.labels).toMatchObject(plain.labels);
  });
});

test('the comparison sees a difference (the chart rendered with another timeout is not equal)', () => {
  const kustomized = kustomize(resolve(ROOT, 'k8s', 'webhook')).find((o) => o.kind === 'MutatingWebhookConfiguration')!;
  const charted = render({ values: { 'certManager.enabled': true, 'webhook.timeoutSeconds': 6 } }).find((o) => o.kind === 'MutatingWebhookConfiguration')!;
  expect(comparable(charted, CHART_ADDS).object).not.toEqual(comparable(kustomized).object);
});
