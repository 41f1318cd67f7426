/**
 * Issue 21 C, on the real cluster: `node dist/main.js check` (the built CLI, @kubernetes/client-node reading the
 * kubeconfig cluster.sh exec sets) finds one pod of each kind, and nothing in a namespace where all is well:
 *
 *   edk8s-chk-clean (labelled eureka-drainer/inject=enabled): an injected pod (ok) and an opted-out pod → exit 0;
 *   edk8s-chk-in    (labelled): a pod without the drainer, one whose grace is too short for the plan its drainer
 *                   reads from a ConfigMap (read through the API), one whose app preStop sleeps instead, one whose
 *                   drainer runs another image → exit 1, one table line each;
 *   edk8s-chk-out   (not labelled): a pod labelled eureka-drainer/inject=enabled without the drainer (found) and
 *                   a plain pod (not looked at).
 *
 * Then the way users reach clusters: a kubeconfig whose user is an exec credential plugin (as EKS's
 * `aws eks get-token`) handing out a ServiceAccount token bound to a read-only ClusterRole (the permissions
 * docs/kubernetes.md lists), picked with --context from a kubeconfig whose current context is broken; and a ServiceAccount
 * that may not read namespaces, which gets a warning and exit 2 rather than a clean result.
 *
 * Pods are light (sleep in the host-runtime image; the drainers are the imported release image, injected by the
 * product's injector: test/k8s/cluster/support/check-pods.ts). They only have to exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import YAML from 'yaml';
import { appOf, drainerOf, injectedPod, sleepingPod } from './support/check-pods';
import { apply, assertInCluster, createNamespace, deleteNamespace, kubectl, kubectlJson, kubectlRaw, type Json } from './support/kube';
import { pollUntil } from '../../e2e/support/poll';
import { recordResult } from './support/results';
import { HOST_RUNTIME_IMAGE } from './support/workloads';
import type { PodCheck } from '../../../src/check/pod-check';
import type { CheckReport } from '../../../src/check/report';

const ROOT = resolve(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'main.js');
const CLEAN = 'edk8s-chk-clean';
const IN = 'edk8s-chk-in';
const OUT = 'edk8s-chk-out';
const READER = 'edk8s-chk-reader';
const OPT_IN = { 'eureka-drainer/inject': 'enabled' };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function check(args: readonly string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, 'check', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The table's lines as [namespace, pod, problem]. */
function rows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => /^edk8s-chk-/.test(l))
    .map((l) => l.split(/\s{2,}/).slice(0, 3));
}

/** `check -o json`'s output (formatJson of the report). */
const reportOf = (stdout: string): CheckReport => JSON.parse(stdout) as CheckReport;
const mine = (report: CheckReport): PodCheck[] => report.pods.filter((p) => String(p.namespace).startsWith('edk8s-chk-'));

beforeAll(async () => {
  assertInCluster();
  // The CLI under test is the built one.
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  for (const ns of [CLEAN, IN, OUT]) await createNamespace(ns);
  await kubectl(['label', 'namespace', CLEAN, IN, 'eureka-drainer/inject=enabled']);

  await apply([injectedPod('ok'), sleepingPod('opted-out', { labels: { 'eureka-drainer/inject': 'disabled' } })], CLEAN);

  const grace = injectedPod('grace-short');
  // The drainer reads a 300 s tail from a ConfigMap: the plan needs more than the injected grace period.
  drainerOf(grace).envFrom = [{ configMapRef: { name: 'grace-short-drainer' } }];
  const prestop = injectedPod('prestop-elsewhere');
  appOf(prestop).lifecycle = { preStop: { exec: { command: ['/usr/bin/sleep', '5'] } } };
  const image = injectedPod('other-image');
  const otherDrainer = drainerOf(image);
  Object.assign(otherDrainer, { image: HOST_RUNTIME_IMAGE, command: ['/usr/bin/sleep', '3600'], volumeMounts: [{ name: 'usr', mountPath: '/usr', readOnly: true }] });
  delete otherDrainer.startupProbe;
  delete otherDrainer.readinessProbe;
  await apply(
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'grace-short-drainer' }, data: { DRAINER_TAIL_SECONDS: '300' } },
      sleepingPod('no-drainer'),
      grace,
      prestop,
      image,
    ],
    IN,
  );
  await apply([sleepingPod('labelled', { labels: OPT_IN }), sleepingPod('plain')], OUT);
}, 240_000);

afterAll(async () => {
  for (const ns of [CLEAN, IN, OUT]) await kubectlRaw(['delete', 'pods', '--all', '-n', ns, '--grace-period=0', '--force']);
  await kubectlRaw(['delete', 'clusterrolebinding,clusterrole', READER, '--ignore-not-found']);
  for (const ns of [CLEAN, IN, OUT]) await deleteNamespace(ns);
}, 300_000);

