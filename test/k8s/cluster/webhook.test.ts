/**
 * Issue 21 B on a real cluster: the webhook of k8s/webhook/ (rendered by the real kustomize in kubectl), registered
 * with the real apiserver, which calls it for every pod it admits (no kube-proxy: the apiserver runs with
 * --enable-aggregator-routing=true and dials the Service's endpoints).
 *
 * Substituted, and printed: cert-manager's Issuers and Certificates (absent here) by a CA and a serving certificate
 * made with openssl for the Service's DNS names in the namespace the manifests name, a TLS Secret and the
 * caBundle; imagePullPolicy Never (the image is the one run-tests.sh builds and imports; CLUSTER_WEBHOOK_IMAGE names
 * another, such as a branch's build imported under its own tag). Nothing else: two replicas, the PDB, probes,
 * failurePolicy and selectors are the shipped ones.
 *
 * Proven from what the apiserver stored and what it recorded (its audit log's webhook annotations, its metrics):
 * injection into a Deployment's pods (created by the ReplicaSet controller), into a labelled pod elsewhere, none
 * into opted-out pods, one drainer after a second mutating webhook made the apiserver call us again, one drainer
 * after `kubectl rollout restart`; with the webhook scaled to 0 or its caBundle replaced by another CA's, pods
 * start without the drainer, the apiserver counts apiserver_admission_webhook_fail_open_count for our webhook's
 * name (what EurekaDrainerWebhookFailOpen alerts on), and with the wrong caBundle our webhook logs the rejected
 * handshake at warn.
 *
 * Pods are light (the empty host-runtime image running sleep, /usr from the node): injection is tested, not drains.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import YAML from 'yaml';
import { pollUntil } from '../../e2e/support/poll';
import { apiserverCounter, podCreations, webhookAnnotations } from './support/apiserver';
import { createPod, DRAINER, injectionOf, lightPod, lightPodSpec, waitInjecting } from './support/injection';
import { apply, assertInCluster, createNamespace, deleteNamespace, kubectl, kubectlJson, kubectlRaw, waitPodReady, type Json } from './support/kube';
import { recordResult } from './support/results';
import { TestCa } from './support/tls-ca';
import { HOST_RUNTIME_IMAGE } from './support/workloads';

/**
 * The image the webhook runs (and injects): the manifests' own, which run-tests.sh builds and imports; or, to try a
 * branch's build imported under a tag of its own, that tag in CLUSTER_WEBHOOK_IMAGE.
 */
const IMAGE_OVERRIDE = process.env['CLUSTER_WEBHOOK_IMAGE'] || undefined;
const LABELLED = 'edk8s-wh-labelled';
const PLAIN = 'edk8s-wh-plain';
const MESH = 'edk8s-wh-mesh';
const MESH_CONFIGURATION = 'zz-edk8s-wh-mesh';
const MESH_WEBHOOK = 'mesh.edk8s-wh.test';
const BY_NAMESPACE = 'by-namespace.inject.eureka-drainer';
const BY_POD = 'by-pod.inject.eureka-drainer';
const FAIL_OPEN = 'apiserver_admission_webhook_fail_open_count';
const WEBHOOK_CALLS = 'apiserver_admission_webhook_admission_duration_seconds_count';
const APISERVER_LOG = `${process.env['EUREKA_DRAINER_CLUSTER_DIR'] ?? '/tmp/eureka-drainer-cluster'}/logs/kube-apiserver.log`;

const obj = (v: unknown): Json => (v ?? {}) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** The shipped objects as kustomize renders them, and what the test had to change. */
interface Install {
  /** What the webhook runs; the mesh webhook (a few lines of Node) runs in it too. */
  readonly image: string;
  readonly namespace: string;
  readonly service: string;
  readonly configuration: string;
  readonly deployment: string;
  readonly selector: string;
  readonly dnsNames: readonly string[];
  readonly objects: Json[];
  readonly substituted: string[];
  /** Where the manifests name their namespace in text (k8s/webhook's replacements write its kustomization's `namespace:` there). */
  readonly hardCoded: string[];
}

