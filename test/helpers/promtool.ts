import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';

/**
 * Prometheus' own rule engine for the alert tests: `promtool check rules` and `promtool test rules`.
 * promtool comes with Debian's `prometheus` package; .ci/run installs it. PROMTOOL=/path overrides.
 */
export const promtool = process.env.PROMTOOL ?? 'promtool';
export const promtoolVersion = spawnSync(promtool, ['--version'], { encoding: 'utf8' });
export const promtoolAvailable = promtoolVersion.status === 0;
export const PROMTOOL_INSTALL = 'promtool is missing: apt-get install prometheus (Debian/Ubuntu), or set PROMTOOL to a promtool binary';

export interface AlertRule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
export interface RuleGroup { name: string; rules: AlertRule[] }
interface ExpAlert { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }
export interface AlertTest { eval_time: string; alertname: string; exp_alerts: ExpAlert[] }
interface TestCase { name?: string; alert_rule_test?: AlertTest[] }
export interface TestFile { rule_files: string[]; tests: TestCase[] }

/** The annotations Prometheus renders for an alert with these labels; the rules use `{{ $labels.x }}` only. */
function render(template: string, labels: Record<string, string>): string {
  const out = template.replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
  if (out.includes('{{')) throw new Error(`template construct this test cannot render: ${template}`);
  return out;
}

/** The cases with each expected alert's annotations filled in from its rule, so the cases hold labels only. */
export function withAnnotations(file: TestFile, alerts: readonly AlertRule[]): TestFile {
  const copy = structuredClone(file);
  for (const tc of copy.tests) {
    for (const t of tc.alert_rule_test ?? []) {
      const rule = alerts.find((a) => a.alert === t.alertname);
      if (!rule) throw new Error(`no alert ${t.alertname} in the rules`);
      for (const e of t.exp_alerts) {
        e.exp_annotations = Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, e.exp_labels ?? {})]));
      }
    }
  }
  return copy;
}

/** Runs promtool on the rule groups (as rules.yaml) and a test file in a fresh directory. */
export function runPromtool(groups: readonly RuleGroup[], testFile: TestFile): { check: SpawnSyncReturns<string>; test: SpawnSyncReturns<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'eureka-drainer-rules-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), YAML.stringify({ groups }));
    writeFileSync(join(dir, 'tests.yaml'), YAML.stringify(testFile));
    return {
      check: spawnSync(promtool, ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' }),
      test: spawnSync(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every alert has a case where it fires and one where it stays quiet. */
export function coverage(alerts: readonly AlertRule[], cases: TestFile): { alert: string; fires: boolean; quiet: boolean }[] {
  const checks = cases.tests.flatMap((tc) => tc.alert_rule_test ?? []);
  return alerts.map(({ alert }) => {
    const mine = checks.filter((c) => c.alertname === alert);
    return { alert, fires: mine.some((c) => c.exp_alerts.length > 0), quiet: mine.some((c) => c.exp_alerts.length === 0) };
  });
}