test('a namespace where all is well: exit 0, the injected pod checked, the opted-out one not', () => {
  const table = check(['-n', CLEAN]);
  expect(table).toEqual({ code: 0, stdout: 'checked 1 pod (1 with the drainer): no problems\n', stderr: '' });
  const json = check(['-n', CLEAN, '-o', 'json']);
  expect(json.code).toBe(0);
  expect(reportOf(json.stdout).pods).toEqual([{ namespace: CLEAN, name: 'ok', coverage: 'namespace', drainer: 'native', problems: [], notes: [] }]);
  recordResult('check: a clean opted-in namespace', { exit: table.code, summary: table.stdout.trim() });
});

test('one pod of each kind: exit 1, one table line each, the reasons in the JSON', () => {
  const table = check(['-n', IN]);
  expect(table.stderr).toBe('');
  expect(table.code).toBe(1);
  expect(rows(table.stdout)).toEqual([
    [IN, 'grace-short', 'grace'],
    [IN, 'no-drainer', 'no-drainer'],
    [IN, 'other-image', 'image'],
    [IN, 'prestop-elsewhere', 'prestop'],
  ]);
  expect(table.stdout).toMatch(/checked 4 pods \(3 with the drainer\): 4 problems in 4 pods\n$/);

  const json = check(['-n', IN, '--output', 'json']);
  expect(json.code).toBe(1);
  const byName = Object.fromEntries(reportOf(json.stdout).pods.map((p) => [p.name, p]));
  // The injected 138 s planned the default 10 s tail; the ConfigMap's 300 s makes it 290 s more (427.5 s, rounded up).
  expect(byName['grace-short']!.problems[0]!.message).toMatch(/^terminationGracePeriodSeconds 138 is shorter than the 428s the drain needs/);
  expect(byName['no-drainer']!.problems[0]!.message).toMatch(/the webhook refuses it \(the drainer would not know the Eureka servers/);
  expect(byName['other-image']!.problems[0]!.message).toBe(`the drainer runs ${HOST_RUNTIME_IMAGE}, not ghcr.io/eureka-drainer/eureka-drainer:0.1.0`);
  expect(byName['prestop-elsewhere']!.problems[0]!.message).toBe("app container app's preStop (exec /usr/bin/sleep 5) does not call the drainer's /prestop on port 8787");
  recordResult('check: one pod of each kind', { exit: table.code, rows: rows(table.stdout).map((r) => `${r[1]}: ${r[2]}`) });
});

test('all namespaces (the default): a labelled pod elsewhere is found, a plain one is not looked at', () => {
  const json = check(['-o', 'json']);
  expect(json.code).toBe(1);
  const found = mine(reportOf(json.stdout)).map((p) => [p.namespace, p.name, p.coverage, p.problems.map((x) => x.kind).join(',')]);
  expect(found).toEqual([
    [CLEAN, 'ok', 'namespace', ''],
    [IN, 'grace-short', 'namespace', 'grace'],
    [IN, 'no-drainer', 'namespace', 'no-drainer'],
    [IN, 'other-image', 'namespace', 'image'],
    [IN, 'prestop-elsewhere', 'namespace', 'prestop'],
    [OUT, 'labelled', 'pod', 'no-drainer'],
  ]);
  recordResult('check: all namespaces', { exit: json.code, found: found.map((f) => `${f[0]}/${f[1]}: ${f[3] || 'ok'}`) });
});

test("what cannot be read: exit 2 and the apiserver's or the kubeconfig's reason", () => {
  const missing = check(['-n', 'edk8s-chk-missing']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/^eureka-drainer check: namespace edk8s-chk-missing not found on https:\/\//);
  const context = check(['--context', 'nope']);
  expect(context.code).toBe(2);
  expect(context.stderr).toMatch(/^eureka-drainer check: context "nope" is not in the kubeconfig; its contexts: /);
});

/** A kubeconfig for the cluster whose user is an exec credential plugin printing `token`; current context broken. */
async function execKubeconfig(token: string): Promise<{ file: string; calls: string }> {
  const admin = await kubectlJson<Json>(['config', 'view', '--raw', '--minify']);
  const cluster = (admin.clusters as Json[])[0]!.cluster as Json;
  const dir = mkdtempSync(join(tmpdir(), 'edk8s-chk-'));
  const calls = join(dir, 'calls');
  const plugin = join(dir, 'get-token');
  const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } };
  writeFileSync(plugin, `#!/bin/sh\necho called >> '${calls}'\ncat <<'EOF'\n${JSON.stringify(credential)}\nEOF\n`);
  chmodSync(plugin, 0o755);
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'edk8s', cluster },
        { name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } },
      ],
      users: [{ name: 'checker', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }],
      contexts: [
        { name: 'broken', context: { cluster: 'nowhere', user: 'checker' } },
        { name: 'checker', context: { cluster: 'edk8s', user: 'checker' } },
      ],
      'current-context': 'broken',
    }),
  );
  return { file, calls };
}