async function renderInstall(ca: TestCa): Promise<Install> {
  const rendered = YAML.parseAllDocuments(await kubectl(['kustomize', 'k8s/webhook'])).map((d) => d.toJSON() as Json);
  const one = (kind: string): Json => {
    const found = rendered.filter((o) => o['kind'] === kind);
    if (found.length !== 1) throw new Error(`kubectl kustomize k8s/webhook: expected one ${kind}, found ${found.length}`);
    return found[0]!;
  };
  const service = one('Service');
  const namespace = String(obj(service['metadata'])['namespace']);
  const serviceName = String(obj(service['metadata'])['name']);
  // The names the apiserver checks the certificate against: <service>.<namespace>.svc, from the Service as rendered.
  const dnsNames = [`${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`];
  const serving = ca.issue(dnsNames);
  const substituted: string[] = [];
  const hardCoded: string[] = [];

  const objects: Json[] = [];
  for (const o of rendered) {
    const kind = String(o['kind']);
    if (String(o['apiVersion']).startsWith('cert-manager.io/')) {
      const spec = obj(o['spec']);
      if (Array.isArray(spec['dnsNames'])) hardCoded.push(`Certificate ${String(obj(o['metadata'])['name'])} dnsNames ${JSON.stringify(spec['dnsNames'])}`);
      substituted.push(`${kind} ${String(obj(o['metadata'])['name'])}: left out (no cert-manager; openssl CA and certificate instead)`);
      continue;
    }
    objects.push(o);
  }
  const deployment = one('Deployment');
  const pod = obj(obj(deployment['spec'])['template']);
  const containers = arr(obj(pod['spec'])['containers']);
  if (containers.length !== 1) throw new Error(`the webhook Deployment has ${containers.length} containers; expected one`);
  const webhook = containers[0]!;
  const image = IMAGE_OVERRIDE ?? String(webhook['image']);
  substituted.push(`container ${String(webhook['name'])}: imagePullPolicy Never (no registry)${IMAGE_OVERRIDE ? `, image ${String(webhook['image'])} → ${image}` : ''}`);
  webhook['image'] = image;
  webhook['imagePullPolicy'] = 'Never';
  for (const e of arr(webhook['env'])) {
    if (e['name'] === 'WEBHOOK_SIDECAR_IMAGE' && IMAGE_OVERRIDE) {
      substituted.push(`env WEBHOOK_SIDECAR_IMAGE ${String(e['value'])} → ${image}`);
      e['value'] = image;
    }
  }
  const tlsVolume = arr(obj(pod['spec'])['volumes']).find((v) => obj(v['secret'])['secretName'] !== undefined);
  if (!tlsVolume) throw new Error('the webhook Deployment mounts no Secret: where does its certificate come from?');
  const secretName = String(obj(tlsVolume['secret'])['secretName']);
  objects.push({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: secretName, namespace }, stringData: { 'tls.crt': serving.cert, 'tls.key': serving.key } });
  substituted.push(`Secret ${secretName}: made here (openssl, CA ${ca.name}) for ${dnsNames.join(', ')}`);

  const configuration = one('MutatingWebhookConfiguration');
  const annotations = obj(obj(configuration['metadata'])['annotations']);
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith('cert-manager.io/')) continue;
    hardCoded.push(`MutatingWebhookConfiguration annotation ${key}: ${String(annotations[key])}`);
    delete annotations[key];
    substituted.push(`annotation ${key}: removed (the caBundle is set here)`);
  }
  for (const w of arr(configuration['webhooks'])) {
    obj(w['clientConfig'])['caBundle'] = ca.bundle();
    for (const e of arr(obj(w['namespaceSelector'])['matchExpressions'])) {
      if ((e['values'] as unknown[] | undefined)?.includes(namespace)) hardCoded.push(`webhook ${String(w['name'])} namespaceSelector ${String(e['key'])} ${String(e['operator'])} ${JSON.stringify(e['values'])}`);
    }
  }
  substituted.push(`caBundle of every webhook: CA ${ca.name}`);
  const labels = obj(obj(obj(deployment['spec'])['selector'])['matchLabels']);
  return {
    image,
    namespace,
    service: serviceName,
    configuration: String(obj(configuration['metadata'])['name']),
    deployment: String(obj(deployment['metadata'])['name']),
    selector: Object.entries(labels).map(([k, v]) => `${k}=${String(v)}`).join(','),
    dnsNames,
    // The Namespace first: kubectl apply creates in the order given.
    objects: [...objects.filter((o) => o['kind'] === 'Namespace'), ...objects.filter((o) => o['kind'] !== 'Namespace')],
    substituted,
    hardCoded,
  };
}

