import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

/**
 * k8s/prometheus-rule.yaml evaluated by Prometheus' own rule engine: `promtool check rules` and
 * `promtool test rules` with the cases in prometheus-rule.promtool.yaml (series in, alerts out).
 * promtool comes with Debian's `prometheus` package; .ci/run installs it. Without it this suite
 * fails under CI=true and is skipped (loudly) elsewhere. PROMTOOL=/path/to/promtool overrides.
 */
const root = resolve(__dirname, '..', '..');
const promtool = process.env.PROMTOOL ?? 'promtool';
const version = spawnSync(promtool, ['--version'], { encoding: 'utf8' });
const available = version.status === 0;
const INSTALL = 'promtool is missing: apt-get install prometheus (Debian/Ubuntu), or set PROMTOOL to a promtool binary';

if (!available && process.env.CI !== 'true') console.warn(`${INSTALL}; skipping the rule evaluation tests (they fail under CI=true)`);

interface AlertRule { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface ExpAlert { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }
interface AlertTest { eval_time: string; alertname: string; exp_alerts: ExpAlert[] }
interface TestCase { name?: string; alert_rule_test?: AlertTest[] }
interface TestFile { rule_files: string[]; tests: TestCase[] }

const manifest = YAML.parse(readFileSync(resolve(root, 'k8s/prometheus-rule.yaml'), 'utf8')) as { spec: { groups: { name: string; rules: AlertRule[] }[] } };
const alerts = manifest.spec.groups.flatMap((g) => g.rules);
const cases = YAML.parse(readFileSync(resolve(__dirname, 'prometheus-rule.promtool.yaml'), 'utf8')) as TestFile;

/** The annotations Prometheus renders for an alert with these labels; the rules use `{{ $labels.x }}` only. */
function render(template: string, labels: Record<string, string>): string {
  const out = template.replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
  if (out.includes('{{')) throw new Error(`template construct this test cannot render: ${template}`);
  return out;
}

function withAnnotations(file: TestFile): TestFile {
  const copy = structuredClone(file);
  for (const tc of copy.tests) {
    for (const t of tc.alert_rule_test ?? []) {
      const rule = alerts.find((a) => a.alert === t.alertname);
      if (!rule) throw new Error(`no alert ${t.alertname} in k8s/prometheus-rule.yaml`);
      for (const e of t.exp_alerts) {
        e.exp_annotations = Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, e.exp_labels ?? {})]));
      }
    }
  }
  return copy;
}

/** Runs promtool on the rules and a test file in a fresh directory. */
function runPromtool(testFile: TestFile): { check: ReturnType<typeof spawnSync>; test: ReturnType<typeof spawnSync> } {
  const dir = mkdtempSync(join(tmpdir(), 'eureka-drainer-rules-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), YAML.stringify({ groups: manifest.spec.groups }));
    writeFileSync(join(dir, 'tests.yaml'), YAML.stringify(testFile));
    return {
      check: spawnSync(promtool, ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' }),
      test: spawnSync(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the cases cover every alert, each firing at least once and quiet at least once', () => {
  const checks = cases.tests.flatMap((tc) => tc.alert_rule_test ?? []);
  for (const { alert } of alerts) {
    const mine = checks.filter((c) => c.alertname === alert);
    expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
    expect({ alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({ alert, quiet: true });
  }
  expect(cases.rule_files).toEqual(['rules.yaml']);
});

(available || process.env.CI === 'true' ? describe : describe.skip)('promtool', () => {
  test('promtool is installed', () => {
    expect({ available, hint: available ? '' : INSTALL }).toEqual({ available: true, hint: '' });
    // Which Prometheus evaluated the rules, for the test log.
    console.info(String(version.stdout).split('\n')[0]);
  });

  test('promtool check rules accepts every expression', () => {
    const { check } = runPromtool(withAnnotations(cases));
    expect({ status: check.status, out: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
  });

  test('promtool test rules: every alert fires on the series it is for, and only then', () => {
    const { test: result } = runPromtool(withAnnotations(cases));
    expect({ status: result.status, out: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('every Grafana dashboard query parses as PromQL (promtool check rules, Grafana variables filled in)', () => {
    const dashboard = JSON.parse(readFileSync(resolve(root, 'k8s/grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr?: string }[]; panels?: unknown[] }[];
      templating: { list: { name: string; type: string; query: unknown }[] };
    };
    const fill = (expr: string): string =>
      expr
        .replace(/^\s*label_values\(([\s\S]*),\s*\w+\s*\)\s*$/, '$1')
        .replace(/\$__rate_interval|\$__interval/g, '1m')
        .replace(/\$__range/g, '6h')
        .replace(/\$(namespace|pod)/g, '.*');
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
      ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => String(v.query)),
    ].filter((e) => e.trim() !== '');
    expect(exprs.length).toBeGreaterThan(20);
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: fill(e) })) }] };
    const dir = mkdtempSync(join(tmpdir(), 'eureka-drainer-dashboard-'));
    try {
      writeFileSync(join(dir, 'dashboard.yaml'), YAML.stringify(rules));
      const check = spawnSync(promtool, ['check', 'rules', 'dashboard.yaml'], { cwd: dir, encoding: 'utf8' });
      expect({ status: check.status, out: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${exprs.length} rules found`) });
      // And the check can fail: a broken expression is refused.
      writeFileSync(join(dir, 'broken.yaml'), YAML.stringify({ groups: [{ name: 'b', rules: [{ record: 'b:x', expr: 'sum by (pod (eureka_drainer_drain_phase)' }] }] }));
      expect(spawnSync(promtool, ['check', 'rules', 'broken.yaml'], { cwd: dir, encoding: 'utf8' }).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the evaluation can fail: expecting silence where an alert fires is reported', () => {
    const wrong = withAnnotations(cases);
    const firing = wrong.tests[0]!.alert_rule_test!.find((t) => t.alertname === 'EurekaDrainerDrainCutShort' && t.exp_alerts.length > 0)!;
    firing.exp_alerts = [];
    const { test: result } = runPromtool(wrong);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('EurekaDrainerDrainCutShort');
  });
});
