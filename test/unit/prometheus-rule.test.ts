import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { exportedSeriesNames, namesIn, PROMQL_FUNCTIONS } from '../helpers/promql';

/**
 * k8s/prometheus-rule.yaml without an evaluator (test/k8s/prometheus-rule.test.ts runs promtool): every
 * alert queries series src/metrics.ts exports, has a severity, and tells the on-call engineer what to do,
 * pointing at a README section that exists.
 */
const root = resolve(__dirname, '..', '..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');

interface AlertRule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const manifest = YAML.parse(readFileSync(resolve(root, 'k8s/prometheus-rule.yaml'), 'utf8')) as { kind: string; spec: { groups: { name: string; rules: AlertRule[] }[] } };
const alerts = manifest.spec.groups.flatMap((g) => g.rules);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
const anchors = new Set([...readme.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1]!)));

let exported: Set<string>;
beforeAll(async () => {
  exported = await exportedSeriesNames();
});

test('the alerts an on-call engineer needs are there', () => {
  expect(alerts.map((a) => a.alert)).toEqual(
    expect.arrayContaining([
      'EurekaDrainerNotTakenOut',
      'EurekaDrainerDrainCutShort',
      'EurekaDrainerDrainUnverified',
      'EurekaDrainerDrainPartlyVerified',
      'EurekaDrainerPlanDoesNotFit',
      'EurekaDrainerTriggerRefused',
      'EurekaDrainerKubeletHookRefused',
      'EurekaDrainerCleanupFailed',
      'EurekaDrainerOverrideRestored',
    ]),
  );
  expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
});

test.each(alerts.map((a) => [a.alert, a] as const))('%s queries only exported series', (_name, alert) => {
  const { metrics, functions } = namesIn(alert.expr);
  expect(metrics.length).toBeGreaterThan(0);
  expect(metrics.filter((m) => !exported.has(m))).toEqual([]);
  expect(functions.filter((f) => !PROMQL_FUNCTIONS.has(f) || f === 'label_values')).toEqual([]);
});

test.each(alerts.map((a) => [a.alert, a] as const))('%s has a severity and says what to do, with a README section that exists', (_name, alert) => {
  expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
  expect(alert.annotations?.summary).toMatch(/\{\{ \$labels\.pod \}\}/);
  const description = alert.annotations?.description ?? '';
  expect(description.length).toBeGreaterThan(120);
  const links = [...description.matchAll(/README\.md#([a-z0-9-]+)/g)].map((m) => m[1]!);
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) expect({ link, exists: anchors.has(link) }).toEqual({ link, exists: true });
});

test('the README troubleshooting section exists and the anchor check can fail', () => {
  expect(anchors.has('troubleshooting')).toBe(true);
  expect(anchors.has('no-such-section')).toBe(false);
  expect(anchorOf('Reading the `/drain` report')).toBe('reading-the-drain-report');
});