function lightDeployment(name: string): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: lightPodSpec() } },
  };
}

/** The audit event of the pod's creation: the webhooks the apiserver called, in which round, and whether each mutated. */
async function creationAnnotations(namespace: string, match: (event: Json) => boolean): Promise<Record<string, unknown>> {
  const event = await pollUntil(`the audit event of a pod creation in ${namespace}`, async () => creations(namespace).filter(match).at(-1), 15_000, 200);
  return webhookAnnotations(event);
}

/**
 * The mutating webhooks the apiserver called for one creation, in order, from its audit annotations
 * (`mutation.webhook.admission.k8s.io/round_R_index_I`; the index counts every webhook of every configuration,
 * so it is left out): "round R: <webhook> mutated|unchanged".
 */
function callsOf(annotations: Record<string, unknown>): string[] {
  const calls: { round: number; index: number; text: string }[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    const at = /^mutation\.webhook\.admission\.k8s\.io\/round_(\d+)_index_(\d+)$/.exec(key);
    if (!at) continue;
    const call = obj(value);
    calls.push({ round: Number(at[1]), index: Number(at[2]), text: `round ${at[1]}: ${String(call['webhook'])} ${call['mutated'] === true ? 'mutated' : 'unchanged'}` });
  }
  return calls.sort((a, b) => a.round - b.round || a.index - b.index).map((c) => c.text);
}

const byName = (name: string) => (event: Json): boolean => obj(event['objectRef'])['name'] === name;

/** Our webhook's JSON log lines, from every replica. */
async function webhookLog(install: Install): Promise<Json[]> {
  const text = await kubectl(['logs', '-n', install.namespace, '-l', install.selector, '--tail=-1', '--max-log-requests=10']);
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
}

async function failOpens(webhook: string): Promise<number> {
  return apiserverCounter(FAIL_OPEN, { name: webhook });
}

let ca: TestCa;
let otherCa: TestCa;
/** Audit events before this are an earlier run's (the audit log outlives the namespaces). */
const startedAt = new Date().toISOString();

/** This run's pod creations in `namespace`. */
function creations(namespace: string): Json[] {
  return podCreations(namespace).filter((e) => String(e['requestReceivedTimestamp']) >= startedAt);
}
let install: Install;

beforeAll(async () => {
  assertInCluster();
  ca = new TestCa('edk8s-wh-ca');
  otherCa = new TestCa('edk8s-wh-other-ca');
  install = await renderInstall(ca);
  console.log(`webhook: substituted from k8s/webhook:\n  ${install.substituted.join('\n  ')}`);
  console.log(`webhook: the namespace ${install.namespace} is written by k8s/webhook's replacements into:\n  ${install.hardCoded.join('\n  ')}`);
  // Leftovers of an earlier run of this file only (these names are this task's).
  await kubectlRaw(['delete', 'mutatingwebhookconfiguration', install.configuration, MESH_CONFIGURATION, '--ignore-not-found']);
  await deleteNamespace(install.namespace);
  await Promise.all([createNamespace(LABELLED), createNamespace(PLAIN), createNamespace(MESH)]);
  await kubectl(['label', 'namespace', LABELLED, 'eureka-drainer/inject=enabled']);
  await apply(install.objects);
  await kubectl(['rollout', 'status', `deployment/${install.deployment}`, '-n', install.namespace, '--timeout=150s'], undefined, 160_000);
  await waitInjecting(LABELLED, true);
}, 300_000);