/** The permissions docs/kubernetes.md lists for the command, nothing but get and list, for the service account `checker`. */
async function applyReader(): Promise<void> {
  await apply([
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: READER },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      ],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: READER }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: READER }, subjects: [{ kind: 'ServiceAccount', name: 'checker', namespace: IN }] },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'checker', namespace: IN } },
  ]);
}

test('an exec credential plugin, a context picked with --context, and only read permissions', async () => {
  await applyReader();
  const token = (await kubectl(['create', 'token', 'checker', '-n', IN, '--duration=10m'])).trim();
  const { file, calls } = await execKubeconfig(token);
  // Only KUBECONFIG: the admin's file is out of the way, as on a user's machine.
  const env = { KUBECONFIG: file };

  const broken = check(['-n', IN], env);
  expect(broken.code).toBe(2);
  expect(broken.stderr).toMatch(/^eureka-drainer check: cannot read namespace edk8s-chk-in on https:\/\/127\.0\.0\.1:1 \(context broken\)/);

  const viaPlugin = check(['--context', 'checker', '-n', IN, '-o', 'json'], env);
  expect(viaPlugin.stderr).toBe('');
  expect(viaPlugin.code).toBe(1);
  expect(reportOf(viaPlugin.stdout).pods.map((p) => `${p.name}: ${p.problems.map((x) => x.kind).join(',')}`)).toEqual([
    'grace-short: grace',
    'no-drainer: no-drainer',
    'other-image: image',
    'prestop-elsewhere: prestop',
  ]);
  expect(existsSync(calls) && readFileSync(calls, 'utf8').length).toBeGreaterThan(0);
  // The same as the admin sees: the ConfigMap was read with only `get` on configmaps.
  expect(reportOf(viaPlugin.stdout).pods).toEqual(reportOf(check(['-n', IN, '-o', 'json']).stdout).pods);

  const all = check(['--context', 'checker'], env);
  expect(all.code).toBe(1);
  expect(rows(all.stdout).map((r) => r[1])).toEqual(expect.arrayContaining(['grace-short', 'no-drainer', 'other-image', 'prestop-elsewhere', 'labelled']));
  recordResult('check: exec credential plugin, read-only ClusterRole', { exit: viaPlugin.code, pluginCalls: readFileSync(calls, 'utf8').trim().split('\n').length });
});

test('in a pod: the in-cluster configuration (the service account’s projected token and CA) gives the same answer', async () => {
  await applyReader();
  const image = process.env['EUREKA_DRAINER_TEST_IMAGE'] ?? `ghcr.io/eureka-drainer/eureka-drainer:${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;
  // The product image's own entrypoint (node /app/dist/main.js) with the check's arguments.
  await apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'in-cluster-check' },
      spec: { serviceAccountName: 'checker', restartPolicy: 'Never', containers: [{ name: 'check', image, imagePullPolicy: 'Never', args: ['check', '-n', IN, '-o', 'json'] }] },
    },
  ], IN);
  const exitCode = await pollUntil('the in-cluster check to finish', async () => {
    const pod = await kubectlJson(['get', 'pod', 'in-cluster-check', '-n', IN]);
    const state = (((pod.status as Json)?.containerStatuses as Json[] | undefined)?.[0]?.state as Json | undefined)?.terminated as Json | undefined;
    return state === undefined ? undefined : Number(state.exitCode);
  }, 120_000, 500);
  const output = await kubectl(['logs', 'in-cluster-check', '-n', IN]);
  const others = (report: Json): Json[] => (report.pods as Json[]).filter((p) => p.name !== 'in-cluster-check');
  console.log(`in-cluster check: exit ${exitCode}; ${output.slice(0, 400)}`);
  expect(exitCode).toBe(1);
  expect(others(JSON.parse(output) as Json)).toEqual(others(JSON.parse(check(['-n', IN, '-o', 'json']).stdout) as Json));
  await kubectlRaw(['delete', 'pod', 'in-cluster-check', '-n', IN, '--grace-period=0', '--force']);
  recordResult('check: in a pod, in-cluster configuration', { exit: exitCode });
}, 180_000);

test('may not read namespaces: a warning, the pods with the drainer still checked, and exit 2 rather than a clean 0', async () => {
  await apply([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pods-only' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pods-only' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'pods-only' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pods-only' }, subjects: [{ kind: 'ServiceAccount', name: 'pods-only', namespace: CLEAN }] },
  ], CLEAN);
  const token = (await kubectl(['create', 'token', 'pods-only', '-n', CLEAN, '--duration=10m'])).trim();
  const { file } = await execKubeconfig(token);
  const r = check(['--context', 'checker', '-n', CLEAN], { KUBECONFIG: file });
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(/^warning: cannot read the namespaces' labels \(HTTP 403: namespaces "edk8s-chk-clean" is forbidden: User "system:serviceaccount:edk8s-chk-clean:pods-only" cannot get resource "namespaces"/);
  expect(r.stdout).toMatch(/checked 1 pod \(1 with the drainer\): no problems\n$/);
  recordResult('check: no permission to read namespaces', { exit: r.code, warning: r.stdout.split('\n')[0] });
});
