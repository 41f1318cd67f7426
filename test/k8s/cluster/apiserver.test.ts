/**
 * Issue 21 A, on the real apiserver (v1.37.2) of the test cluster:
 *
 * 1. Every object in k8s/ (support/shipped-objects.ts) is accepted by `kubectl apply --server-side
 *    --dry-run=server --validate=strict`. Namespaced objects go into this file's namespace; those that name their
 *    own (the webhook's, eureka-drainer-system) are moved into it too: the webhook test creates and deletes that
 *    namespace while it runs, and a dry run's verdict does not depend on the namespace's name. Kinds the cluster
 *    does not serve (cert-manager's Certificate and Issuer, the Prometheus Operator's PodMonitor and
 *    PrometheusRule: no CRDs here) are recorded as not checked by the apiserver, and checked against their
 *    schemas instead (the fast layer, test/k8s/validate-objects.mjs). A deliberately broken copy must be rejected,
 *    so the check can fail.
 * 2. RBAC: as the service account of k8s/pod-deadline-rbac.yaml, the authorizer allows `get` on pods of its
 *    namespace and nothing more (`kubectl auth can-i`, and the rules the apiserver lists for it compared with
 *    those of the same account where the Role is not bound).
 * 3. DRAINER_POD_DEADLINE=true in a pod: the drainer reads its pod with the projected token and CA the kubelet
 *    mounted, and learns a shorter grace from `kubectl delete pod --grace-period`; without the RoleBinding it logs
 *    the RBAC 403 and stays on DRAINER_GRACE_PERIOD_SECONDS (and is SIGKILLed mid-drain, as docs/kubernetes.md warns).
 *    These pods run no JVM: the app container is `sleep` with the manifest's preStop hook, and the Eureka URLs
 *    point at a closed port of the node, so the drain finds no instance and waits out its plan, bounded only by
 *    its deadline — which is what is looked at. short-grace.test.ts (b) shows the same deadline with real Eureka
 *    and traffic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import YAML from 'yaml';
import { validateObjects } from '../../helpers/k8s-schemas';
import { SCALED } from '../../e2e/stack/stack';
import { pollUntil } from '../../e2e/support/poll';
import { apply, assertInCluster, createNamespace, deleteNamespace, kubectl, kubectlRaw, LogFollower, NODE_IP, PodTracker, podFromDeployment, waitPodReady, type Json } from './support/kube';
import { recordResult } from './support/results';
import { dryRunApply, servedKinds, shippedObjects, type ShippedObject } from './support/shipped-objects';
import { HOST_RUNTIME_IMAGE, setEnv } from './support/workloads';

const NS = 'edk8s-api';
/** The same service account, its Role not bound (3: the 403). */
const NS_UNBOUND = 'edk8s-api-unbound';
const ROOT = join(__dirname, '..', '..', '..');
const SERVICE_ACCOUNT = 'orders-drainer';
/** Where pods reach the API: the `kubernetes` Service's ClusterIP, an address of the node (cluster.sh). */
const KUBERNETES_SERVICE = '10.215.0.1:443';
const rbacObjects = (): Json[] => YAML.parseAllDocuments(readFileSync(join(ROOT, 'k8s', 'pod-deadline-rbac.yaml'), 'utf8')).map((d) => d.toJSON() as Json);

beforeAll(async () => {
  assertInCluster();
  await Promise.all([createNamespace(NS), createNamespace(NS_UNBOUND)]);
  await apply(rbacObjects(), NS);
  await apply(rbacObjects().filter((o) => o['kind'] !== 'RoleBinding'), NS_UNBOUND);
}, 200_000);

afterAll(async () => {
  await Promise.all([deleteNamespace(NS), deleteNamespace(NS_UNBOUND)]);
}, 200_000);

const meta = (o: Json): Json => (o['metadata'] ?? {}) as Json;