afterAll(async () => {
  await kubectlRaw(['delete', 'mutatingwebhookconfiguration', install?.configuration ?? 'eureka-drainer', MESH_CONFIGURATION, '--ignore-not-found']);
  // The injected drainers would drain (into a Eureka that is not there) until their grace ends: not needed here.
  await Promise.all([LABELLED, PLAIN, MESH].map((ns) => kubectlRaw(['delete', 'pods', '--all', '-n', ns, '--grace-period=0', '--force'])));
  await Promise.all([LABELLED, PLAIN, MESH, ...(install ? [install.namespace] : [])].map((ns) => deleteNamespace(ns)));
  ca?.dispose();
  otherCa?.dispose();
}, 200_000);

describe('the webhook of k8s/webhook, called by the real apiserver', () => {
  test('a Deployment in a labelled namespace: the ReplicaSet controller creates the pod, the apiserver calls us, one drainer', async () => {
    const callsBefore = await apiserverCounter(WEBHOOK_CALLS, { name: BY_NAMESPACE, operation: 'CREATE', type: 'admit' });
    await apply([lightDeployment('injected')], LABELLED);
    const pod = await pollUntil('the pod of deployment/injected', async () => arr((await kubectlJson(['get', 'pods', '-n', LABELLED, '-l', 'app=injected']))['items'])[0], 60_000, 250);
    const injection = injectionOf(pod);
    expect(injection.drainers).toBe(1);
    expect(injection.marker).toBeDefined();
    expect(injection.preStop).toMatchObject({ httpGet: { path: '/prestop' } });
    expect(arr(obj(pod['metadata'])['ownerReferences']).map((o) => o['kind'])).toEqual(['ReplicaSet']);
    // Created by the ReplicaSet controller, and the apiserver recorded calling our webhook, which mutated it.
    const name = String(obj(pod['metadata'])['name']);
    const event = await pollUntil('the audit event', async () => creations(LABELLED).find((e) => String(obj(e['user'])['username']).endsWith(':replicaset-controller') && JSON.stringify(webhookAnnotations(e)).includes(BY_NAMESPACE)), 15_000, 200);
    // Round 1: the apiserver calls us again after its own plugins (the ServiceAccount token mount) changed the pod
    // we changed; we answer "already injected".
    expect(callsOf(webhookAnnotations(event))).toEqual([`round 0: ${BY_NAMESPACE} mutated`, `round 1: ${BY_NAMESPACE} unchanged`]);
    expect(await apiserverCounter(WEBHOOK_CALLS, { name: BY_NAMESPACE, operation: 'CREATE', type: 'admit' })).toBeGreaterThan(callsBefore);
    // The webhook's own record of it; the Deployment itself stays as written (pods only).
    const lines = await webhookLog(install);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'injected the drainer', route: 'namespace', namespace: LABELLED, kind: 'Pod' }));
    const template = obj(obj((await kubectlJson(['get', 'deployment', 'injected', '-n', LABELLED]))['spec'])['template']);
    expect(injectionOf(template).drainers).toBe(0);
    const drainerMounts = arr([...arr(obj(pod['spec'])['initContainers']), ...arr(obj(pod['spec'])['containers'])].find((c) => c['name'] === DRAINER)?.['volumeMounts']).map((m) => String(m['mountPath']));
    console.log(`deployment/injected: pod ${name} containers ${JSON.stringify(injection.containers)}, marker ${injection.marker}, drainer mounts ${JSON.stringify(drainerMounts)}`);
    recordResult('webhook: Deployment in a labelled namespace', { pod: name, containers: injection.containers, apiserver: callsOf(webhookAnnotations(event)) });
  });

  test('a labelled pod in an unlabelled namespace is injected (by-pod); an unlabelled one there is not sent', async () => {
    const labelled = injectionOf(await createPod(PLAIN, lightPod('labelled', { 'eureka-drainer/inject': 'enabled' })));
    const unlabelled = injectionOf(await createPod(PLAIN, lightPod('unlabelled')));
    expect(labelled.drainers).toBe(1);
    expect(unlabelled.drainers).toBe(0);
    expect(callsOf(await creationAnnotations(PLAIN, byName('labelled')))).toEqual([`round 0: ${BY_POD} mutated`, `round 1: ${BY_POD} unchanged`]);
    expect(callsOf(await creationAnnotations(PLAIN, byName('unlabelled')))).toEqual([]);
    recordResult('webhook: labelled pod elsewhere', { labelled: labelled.drainers, unlabelled: unlabelled.drainers });
  });

  test('opted-out pods in the labelled namespace: by label never sent, by annotation sent and left unchanged', async () => {
    const byLabel = injectionOf(await createPod(LABELLED, lightPod('out-by-label', { 'eureka-drainer/inject': 'disabled' })));
    const byAnnotation = injectionOf(await createPod(LABELLED, lightPod('out-by-annotation', {}, { 'eureka-drainer/inject': 'disabled' })));
    expect(byLabel.drainers).toBe(0);
    expect(byAnnotation.drainers).toBe(0);
    expect(callsOf(await creationAnnotations(LABELLED, byName('out-by-label')))).toEqual([]);
    expect(callsOf(await creationAnnotations(LABELLED, byName('out-by-annotation')))).toEqual([`round 0: ${BY_NAMESPACE} unchanged`]);
    recordResult('webhook: opted-out pods', { byLabel: byLabel.drainers, byAnnotation: byAnnotation.drainers });
  });

  test('reinvocationPolicy IfNeeded: a second webhook adds a container after us, the apiserver calls us again, one drainer', async () => {
    await deployMesh();
    const pod = await createPod(LABELLED, lightPod('meshed', { 'edk8s-wh/mesh': 'wanted' }));
    const injection = injectionOf(pod);
    expect(injection.drainers).toBe(1);
    expect(injection.containers).toContain('mesh-proxy');
    // Ours first (its configuration's name sorts first), then the mesh's, which changed the pod after us; then
    // ours again, which found its drainer and changed nothing.
    expect(callsOf(await creationAnnotations(LABELLED, byName('meshed')))).toEqual([`round 0: ${BY_NAMESPACE} mutated`, `round 0: ${MESH_WEBHOOK} mutated`, `round 1: ${BY_NAMESPACE} unchanged`]);
    const meshSaw = (await kubectl(['logs', '-n', MESH, 'mesh'])).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
    expect(meshSaw.at(-1)).toMatchObject({ containers: ['app'], init: [DRAINER], patched: true });
    await kubectl(['delete', 'mutatingwebhookconfiguration', MESH_CONFIGURATION]);
    console.log(`meshed: containers ${JSON.stringify(injection.containers)}`);
    recordResult('webhook: reinvoked after a second webhook', { containers: injection.containers, rounds: 'ours mutated, mesh mutated, ours again unchanged' });
  });

  test('kubectl rollout restart of the injected Deployment: the new pod has one drainer', async () => {
    const before = arr((await kubectlJson(['get', 'pods', '-n', LABELLED, '-l', 'app=injected']))['items']).map((p) => String(obj(p['metadata'])['name']));
    await kubectl(['rollout', 'restart', 'deployment/injected', '-n', LABELLED]);
    const fresh = await pollUntil('a pod of the restarted template', async () => arr((await kubectlJson(['get', 'pods', '-n', LABELLED, '-l', 'app=injected']))['items']).find((p) => !before.includes(String(obj(p['metadata'])['name']))), 60_000, 250);
    const injection = injectionOf(fresh);
    expect(injection.drainers).toBe(1);
    expect(obj(obj(fresh['metadata'])['annotations'])['kubectl.kubernetes.io/restartedAt']).toBeDefined();
    recordResult('webhook: rollout restart', { pod: String(obj(fresh['metadata'])['name']), drainers: injection.drainers });
  });

  test('the webhook scaled to 0: the pod starts without the drainer (failurePolicy Ignore), the apiserver counts a fail-open', async () => {
    await kubectl(['scale', `deployment/${install.deployment}`, '-n', install.namespace, '--replicas=0']);
    await pollUntil('no webhook pod left', async () => (arr((await kubectlJson(['get', 'pods', '-n', install.namespace, '-l', install.selector]))['items']).length === 0 ? true : undefined), 90_000, 500);
    const before = await failOpens(BY_NAMESPACE);
    const injection = injectionOf(await createPod(LABELLED, lightPod('while-down')));
    const running = await waitPodReady(LABELLED, 'while-down', 60_000);
    const after = await failOpens(BY_NAMESPACE);
    expect(injection.drainers).toBe(0);
    expect(running.ready).toBe(true);
    expect(after).toBe(before + 1);
    const annotations = await creationAnnotations(LABELLED, byName('while-down'));
    expect(Object.keys(annotations)).toContain('failed-open.mutation.webhook.admission.k8s.io/round_0_index_0');
    console.log(`while-down: ${FAIL_OPEN}{name="${BY_NAMESPACE}"} ${before} → ${after}; audit ${JSON.stringify(annotations)}`);
    recordResult('webhook: scaled to 0', { drainers: injection.drainers, failOpenBefore: before, failOpenAfter: after });
    await kubectl(['scale', `deployment/${install.deployment}`, '-n', install.namespace, '--replicas=2']);
    await kubectl(['rollout', 'status', `deployment/${install.deployment}`, '-n', install.namespace, '--timeout=120s'], undefined, 130_000);
    await waitInjecting(LABELLED, true);
  }, 300_000);

  test("the caBundle replaced by another CA's: uninjected, counted by the apiserver, x509 in its log, our warn line", async () => {
    const apiserverLogFrom = statSync(APISERVER_LOG).size;
    const since = new Date().toISOString();
    await setCaBundle(otherCa.bundle());
    // The apiserver picks the new caBundle up from its informer: dry runs until it stops trusting us.
    await waitInjecting(LABELLED, false);
    const before = await failOpens(BY_NAMESPACE);
    const injection = injectionOf(await createPod(LABELLED, lightPod('distrusted')));
    const after = await failOpens(BY_NAMESPACE);
    expect(injection.drainers).toBe(0);
    expect(after).toBe(before + 1);
    const x509 = readFileSync(APISERVER_LOG).subarray(apiserverLogFrom).toString('utf8').split('\n').filter((l) => l.includes('x509: certificate signed by unknown authority'));
    expect(x509.length).toBeGreaterThan(0);
    const warn = await pollUntil('the webhook warn line', async () => (await webhookLog(install)).find((l) => l['msg'] === 'TLS handshake rejected by the caller' && String(l['time']) >= since), 30_000, 500);
    expect(warn).toMatchObject({ level: 'warn', peer: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+:\d+$/), reason: expect.stringMatching(/bad certificate|unknown ca/), hint: expect.stringContaining('caBundle') });
    // The operator's check (the built CLI, dist/ from `npm run image`) finds the pod that came out uninjected.
    const checked = spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'dist', 'main.js'), 'check', '-n', LABELLED, '-o', 'json'], { encoding: 'utf8' });
    const listed = (JSON.parse(checked.stdout) as { pods: { name: string; problems: { kind: string }[] }[] }).pods.find((p) => p.name === 'distrusted');
    expect(checked.status).toBe(1);
    expect(listed?.problems.map((p) => p.kind)).toEqual(['no-drainer']);
    console.log(`distrusted: ${FAIL_OPEN}{name="${BY_NAMESPACE}"} ${before} → ${after}; apiserver: ${x509[0]!.slice(0, 300)}; webhook: ${JSON.stringify(warn)}; check: exit ${checked.status}, ${JSON.stringify(listed)}`);
    recordResult('webhook: caBundle of another CA', { drainers: injection.drainers, failOpenBefore: before, failOpenAfter: after, apiserverX509Lines: x509.length, webhookWarn: { peer: warn['peer'], reason: warn['reason'] }, checkExit: checked.status, checkProblems: listed?.problems.map((p) => p.kind) });
    await setCaBundle(ca.bundle());
    await waitInjecting(LABELLED, true);
  }, 180_000);
});

