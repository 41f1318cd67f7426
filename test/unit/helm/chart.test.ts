/**
 * charts/eureka-drainer as Helm renders it: `helm lint --strict`, and `helm template` over a matrix of namespace,
 * release name, certificate source and monitoring. Every rendered object is valid against its schema
 * (kubernetes-models, test/helpers/k8s-schemas.ts) and the objects are wired to each other: the names they use for
 * each other, the namespace, the certificate's names and the CA the apiserver is told to trust.
 */
import { expect } from '@jest/globals';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { parseResources } from '../../../src/inject/drainer-defaults';
import { SETTINGS } from '../../../src/webhook/command';
import { validateObjects } from '../../helpers/k8s-schemas';
import { CHART, documents, helm, ROOT, render } from '../../helpers/helm';
import { idOf, isKind, one, type Container, type Manifest } from '../../helpers/manifest';

const PACKAGE_VERSION = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const chart = YAML.parse(readFileSync(resolve(CHART, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };

test('the chart\'s version and appVersion are package.json\'s', () => {
  expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({ version: PACKAGE_VERSION, appVersion: PACKAGE_VERSION });
});

test.each([
  ['the chart\'s own certificate', []],
  ['cert-manager', ['--set', 'certManager.enabled=true']],
  ['everything on', ['--set', 'certManager.enabled=true', '--set', 'monitoring.podMonitor.enabled=true', '--set', 'monitoring.prometheusRule.enabled=true', '--set', 'monitoring.grafanaDashboard.enabled=true']],
])('helm lint --strict passes with %s', (_what, sets) => {
  const run = helm(['lint', '--strict', CHART, ...sets]);
  expect({ status: run.status, out: run.stdout }).toEqual({ status: 0, out: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed') });
  expect(run.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
});

interface Case {
  readonly name: string;
  readonly namespace: string;
  readonly certManager: boolean;
  readonly monitoring: boolean;
}

const MATRIX: Case[] = [
  { name: 'eureka-drainer', namespace: 'eureka-drainer-system', certManager: false, monitoring: false },
  { name: 'eureka-drainer', namespace: 'eureka-drainer-system', certManager: true, monitoring: true },
  { name: 'platform', namespace: 'tools', certManager: false, monitoring: true },
  { name: 'platform', namespace: 'tools', certManager: true, monitoring: false },
  { name: 'eureka-drainer-canary', namespace: 'canary', certManager: false, monitoring: false },
];

const label = (c: Case): string => `release ${c.name} in ${c.namespace}, ${c.certManager ? 'cert-manager' : 'generated certificate'}, monitoring ${c.monitoring ? 'on' : 'off'}`;
const renderCase = (c: Case): Manifest[] =>
  render({
    name: c.name,
    namespace: c.namespace,
    values: {
      'certManager.enabled': c.certManager,
      'monitoring.podMonitor.enabled': c.monitoring,
      'monitoring.prometheusRule.enabled': c.monitoring,
      'monitoring.grafanaDashboard.enabled': c.monitoring,
    },
  });

describe.each(MATRIX.map((c) => [label(c), c] as const))('%s', (_label, c) => {
  const objects = renderCase(c);
  const service = one(objects, 'Service');
  const deployment = one(objects, 'Deployment');
  const configuration = one(objects, 'MutatingWebhookConfiguration');
  const serviceName = service.metadata.name ?? '';
  const dnsNames = [`${serviceName}.${c.namespace}.svc`, `${serviceName}.${c.namespace}.svc.cluster.local`];

  test('every object is valid against its schema', () => {
    const results = validateObjects(objects.map((object) => ({ label: idOf(object), object })));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(objects.length);
  });

  test('the objects it renders, each once, named after the release', () => {
    const ids = objects.map(idOf).sort();
    const prefix = c.name.includes('eureka-drainer') ? c.name : `${c.name}-eureka-drainer`;
    const expected = [
      `Deployment/${prefix}-webhook`,
      `MutatingWebhookConfiguration/${prefix}`,
      `PodDisruptionBudget/${prefix}-webhook`,
      `Service/${prefix}-webhook`,
      `ServiceAccount/${prefix}-webhook`,
      ...(c.certManager
        ? [`Certificate/${prefix}-webhook`, `Certificate/${prefix}-webhook-ca`, `Issuer/${prefix}-ca`, `Issuer/${prefix}-selfsigned`]
        : [`Secret/${prefix}-webhook-tls`]),
      ...(c.monitoring
        ? [`ConfigMap/${prefix}-dashboard`, `PodMonitor/${prefix}-drainers`, `PodMonitor/${prefix}-webhook`, `PrometheusRule/${prefix}-drainers`, `PrometheusRule/${prefix}-webhook`]
        : []),
    ].sort();
    expect(ids).toEqual(expected);
  });

  test('everything namespaced is in the release namespace, and the chart names no other namespace', () => {
    for (const o of objects) {
      if (o.kind === 'MutatingWebhookConfiguration') expect(o.metadata.namespace).toBeUndefined();
      else expect({ id: idOf(o), namespace: o.metadata.namespace }).toEqual({ id: idOf(o), namespace: c.namespace });
    }
    if (c.namespace !== 'eureka-drainer-system') expect(JSON.stringify(objects)).not.toContain('eureka-drainer-system');
  });

  test('the Service selects the Deployment\'s pods, which the PDB and the spread constraint count', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(one(objects, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(deployment.spec.template.spec.topologySpreadConstraints?.[0]?.labelSelector.matchLabels).toEqual(service.spec.selector);
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'eureka-drainer-webhook', 'app.kubernetes.io/instance': c.name });
  });

  test('both webhook entries call this release\'s Service and leave out kube-system and the release namespace', () => {
    expect(configuration.webhooks.map((w) => w.name)).toEqual(['by-namespace.inject.eureka-drainer', 'by-pod.inject.eureka-drainer']);
    for (const w of configuration.webhooks) {
      expect(w.clientConfig.service).toEqual({ name: service.metadata.name, namespace: c.namespace, path: expect.stringMatching(/^\/inject(-pod)?$/), port: 443 });
      expect(w.namespaceSelector?.matchExpressions).toContainEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', c.namespace] });
    }
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https' }]);
  });

  test('the certificate is issued for the Service\'s names, mounted where the webhook reads it, and trusted by the apiserver', () => {
    const secretName = deployment.spec.template.spec.volumes?.find((v) => v.name === 'tls')?.secret?.secretName;
    if (c.certManager) {
      const certificate = objects.filter((o) => isKind(o, 'Certificate')).find((o) => !o.spec.isCA)!;
      expect(certificate.spec.secretName).toBe(secretName);
      expect(certificate.spec.dnsNames).toEqual(dnsNames);
      expect(configuration.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${c.namespace}/${certificate.metadata.name ?? ''}` });
      for (const w of configuration.webhooks) expect(w.clientConfig.caBundle).toBeUndefined();
      return;
    }
    const secret = one(objects, 'Secret');
    expect(secret.metadata.name).toBe(secretName);
    expect(secret.type).toBe('kubernetes.io/tls');
    const pem = (key: string): string => Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
    const served = new X509Certificate(pem('tls.crt'));
    const ca = new X509Certificate(pem('ca.crt'));
    for (const name of dnsNames) expect(served.checkHost(name)).toBe(name);
    expect(served.checkHost(`${serviceName}.other.svc`)).toBeUndefined();
    expect(served.verify(ca.publicKey)).toBe(true);
    expect(served.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    for (const w of configuration.webhooks) expect(w.clientConfig.caBundle).toBe(secret.data['ca.crt']);
    expect(configuration.metadata.annotations).toBeUndefined();
    // The date an upgrade compares against renewDays is the certificate's own.
    const notAfter = Date.parse(secret.metadata.annotations?.['eureka-drainer/certificate-not-after'] ?? '');
    expect(Math.abs(notAfter - Date.parse(served.validTo))).toBeLessThan(5 * 60_000);
  });
});

describe('the monitoring objects are the files of k8s/', () => {
  const objects = renderCase({ name: 'platform', namespace: 'tools', certManager: false, monitoring: true });
  const file = (path: string): Manifest[] => documents(readFileSync(resolve(ROOT, path), 'utf8'));
  const rendered = (kind: 'PodMonitor' | 'PrometheusRule', suffix: string): Manifest => objects.find((o) => o.kind === kind && o.metadata.name?.endsWith(suffix))!;

  test('the drainer\'s PrometheusRule is k8s/prometheus-rule.yaml\'s, every rule', () => {
    expect(rendered('PrometheusRule', '-drainers').spec).toEqual(file('k8s/prometheus-rule.yaml')[0]!.spec);
  });

  test('the webhook\'s PrometheusRule is k8s/webhook/monitoring.yaml\'s, its namespace the release\'s', () => {
    const source = file('k8s/webhook/monitoring.yaml').find((o) => o.kind === 'PrometheusRule')!;
    const expected: unknown = JSON.parse(JSON.stringify(source.spec).replaceAll('eureka-drainer-system', 'tools'));
    expect(rendered('PrometheusRule', '-webhook').spec).toEqual(expected);
  });

  test('the PodMonitors are k8s/\'s, selecting this release\'s webhook and drainers in every namespace', () => {
    const webhookSource = file('k8s/webhook/monitoring.yaml').find((o) => o.kind === 'PodMonitor')!;
    const drainerSource = file('k8s/monitoring.yaml').find((o) => o.kind === 'PodMonitor')!;
    expect(rendered('PodMonitor', '-webhook').spec).toEqual({ ...(webhookSource.spec as object), selector: { matchLabels: { 'app.kubernetes.io/name': 'eureka-drainer-webhook', 'app.kubernetes.io/instance': 'platform' } } });
    expect(rendered('PodMonitor', '-drainers').spec).toEqual({ ...(drainerSource.spec as object), namespaceSelector: { any: true } });
  });

  test('the dashboard ConfigMap holds k8s/grafana-dashboard.json, labelled for Grafana\'s sidecar', () => {
    const configMap = one(objects, 'ConfigMap');
    const parse = (text: string | undefined): unknown => JSON.parse(text ?? '');
    expect(parse(configMap.data['eureka-drainer.json'])).toEqual(parse(readFileSync(resolve(ROOT, 'k8s/grafana-dashboard.json'), 'utf8')));
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
  });

  test('monitoring.labels reach the PodMonitors and PrometheusRules', () => {
    const labelled = render({ values: { 'monitoring.podMonitor.enabled': true, 'monitoring.prometheusRule.enabled': true, 'monitoring.labels': { release: 'kube-prometheus-stack' } } });
    const monitoring = labelled.filter((o) => o.kind === 'PodMonitor' || o.kind === 'PrometheusRule');
    expect(monitoring).toHaveLength(4);
    for (const o of monitoring) expect(o.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', 'app.kubernetes.io/instance': 'eureka-drainer' });
  });
});

test('helm package stores the files k8s/ holds (files/ links to them), and the package renders as the folder does', () => {
  expect(readdirSync(resolve(CHART, 'files')).map((f) => [f, lstatSync(resolve(CHART, 'files', f)).isSymbolicLink()])).toEqual([
    ['grafana-dashboard.json', true],
    ['monitoring.yaml', true],
    ['prometheus-rule.yaml', true],
    ['webhook-monitoring.yaml', true],
  ]);
  const out = mkdtempSync(resolve(tmpdir(), 'eureka-drainer-chart-'));
  try {
    const packaged = helm(['package', CHART, '--destination', out]);
    expect(packaged.status).toBe(0);
    const release = { values: { 'certManager.enabled': true, 'monitoring.podMonitor.enabled': true, 'monitoring.prometheusRule.enabled': true, 'monitoring.grafanaDashboard.enabled': true } };
    const fromPackage = render({ ...release, chart: resolve(out, `eureka-drainer-${chart.version}.tgz`) });
    expect(fromPackage.map(idOf)).toContain('PrometheusRule/eureka-drainer-drainers');
    expect(fromPackage).toEqual(render(release));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

describe('the values for the webhook and the drainer it injects', () => {
  const webhookContainer = (objects: readonly Manifest[]): Container => one(objects, 'Deployment').spec.template.spec.containers[0]!;
  const envOf = (objects: readonly Manifest[]): Record<string, string | undefined> => Object.fromEntries((webhookContainer(objects).env ?? []).map((e) => [e.name, e.value]));

  test('the webhook reads every variable and flag the chart gives it (src/webhook/command.ts)', () => {
    const known: readonly string[] = Object.values(SETTINGS).flatMap((s) => s.names);
    const container = webhookContainer(render());
    const given: string[] = [...(container.env ?? []).map((e) => e.name), ...(container.args ?? []).filter((a) => a.startsWith('--'))];
    expect(given).toEqual(expect.arrayContaining(['--cert', '--key', 'WEBHOOK_SIDECAR_IMAGE']));
    expect(given.filter((name) => !known.includes(name))).toEqual([]);
  });

  test('by default the drainer injected is the webhook\'s own image at the chart\'s appVersion', () => {
    const objects = render();
    expect(webhookContainer(objects).image).toBe(`ghcr.io/eureka-drainer/eureka-drainer:${chart.appVersion}`);
    expect(envOf(objects)).toEqual({
      WEBHOOK_SIDECAR_IMAGE: `ghcr.io/eureka-drainer/eureka-drainer:${chart.appVersion}`,
      WEBHOOK_SIDECAR: 'native',
      WEBHOOK_DRAINER_PORT: '8787',
      WEBHOOK_DRAINER_RESOURCES: '{"limits":{"memory":"192Mi"},"requests":{"cpu":"10m","memory":"96Mi"}}',
      DRAINER_LOG_LEVEL: 'info',
    });
  });

  test('a mirror for the webhook is the drainer\'s default too; drainer.image overrides it', () => {
    const mirrored = render({ values: { 'image.repository': 'registry.example.com/eureka-drainer', 'image.tag': '9.9.9' } });
    expect(envOf(mirrored).WEBHOOK_SIDECAR_IMAGE).toBe('registry.example.com/eureka-drainer:9.9.9');
    const separate = render({ values: { 'drainer.image': { repository: 'registry.example.com/drainer', tag: '1.2.3' }, 'drainer.sidecar': 'classic', 'webhook.logLevel': 'debug' } });
    expect(envOf(separate)).toMatchObject({ WEBHOOK_SIDECAR_IMAGE: 'registry.example.com/drainer:1.2.3', WEBHOOK_SIDECAR: 'classic', DRAINER_LOG_LEVEL: 'debug' });
  });

  test("the injected drainer's port, resources, env defaults and token Secret reach the webhook as the settings it reads", () => {
    const objects = render({
      values: {
        'drainer.port': 9100,
        'drainer.resources': { requests: { cpu: 1, memory: '128Mi' }, limits: { memory: null } },
        'drainer.env': [{ name: 'DRAINER_TAIL_SECONDS', value: '5' }],
        'drainer.token': { secretName: 'drainer-token', key: 'value' },
      },
    });
    const env = envOf(objects);
    expect(env).toMatchObject({ WEBHOOK_DRAINER_PORT: '9100', WEBHOOK_DRAINER_ENV: '[{"name":"DRAINER_TAIL_SECONDS","value":"5"}]', WEBHOOK_DRAINER_TOKEN_FILE: '/drainer-token/token' });
    // The webhook's own rule reads what the chart wrote (helm's null drops the default's memory limit).
    expect(parseResources(env.WEBHOOK_DRAINER_RESOURCES!)).toEqual({ value: { requests: { cpu: '1', memory: '128Mi' }, limits: {} } });
    const pod = one(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'drainer-token', secret: { secretName: 'drainer-token', items: [{ key: 'value', path: 'token' }] } });
    expect(pod.containers[0]?.volumeMounts).toContainEqual({ name: 'drainer-token', mountPath: '/drainer-token', readOnly: true });
    // No Secret named: no token setting, no volume.
    expect(envOf(render()).WEBHOOK_DRAINER_TOKEN_FILE).toBeUndefined();
    expect(one(render(), 'Deployment').spec.template.spec.volumes?.map((v) => v.name)).toEqual(['tls']);
  });

  test('the selectors are values (kube-system and the release namespace still left out), and by-pod can be turned off', () => {
    // Helm merges maps and replaces lists: a selector of matchLabels alone drops the default expressions with null.
    const objects = render({
      namespace: 'helm-x',
      values: { 'webhook.byNamespace.namespaceSelector': { matchLabels: { 'team/drain': 'yes' }, matchExpressions: null }, 'webhook.byPod.enabled': false, 'webhook.failurePolicy': 'Fail', 'webhook.timeoutSeconds': 10 },
    });
    const [entry, ...others] = one(objects, 'MutatingWebhookConfiguration').webhooks;
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      name: 'by-namespace.inject.eureka-drainer',
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      namespaceSelector: { matchLabels: { 'team/drain': 'yes' }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'helm-x'] }] },
    });
  });

  test('the webhook pods\' placement and the PDB', () => {
    const objects = render({
      values: {
        'webhook.replicas': 3,
        'webhook.nodeSelector': { 'kubernetes.io/os': 'linux' },
        'webhook.tolerations': [{ key: 'dedicated', operator: 'Exists' }],
        'webhook.priorityClassName': 'system-cluster-critical',
        'webhook.podDisruptionBudget.minAvailable': 2,
        imagePullSecrets: ['pull'],
      },
    });
    const deployment = one(objects, 'Deployment');
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec).toMatchObject({ nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], priorityClassName: 'system-cluster-critical', imagePullSecrets: [{ name: 'pull' }] });
    expect(one(objects, 'PodDisruptionBudget').spec.minAvailable).toBe(2);
    expect(render({ values: { 'webhook.podDisruptionBudget.enabled': false } }).map((o) => o.kind)).not.toContain('PodDisruptionBudget');
  });
});
