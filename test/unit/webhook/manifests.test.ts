/**
 * k8s/webhook/: every object valid against its schema (kubernetes-models; cert-manager's CRDs via
 * @kubernetes-models/cert-manager), and wired together: the names the objects use for each
 * other, the selectors, the webhook settings the apiserver acts on, and no access to the API.
 */
import { expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { one as oneOf, type Kinds, type Manifest, type Webhook } from '../../helpers/manifest';
import { ROOT, validateObjects } from './fixtures';

const dir = resolve(ROOT, 'k8s', 'webhook');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
const docs = files.flatMap((file) => YAML.parseAllDocuments(readFileSync(resolve(dir, file), 'utf8')).map((d) => ({ file, object: d.toJSON() as Manifest })));
const objects = docs.map((d) => d.object);
const one = <K extends keyof Kinds>(kind: K, name?: string): Kinds[K] => oneOf(objects, kind, name);

const NAMESPACE = 'eureka-drainer-system';
const validations = validateObjects(docs.map((d) => ({ label: `${d.file} ${d.object.kind}/${d.object.metadata.name}`, object: d.object })));

test.each(validations.map((v) => [v.label, v] as const))('%s is valid against its schema', (_label, v) => {
  expect(v.error).toBeUndefined();
  expect(v.ok).toBe(true);
});

test('the validator rejects a broken webhook configuration and a broken Certificate (the check can fail)', () => {
  const webhook = structuredClone(one('MutatingWebhookConfiguration'));
  webhook.webhooks[0]!.timeoutSeconds = 'five' as unknown as number;
  const certificate = structuredClone(one('Certificate', 'eureka-drainer-webhook'));
  delete (certificate.spec as Partial<Kinds['Certificate']['spec']>).issuerRef;
  const results = validateObjects([{ label: 'webhook', object: webhook }, { label: 'certificate', object: certificate }]);
  expect(results.map((r) => r.ok)).toEqual([false, false]);
});

test('the kustomization lists every file but monitoring.yaml (it needs the Prometheus Operator\'s CRDs), and every file is listed', () => {
  const kustomization = YAML.parse(readFileSync(resolve(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'monitoring.yaml'));
});

test('everything namespaced is in the webhook namespace; the Namespace and the webhook configuration are cluster-wide', () => {
  for (const o of objects) {
    if (o.kind === 'Namespace' || o.kind === 'MutatingWebhookConfiguration') expect(o.metadata.namespace).toBeUndefined();
    else expect(o.metadata.namespace).toBe(NAMESPACE);
  }
  expect(one('Namespace').metadata.name).toBe(NAMESPACE);
});

test('no API access: no Role, ClusterRole or binding, and no token mounted', () => {
  expect(objects.map((o) => o.kind).filter((k) => /Role|Binding/.test(k))).toEqual([]);
  const account = one('ServiceAccount');
  const pod = one('Deployment').spec.template.spec;
  expect(account.automountServiceAccountToken).toBe(false);
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.serviceAccountName).toBe(account.metadata.name);
});

describe('the Deployment', () => {
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;

  test('two replicas, the PodDisruptionBudget keeps one', () => {
    expect(deployment.spec.replicas).toBe(2);
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector).toEqual(deployment.spec.selector);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels!);
  });

  test('runs `webhook` with the certificate Secret mounted where --cert and --key point', () => {
    expect(pod.containers).toHaveLength(1);
    expect(container.args).toEqual(['webhook', '--cert', '/tls/tls.crt', '--key', '/tls/tls.key']);
    const mount = container.volumeMounts?.find((m) => m.mountPath === '/tls');
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe(one('Certificate', 'eureka-drainer-webhook').spec.secretName);
  });

  test('non-root (by number: the image user is a name), read-only root, no capabilities, no privilege escalation', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toEqual({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test('probes on /healthz and /readyz over HTTPS, resources set', () => {
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.memory).toBeDefined();
    expect(container.ports).toEqual([{ name: 'https', containerPort: 8443 }, { name: 'metrics', containerPort: 9090 }]);
  });

  test('the Service sends 443 to the TLS port of these pods', () => {
    const service = one('Service');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https' }]);
  });
});

describe('cert-manager', () => {
  test('the serving certificate names the Service as the apiserver calls it, issued by a CA that is itself self-signed', () => {
    const service = one('Service');
    const serving = one('Certificate', 'eureka-drainer-webhook');
    expect(serving.spec.dnsNames).toContain(`${service.metadata.name}.${NAMESPACE}.svc`);
    expect(serving.spec.usages).toContain('server auth');
    const caIssuer = one('Issuer', serving.spec.issuerRef.name);
    expect(serving.spec.issuerRef.kind).toBe('Issuer');
    const ca = one('Certificate', 'eureka-drainer-webhook-ca');
    expect(ca.spec.isCA).toBe(true);
    expect(caIssuer.spec.ca?.secretName).toBe(ca.spec.secretName);
    expect(one('Issuer', ca.spec.issuerRef.name).spec.selfSigned).toEqual({});
  });
});

describe('the MutatingWebhookConfiguration', () => {
  const config = one('MutatingWebhookConfiguration');
  const webhooks = config.webhooks;
  const byPath = (path: string): Webhook => webhooks.find((w) => w.clientConfig.service?.path === path)!;

  test('cert-manager injects the CA of the serving certificate', () => {
    expect(config.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${NAMESPACE}/eureka-drainer-webhook`);
    for (const w of webhooks) expect(w.clientConfig.caBundle).toBeUndefined();
  });

  test('two entries: /inject (namespace opt-in) and /inject-pod (pod opt-in), both to the Service on 443', () => {
    expect(webhooks.map((w) => w.clientConfig.service?.path).sort()).toEqual(['/inject', '/inject-pod']);
    const service = one('Service');
    for (const w of webhooks) expect(w.clientConfig.service).toMatchObject({ name: service.metadata.name, namespace: NAMESPACE, port: 443 });
  });

  test.each([['/inject'], ['/inject-pod']])('%s: never blocks a pod, no side effects, v1 reviews, a short timeout, reinvoked if needed', (path) => {
    const w = byPath(path);
    expect(w).toMatchObject({ failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'], reinvocationPolicy: 'IfNeeded' });
    expect(w.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(w.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  });

  test.each([['/inject'], ['/inject-pod']])('%s: never kube-system, never the webhook\'s own namespace', (path) => {
    const expressions = byPath(path).namespaceSelector?.matchExpressions;
    expect(expressions).toContainEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: expect.arrayContaining(['kube-system', NAMESPACE]) });
  });

  test('/inject: namespaces labelled eureka-drainer/inject=enabled; a pod labelled disabled is not sent', () => {
    const w = byPath('/inject');
    expect(w.namespaceSelector?.matchExpressions).toContainEqual({ key: 'eureka-drainer/inject', operator: 'In', values: ['enabled'] });
    expect(w.objectSelector?.matchExpressions).toEqual([{ key: 'eureka-drainer/inject', operator: 'NotIn', values: ['disabled'] }]);
  });

  test('/inject-pod: pods labelled eureka-drainer/inject=enabled, outside the namespaces the other entry covers', () => {
    const w = byPath('/inject-pod');
    expect(w.objectSelector).toEqual({ matchLabels: { 'eureka-drainer/inject': 'enabled' } });
    expect(w.namespaceSelector?.matchExpressions).toContainEqual({ key: 'eureka-drainer/inject', operator: 'NotIn', values: ['enabled'] });
  });

  test('webhook names are fully qualified and distinct', () => {
    const names = webhooks.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
  });
});