async function setCaBundle(bundle: string): Promise<void> {
  const current = await kubectlJson(['get', 'mutatingwebhookconfiguration', install.configuration]);
  const patch = arr(current['webhooks']).map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle }));
  await kubectl(['patch', 'mutatingwebhookconfiguration', install.configuration, '--type=json', '-p', JSON.stringify(patch)]);
}

/**
 * A second mutating webhook, as a mesh's injector: a few lines of Node (in the product image, which has node) that
 * add a `mesh-proxy` container to pods labelled edk8s-wh/mesh=wanted in the labelled namespace. Its configuration's
 * name sorts after ours, so the apiserver calls it after us; it changes the pod, so the apiserver calls us again.
 * failurePolicy Fail: the test must know it ran.
 */
async function deployMesh(): Promise<void> {
  const serving = ca.issue([`mesh.${MESH}.svc`]);
  const proxy = { name: 'mesh-proxy', image: HOST_RUNTIME_IMAGE, imagePullPolicy: 'Never', command: ['/usr/bin/sleep', '3600'], volumeMounts: [{ name: 'usr', mountPath: '/usr', readOnly: true }] };
  const script = `
const https = require('node:https');
const fs = require('node:fs');
const proxy = ${JSON.stringify(proxy)};
https.createServer({ cert: fs.readFileSync('/tls/tls.crt'), key: fs.readFileSync('/tls/tls.key') }, (req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const request = JSON.parse(body).request;
    const containers = request.object.spec.containers || [];
    const patch = containers.some((c) => c.name === proxy.name) ? [] : [{ op: 'add', path: '/spec/containers/-', value: proxy }];
    const response = { uid: request.uid, allowed: true };
    if (patch.length > 0) Object.assign(response, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
    console.log(JSON.stringify({ uid: request.uid, containers: containers.map((c) => c.name), init: (request.object.spec.initContainers || []).map((c) => c.name), patched: patch.length > 0 }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  });
}).listen(8443);
`;
  const labels = { app: 'mesh' };
  await apply([
    { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'mesh-tls' }, stringData: { 'tls.crt': serving.cert, 'tls.key': serving.key } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'mesh', labels },
      spec: {
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
        containers: [
          {
            name: 'mesh',
            image: install.image,
            imagePullPolicy: 'Never',
            command: ['/usr/local/bin/node', '-e', script],
            ports: [{ name: 'https', containerPort: 8443 }],
            readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
            volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }],
          },
        ],
        volumes: [{ name: 'tls', secret: { secretName: 'mesh-tls' } }],
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'mesh' }, spec: { selector: labels, ports: [{ name: 'https', port: 443, targetPort: 'https' }] } },
  ], MESH);
  await waitPodReady(MESH, 'mesh', 60_000);
  await apply([
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: MESH_CONFIGURATION },
      webhooks: [
        {
          name: MESH_WEBHOOK,
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          reinvocationPolicy: 'Never',
          timeoutSeconds: 5,
          clientConfig: { service: { name: 'mesh', namespace: MESH, path: '/mutate', port: 443 }, caBundle: ca.bundle() },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': LABELLED } },
          objectSelector: { matchLabels: { 'edk8s-wh/mesh': 'wanted' } },
        },
      ],
    },
  ]);
  // Registered once a dry-run pod of that label comes out with the proxy.
  await pollUntil('the mesh webhook called', async () => {
    const pod = { ...lightPod('probe'), metadata: { generateName: 'probe-', labels: { 'edk8s-wh/mesh': 'wanted' } } };
    const created = JSON.parse(await kubectl(['create', '--dry-run=server', '-n', LABELLED, '-o', 'json', '-f', '-'], JSON.stringify(pod))) as Json;
    return injectionOf(created).containers.includes('mesh-proxy') ? true : undefined;
  }, 60_000, 500);
}