describe('1. the apiserver accepts every object in k8s/', () => {
  test('kubectl apply --server-side --dry-run=server accepts each object whose kind the cluster serves; the others are valid against their schemas', async () => {
    const shipped = await shippedObjects();
    const served = await servedKinds(shipped.map((s) => String(s.object['apiVersion'])));
    const accepted: string[] = [];
    const rejected: string[] = [];
    const warnings: string[] = [];
    const moved: string[] = [];
    const absent: ShippedObject[] = [];
    for (const { label, object } of shipped) {
      const namespaced = served.get(String(object['apiVersion']))?.get(String(object['kind']));
      if (namespaced === undefined) {
        absent.push({ label, object });
        continue;
      }
      const copy = structuredClone(object);
      if (namespaced && meta(copy)['namespace'] !== undefined) {
        moved.push(`${label}: namespace ${String(meta(copy)['namespace'])} → ${NS}`);
        delete meta(copy)['namespace'];
      }
      const verdict = await dryRunApply(copy, namespaced ? NS : undefined);
      warnings.push(...verdict.warnings.map((w) => `${label}: ${w}`));
      if (verdict.accepted) accepted.push(label);
      else rejected.push(`${label}: ${verdict.message}`);
    }
    const schemas = validateObjects(absent);
    const notChecked = Object.fromEntries(
      absent.map((a, i) => [a.label, `not checked by the apiserver: no such kind (CRD absent); schema: ${schemas[i]!.ok ? 'valid' : `INVALID (${schemas[i]!.error})`}`]),
    );
    console.log(`apiserver dry run: accepted ${accepted.length}:\n  ${accepted.join('\n  ')}\nmoved into ${NS}:\n  ${moved.join('\n  ')}\nwarnings: ${warnings.length === 0 ? 'none' : `\n  ${warnings.join('\n  ')}`}\nnot checked:\n  ${Object.entries(notChecked).map(([k, v]) => `${k}: ${v}`).join('\n  ')}`);
    if (rejected.length > 0) console.error(`REJECTED by the apiserver:\n  ${rejected.join('\n  ')}`);
    recordResult('apiserver dry run of k8s/', { accepted: accepted.length, rejected: rejected.length, warnings, notChecked });
    recordResult('apiserver dry run: accepted objects', { objects: accepted });

    expect(rejected).toEqual([]);
    // What the cluster lacks is exactly the operators' kinds; everything else went through the apiserver.
    expect([...new Set(absent.map((a) => `${String(a.object['apiVersion'])}/${String(a.object['kind'])}`))].sort()).toEqual([
      'cert-manager.io/v1/Certificate',
      'cert-manager.io/v1/Issuer',
      'monitoring.coreos.com/v1/PodMonitor',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    expect(schemas.filter((s) => !s.ok)).toEqual([]);
    // Every file took part: the six top-level files, the webhook's kustomization and what it leaves out, the component.
    const sources = new Set(shipped.map((s) => s.label.split(' ')[0]));
    expect([...sources].sort()).toEqual(['k8s/classic-sidecar.yaml', 'k8s/component', 'k8s/monitoring.yaml', 'k8s/native-sidecar.yaml', 'k8s/owner-mode.yaml', 'k8s/pod-deadline-rbac.yaml', 'k8s/prometheus-rule.yaml', 'k8s/webhook', 'k8s/webhook/monitoring.yaml']);
    expect(accepted.length + absent.length).toBe(shipped.length);
  }, 120_000);

  test('the same check rejects a broken object, with the apiserver’s reason (a bad value; an unknown field)', async () => {
    const deployment = YAML.parse(readFileSync(join(ROOT, 'k8s', 'classic-sidecar.yaml'), 'utf8')) as Json;
    const drainerOf = (d: Json): Json => ((((d['spec'] as Json)['template'] as Json)['spec'] as Json)['containers'] as Json[]).find((c) => c['name'] === 'eureka-drainer')!;

    const badPort = structuredClone(deployment);
    (drainerOf(badPort)['ports'] as Json[])[0]!['containerPort'] = 70000;
    const portVerdict = await dryRunApply(badPort, NS);
    console.log(`broken on purpose (containerPort 70000): ${portVerdict.message}`);
    expect(portVerdict.accepted).toBe(false);
    expect(portVerdict.message).toMatch(/containerPort.*Invalid value: 70000/);

    const unknownField = structuredClone(deployment);
    const hook = ((drainerOf(unknownField)['lifecycle'] as Json)['preStop'] as Json)['httpGet'] as Json;
    hook['headers'] = hook['httpHeaders'];
    delete hook['httpHeaders'];
    const fieldVerdict = await dryRunApply(unknownField, NS);
    console.log(`broken on purpose (httpGet.headers for httpHeaders): ${fieldVerdict.message}`);
    expect(fieldVerdict.accepted).toBe(false);
    expect(fieldVerdict.message).toMatch(/httpGet\.headers: field not declared in schema/);
  }, 60_000);
});

describe(`2. RBAC: ${SERVICE_ACCOUNT} (k8s/pod-deadline-rbac.yaml) may get pods in its namespace and nothing more`, () => {
  const as = (ns: string): string => `--as=system:serviceaccount:${ns}:${SERVICE_ACCOUNT}`;
  /** `kubectl auth can-i` as the service account: true for "yes" (exit 0), false for "no" (exit 1). */
  async function canI(args: readonly string[], ns = NS): Promise<boolean> {
    const r = await kubectlRaw(['auth', 'can-i', ...args, as(ns)]);
    if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.code === 0;
  }

  test('kubectl auth can-i: get pods in its namespace yes; every other verb, subresource, resource and namespace no', async () => {
    const asked: Record<string, boolean> = {};
    const ask = async (args: readonly string[]): Promise<boolean> => (asked[args.join(' ')] = await canI(args));
    expect(await ask(['get', 'pods', '-n', NS])).toBe(true);
    expect(await ask(['get', 'pods/any-name', '-n', NS])).toBe(true);
    const denied = [
      ...['list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'].map((verb) => [verb, 'pods', '-n', NS]),
      ...['log', 'exec', 'status', 'eviction', 'ephemeralcontainers'].map((sub) => ['get', 'pods', `--subresource=${sub}`, '-n', NS]),
      ['create', 'pods', '--subresource=eviction', '-n', NS],
      ['get', 'pods', '-n', 'default'],
      ['get', 'pods', '-n', 'kube-system'],
      ['get', 'pods', '-n', NS_UNBOUND],
      ['get', 'pods', '--all-namespaces'],
      ['get', 'secrets', '-n', NS],
      ['get', 'configmaps', '-n', NS],
      ['get', 'serviceaccounts', '-n', NS],
      ['create', 'serviceaccounts', '--subresource=token', '-n', NS],
      ['get', 'nodes'],
      ['get', 'deployments.apps', '-n', NS],
      ['get', 'roles.rbac.authorization.k8s.io', '-n', NS],
    ];
    for (const args of denied) expect({ args: args.join(' '), allowed: await ask(args) }).toEqual({ args: args.join(' '), allowed: false });
    console.log(`kubectl auth can-i as ${SERVICE_ACCOUNT}: ${JSON.stringify(asked)}`);
    recordResult('RBAC kubectl auth can-i', { allowed: Object.keys(asked).filter((k) => asked[k]), deniedCount: Object.values(asked).filter((v) => !v).length });
  }, 120_000);

  test('the rules the apiserver lists for it are those of any service account plus get on pods, nothing else', async () => {
    const rules = async (ns: string): Promise<Json[]> => {
      const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: ns } };
      // --validate=false: client-side validation would list CRDs, which the account may not.
      const out = JSON.parse(await kubectl(['create', '--validate=false', as(ns), '-f', '-', '-o', 'json'], JSON.stringify(review))) as { status: { resourceRules: Json[]; incomplete: boolean } };
      expect(out.status.incomplete).toBe(false);
      return out.status.resourceRules;
    };
    const key = (r: Json): string => JSON.stringify(r);
    const bound = await rules(NS);
    const baseline = new Set((await rules(NS_UNBOUND)).map(key));
    const extra = bound.filter((r) => !baseline.has(key(r)));
    console.log(`resource rules in ${NS} beyond any service account's: ${JSON.stringify(extra)}; baseline ${JSON.stringify([...baseline])}`);
    expect(extra).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
    // The baseline itself grants nothing on pods.
    expect([...baseline].filter((r) => r.includes('"pods"'))).toEqual([]);
  }, 60_000);
});

