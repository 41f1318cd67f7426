import type { ClusterOptions } from '../../../src/check/cluster';
import { CHECK_EXIT, CHECK_USAGE, runCheck } from '../../../src/check/command';
import type { CheckReport, ClusterView } from '../../../src/check/report';
import { ClusterReadError } from '../../../src/errors';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';
import { appOf, drainerOf, FIXTURE_NAMESPACE, nativePod, OPTED_IN_LABELS, uninjectedPod } from './pods';
import type { Pod } from '../../helpers/manifest';

function view(pods: Pod[], extra: Partial<ClusterView> = {}): ClusterView {
  return { pods, namespaceLabels: new Map([[FIXTURE_NAMESPACE, OPTED_IN_LABELS]]), configMaps: new Map(), warnings: [], ...extra };
}

async function run(args: string[], clusterView: ClusterView | Error): Promise<{ code: number; stdout: string; stderr: string; asked: ClusterOptions[] }> {
  let stdout = '';
  let stderr = '';
  const asked: ClusterOptions[] = [];
  const code = await runCheck(args, { write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) }, async (options) => {
    asked.push(options);
    if (clusterView instanceof Error) throw clusterView;
    return clusterView;
  });
  return { code, stdout, stderr, asked };
}

/** `check -o json`'s output (formatJson of the report). */
const reportOf = (stdout: string): CheckReport => JSON.parse(stdout) as CheckReport;

const named = (pod: Pod, name: string): Pod => ((pod.metadata.name = name), pod);
const problemPods = (): Pod[] => {
  const short = named(nativePod(), 'orders-short');
  short.spec.terminationGracePeriodSeconds = 10;
  drainerOf(short).env!.find((e) => e.name === 'DRAINER_GRACE_PERIOD_SECONDS')!.value = '10';
  const hook = named(nativePod(), 'orders-hook');
  delete appOf(hook).lifecycle;
  return [hook, named(uninjectedPod(), 'orders-bare'), short, named(nativePod(), 'orders-ok')];
};

test('the table: one line per problem, sorted by namespace and pod, then the count; exit 1', async () => {
  const r = await run([], view(problemPods()));
  expect(r.code).toBe(CHECK_EXIT.problems);
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^NAMESPACE\s+POD\s+PROBLEM\s+DETAIL$/);
  expect(lines.slice(1, 4).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
    [FIXTURE_NAMESPACE, 'orders-bare', 'no-drainer'],
    [FIXTURE_NAMESPACE, 'orders-hook', 'prestop'],
    [FIXTURE_NAMESPACE, 'orders-short', 'grace'],
  ]);
  // Columns line up: DETAIL starts at the same offset on every line.
  expect(new Set(lines.slice(0, 4).map((l) => l.indexOf(l.includes('DETAIL') ? 'DETAIL' : l.split(/\s{2,}/)[3]!)))).toEqual(new Set([lines[0]!.indexOf('DETAIL')]));
  expect(lines.at(-1)).toBe('checked 4 pods (3 with the drainer): 3 problems in 3 pods');
  expect(r.asked).toEqual([{}]);
});

test('nothing found: only the summary, exit 0', async () => {
  const r = await run([], view([nativePod()]));
  expect(r).toMatchObject({ code: CHECK_EXIT.ok, stdout: 'checked 1 pod (1 with the drainer): no problems\n', stderr: '' });
});

test('--output json: every pod checked, problems or not, and the image compared with', async () => {
  const r = await run(['-o', 'json'], view(problemPods()));
  expect(r.code).toBe(CHECK_EXIT.problems);
  const report = reportOf(r.stdout);
  expect(report.image).toBe(DEFAULT_IMAGE);
  expect(report.problemCount).toBe(3);
  expect(report.pods.map((p) => [p.name, p.coverage, p.drainer, p.problems.map((x) => x.kind)])).toEqual([
    ['orders-bare', 'namespace', 'none', ['no-drainer']],
    ['orders-hook', 'namespace', 'native', ['prestop']],
    ['orders-ok', 'namespace', 'native', []],
    ['orders-short', 'namespace', 'native', ['grace']],
  ]);
  expect((await run(['--output=json'], view([nativePod()]))).code).toBe(CHECK_EXIT.ok);
  // Any case, as every enum setting reads (the webhook's --sidecar Classic, say).
  expect(reportOf((await run(['-o', 'JSON'], view([nativePod()]))).stdout).problemCount).toBe(0);
});

test('the flags reach the reader and the checks', async () => {
  const r = await run(['-n', 'shop', '--context', 'prod', '--kubeconfig=/tmp/kc', '--image', 'registry.example.com/eureka-drainer:0.1.0'], view([nativePod()]));
  expect(r.asked).toEqual([{ namespace: 'shop', context: 'prod', kubeconfig: '/tmp/kc' }]);
  expect(r.code).toBe(CHECK_EXIT.problems);
  expect(r.stdout).toContain(`the drainer runs ${DEFAULT_IMAGE}, not registry.example.com/eureka-drainer:0.1.0`);
  expect((await run(['--namespace=shop'], view([]))).asked).toEqual([{ namespace: 'shop' }]);
});

test('a partial view is said, and is not a clean result: exit 2 when nothing else was found', async () => {
  const warning = 'cannot read the namespaces\' labels (HTTP 403: forbidden)';
  const clean = await run([], view([nativePod()], { warnings: [warning] }));
  expect(clean.code).toBe(CHECK_EXIT.unchecked);
  expect(clean.stdout).toBe(`warning: ${warning}\nchecked 1 pod (1 with the drainer): no problems\n`);
  expect((await run([], view(problemPods(), { warnings: [warning] }))).code).toBe(CHECK_EXIT.problems);
  expect(reportOf((await run(['-o', 'json'], view([], { warnings: [warning] }))).stdout).warnings).toEqual([warning]);
});

test('the cluster could not be read: the reason on stderr, exit 2', async () => {
  const r = await run([], new ClusterReadError('cannot list pods in all namespaces on https://10.0.0.1:443 (context prod): HTTP 403: pods is forbidden'));
  expect(r).toMatchObject({ code: CHECK_EXIT.unchecked, stdout: '' });
  expect(r.stderr).toBe('eureka-drainer check: cannot list pods in all namespaces on https://10.0.0.1:443 (context prod): HTTP 403: pods is forbidden\n');
});

test.each([
  [['--output', 'yaml'], '--output must be one of table, json, got "yaml"'],
  [['-n'], "Option '-n, --namespace <value>' argument missing"],
  [['--context='], '--context must be a context name, got ""'],
  [['-n', '', '--image='], '--namespace must be a namespace, got ""; --image must be an image reference, got ""'],
  [['--all'], "Unknown option '--all'"],
  [['pods'], "Unexpected argument 'pods'. This command does not take positional arguments"],
])('bad usage %j: the problem and the usage on stderr, exit 2, the cluster not read', async (args, problem) => {
  const r = await run(args, view([]));
  expect(r).toMatchObject({ code: CHECK_EXIT.unchecked, stdout: '', asked: [] });
  expect(r.stderr).toBe(`eureka-drainer check: ${problem}\n\n${CHECK_USAGE}\n`);
});

test('--help: the usage on stdout, exit 0, the cluster not read', async () => {
  const r = await run(['--help'], view([]));
  expect(r).toMatchObject({ code: CHECK_EXIT.ok, stdout: `${CHECK_USAGE}\n`, asked: [] });
  expect(CHECK_USAGE).toMatch(/no-drainer, grace, prestop, image, settings/);
});
