import { expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { coverage, promtool, promtoolAvailable, promtoolVersion, PROMTOOL_INSTALL, runPromtool, withAnnotations, type RuleGroup, type TestFile } from '../helpers/promtool';

/**
 * k8s/prometheus-rule.yaml evaluated by Prometheus' own rule engine: `promtool check rules` and
 * `promtool test rules` with the cases in prometheus-rule.promtool.yaml (series in, alerts out).
 * promtool comes with Debian's `prometheus` package; .ci/run installs it. Without it this suite
 * fails, first test naming what to install, in CI and elsewhere. PROMTOOL=/path/to/promtool overrides.
 */
const root = resolve(__dirname, '..', '..');
const available = promtoolAvailable;
const version = promtoolVersion;
const INSTALL = PROMTOOL_INSTALL;

const manifest = YAML.parse(readFileSync(resolve(root, 'k8s/prometheus-rule.yaml'), 'utf8')) as { spec: { groups: RuleGroup[] } };
const alerts = manifest.spec.groups.flatMap((g) => g.rules);
const cases = YAML.parse(readFileSync(resolve(__dirname, 'prometheus-rule.promtool.yaml'), 'utf8')) as TestFile;

test('the cases cover every alert, each firing at least once and quiet at least once', () => {
  expect(coverage(alerts, cases)).toEqual(alerts.map(({ alert }) => ({ alert, fires: true, quiet: true })));
  expect(cases.rule_files).toEqual(['rules.yaml']);
});

describe('promtool', () => {
  test('promtool is installed', () => {
    expect({ available, hint: available ? '' : INSTALL }).toEqual({ available: true, hint: '' });
    // Which Prometheus evaluated the rules, for the test log.
    console.info(String(version.stdout).split('\n')[0]);
  });

  test('promtool check rules accepts every expression', () => {
    const { check } = runPromtool(manifest.spec.groups, withAnnotations(cases, alerts));
    expect({ status: check.status, out: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
  });

  test('promtool test rules: every alert fires on the series it is for, and only then', () => {
    const { test: result } = runPromtool(manifest.spec.groups, withAnnotations(cases, alerts));
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
    const wrong = withAnnotations(cases, alerts);
    const firing = wrong.tests[0]!.alert_rule_test!.find((t) => t.alertname === 'EurekaDrainerDrainCutShort' && t.exp_alerts.length > 0)!;
    firing.exp_alerts = [];
    const { test: result } = runPromtool(manifest.spec.groups, wrong);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('EurekaDrainerDrainCutShort');
  });
});