describe('3. DRAINER_POD_DEADLINE=true reads the pod through the projected token and CA', () => {
  const GRACE = 30;
  const DELETE_GRACE = 10;
  const token = '/var/run/secrets/kubernetes.io/serviceaccount';

  /**
   * The shipped classic pod as the service account's, with no JVM: the app is `sleep` (the manifest's preStop
   * hook kept), the drainer the lead's image with DRAINER_POD_DEADLINE=true (POD_NAME is already in the manifest).
   */
  function drainerOnlyPod(name: string): { pod: Json; substituted: Record<string, readonly [string | undefined, string]> } {
    const deployment = YAML.parse(readFileSync(join(ROOT, 'k8s', 'classic-sidecar.yaml'), 'utf8')) as Json;
    const pod = podFromDeployment(deployment, name);
    const spec = pod['spec'] as Json;
    const substituted: Record<string, readonly [string | undefined, string]> = {};
    substituted['terminationGracePeriodSeconds'] = [String(spec['terminationGracePeriodSeconds']), String(GRACE)];
    spec['terminationGracePeriodSeconds'] = GRACE;
    spec['serviceAccountName'] = SERVICE_ACCOUNT;
    const containers = spec['containers'] as Json[];
    const app = containers.find((c) => c['name'] === 'app')!;
    const drainer = containers.find((c) => c['name'] === 'eureka-drainer')!;
    substituted['app'] = [String(app['image']), `${HOST_RUNTIME_IMAGE} sleep (preStop kept, no env, no readiness probe)`];
    Object.assign(app, { image: HOST_RUNTIME_IMAGE, imagePullPolicy: 'Never', command: ['/usr/bin/sleep', '3600'], volumeMounts: [{ name: 'node-usr', mountPath: '/usr', readOnly: true }] });
    delete app['env'];
    delete app['readinessProbe'];
    spec['volumes'] = [{ name: 'node-usr', hostPath: { path: '/usr', type: 'Directory' } }];
    drainer['imagePullPolicy'] = 'Never';
    const env: Record<string, string> = {
      DRAINER_POD_DEADLINE: 'true',
      // A closed port of the node: the drain finds no instance and runs to its deadline (see the file comment).
      DRAINER_EUREKA_URLS: `http://${NODE_IP}:1/eureka/`,
      DRAINER_GRACE_PERIOD_SECONDS: String(GRACE),
      DRAINER_APP_SHUTDOWN_SECONDS: '2',
      DRAINER_TAIL_SECONDS: '15',
      EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(SCALED.serverCacheMs),
      EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: String(SCALED.fetchSeconds),
      SPRING_CLOUD_LOADBALANCER_CACHE_TTL: `${SCALED.lbTtlMs}ms`,
    };
    for (const [k, v] of Object.entries(env)) setEnv(drainer, k, v, substituted, 'drainer');
    return { pod, substituted };
  }

  interface Started {
    readonly name: string;
    readonly ns: string;
    readonly drainer: LogFollower;
    readonly pod: Json;
  }

  async function start(ns: string, name: string): Promise<Started> {
    const { pod, substituted } = drainerOnlyPod(name);
    console.log(`${ns}/${name}: substituted from k8s/classic-sidecar.yaml: ${JSON.stringify(substituted)}`);
    await apply([pod], ns);
    await waitPodReady(ns, name, 90_000);
    const drainer = new LogFollower(ns, name, 'eureka-drainer');
    const admitted = JSON.parse(await kubectl(['get', 'pod', name, '-n', ns, '-o', 'json'])) as Json;
    return { name, ns, drainer, pod: admitted };
  }

  /** The volume the ServiceAccount admission plugin added: a projected token (with the CA and namespace), mounted into the drainer. */
  function projectedToken(pod: Json): { volume: string; sources: string[]; mountedInDrainer: boolean } {
    const spec = pod['spec'] as Json;
    const volume = (spec['volumes'] as Json[]).find((v) => ((v['projected'] as Json | undefined)?.['sources'] as Json[] | undefined)?.some((s) => s['serviceAccountToken']));
    const sources = (((volume?.['projected'] as Json | undefined)?.['sources'] as Json[] | undefined) ?? []).map((s) => Object.keys(s)[0]!);
    const drainer = (spec['containers'] as Json[]).find((c) => c['name'] === 'eureka-drainer')!;
    const mountedInDrainer = ((drainer['volumeMounts'] ?? []) as Json[]).some((m) => m['name'] === volume?.['name'] && m['mountPath'] === token);
    return { volume: String(volume?.['name']), sources, mountedInDrainer };
  }

  async function deleteShort(s: Started): Promise<{ deletedAt: number; deleteReturnedAt: number; tracker: PodTracker }> {
    const tracker = new PodTracker(s.ns, s.name);
    const deletedAt = Date.now();
    await kubectl(['delete', 'pod', s.name, '-n', s.ns, `--grace-period=${DELETE_GRACE}`, '--wait=false']);
    const deleteReturnedAt = Date.now();
    await tracker.gone;
    await s.drainer.ended;
    return { deletedAt, deleteReturnedAt, tracker };
  }

  const iso = (line: Json | undefined, field: string): number => Date.parse(String(line?.[field]));

  test(`with the RoleBinding: the startup read works; kubectl delete pod --grace-period=${DELETE_GRACE} cuts the drain to the pod's deletionTimestamp`, async () => {
    const s = await start(NS, 'deadline-bound');
    const mount = projectedToken(s.pod);
    expect(mount).toEqual({ volume: expect.stringMatching(/^kube-api-access-/), sources: ['serviceAccountToken', 'configMap', 'downwardAPI'], mountedInDrainer: true });
    await expect(waitForLine(s.drainer, 'reading the pod works')).resolves.toBeDefined();
    expect(s.drainer.find('DRAINER_POD_DEADLINE: watching the pod')?.['api']).toBe(KUBERNETES_SERVICE);

    const { deletedAt, deleteReturnedAt, tracker } = await deleteShort(s);
    const started = s.drainer.find('drain started');
    const earlier = s.drainer.find('Kubernetes ends the grace period earlier');
    const report = s.drainer.find('drain finished')?.['report'] as Json | undefined;
    const graceEndsAt = iso(earlier, 'graceEndsAt');
    console.log(`deadline-bound: drain started ${JSON.stringify(started)}; earlier ${JSON.stringify(earlier)}; report ${JSON.stringify(report)}; drainer ${JSON.stringify(tracker.terminated('eureka-drainer'))}`);
    expect(s.drainer.find('could not read the pod')).toBeUndefined();
    expect(earlier).toBeDefined();
    // deletionTimestamp = the delete + 10 s, at second precision (it reads up to 1 s early).
    expect(graceEndsAt).toBeGreaterThanOrEqual(deletedAt + DELETE_GRACE * 1000 - 1000);
    expect(graceEndsAt).toBeLessThanOrEqual(deleteReturnedAt + DELETE_GRACE * 1000);
    // The plan the drain started with trusted DRAINER_GRACE_PERIOD_SECONDS (30 s); the pod's end cut it.
    expect(iso(started, 'deadlineAt')).toBeGreaterThan(graceEndsAt);
    expect(report).toBeDefined();
    expect(iso(report, 'deadlineAt')).toBeLessThanOrEqual(graceEndsAt);
    expect(iso(report, 'answeredAt')).toBeLessThanOrEqual(iso(report, 'deadlineAt') + 250);
    expect(tracker.terminated('eureka-drainer')?.['exitCode']).not.toBe(137);
    recordResult('pod deadline with the RoleBinding (drainer-only pod)', {
      startupRead: 'works',
      graceEndsAfterDeleteMs: graceEndsAt - deletedAt,
      plannedDeadlineAfterDeleteMs: iso(started, 'deadlineAt') - deletedAt,
      answeredAfterDeleteMs: iso(report, 'answeredAt') - deletedAt,
      outcome: report!['outcome'],
      drainerExit: tracker.terminated('eureka-drainer')?.['exitCode'],
    });
  }, 180_000);

  test('without the RoleBinding: the drainer logs the RBAC 403 and stays on DRAINER_GRACE_PERIOD_SECONDS (SIGKILLed at the real end)', async () => {
    const s = await start(NS_UNBOUND, 'deadline-unbound');
    expect(projectedToken(s.pod).mountedInDrainer).toBe(true);
    const refused = await waitForLine(s.drainer, 'could not read the pod');
    console.log(`deadline-unbound: ${JSON.stringify(refused)}`);
    expect(refused['level']).toBe('warn');
    expect(refused['kind']).toBe('forbidden');
    const logged = String((refused['err'] as { message?: unknown } | undefined)?.message);
    expect(logged).toContain("RBAC: the drainer's service account needs get on pods");
    // The apiserver's own reason, with the real identity the projected token carried.
    expect(logged).toContain(`User "system:serviceaccount:${NS_UNBOUND}:${SERVICE_ACCOUNT}" cannot get resource "pods"`);
    expect(s.drainer.find('reading the pod works')).toBeUndefined();

    const { deletedAt, tracker } = await deleteShort(s);
    const started = s.drainer.find('drain started');
    console.log(`deadline-unbound: drain started ${JSON.stringify(started)}; drainer ${JSON.stringify(tracker.terminated('eureka-drainer'))}`);
    expect(started).toBeDefined();
    // The deadline stays where DRAINER_GRACE_PERIOD_SECONDS puts it (30 s − app shutdown − margin), past the real end.
    expect(iso(started, 'deadlineAt')).toBeGreaterThan(deletedAt + (DELETE_GRACE + 10) * 1000);
    expect(s.drainer.find('Kubernetes ends the grace period earlier')).toBeUndefined();
    expect(s.drainer.find('drain finished')).toBeUndefined();
    expect(tracker.terminated('eureka-drainer')?.['exitCode']).toBe(137);
    recordResult('pod deadline without the RoleBinding (drainer-only pod)', {
      logged,
      plannedDeadlineAfterDeleteMs: iso(started, 'deadlineAt') - deletedAt,
      drainerExit: tracker.terminated('eureka-drainer')?.['exitCode'],
    });
  }, 180_000);
});

/** The first log line whose msg starts with `msg`, as soon as the follower has it. */
function waitForLine(follower: LogFollower, msg: string, timeoutMs = 30_000): Promise<Json> {
  return pollUntil(`the drainer's log line "${msg}"`, async () => follower.find(msg), timeoutMs, 100);
}
