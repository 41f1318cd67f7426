import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { anchorsOf } from '../helpers/markdown';
import { exportedSeriesNames, namesIn, PROMQL_FUNCTIONS } from '../helpers/promql';

/**
 * k8s/prometheus-rule.yaml without an evaluator (test/k8s/prometheus-rule.test.ts runs promtool): every
 * alert queries series src/metrics.ts exports, has a severity, and tells the on-call engineer what to do,
 * pointing at a section of docs/troubleshooting.md that exists.
 */
const root = resolve(__dirname, '..', '..');
const troubleshooting = readFileSync(resolve(root, 'docs/troubleshooting.md'), 'utf8');

interface AlertRule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const manifest = YAML.parse(readFileSync(resolve(root, 'k8s/prometheus-rule.yaml'), 'utf8')) as { kind: string; spec: { groups: { name: string; rules: AlertRule[] }[] } };
const alerts = manifest.spec.groups.flatMap((g) => g.rules);

const anchors = anchorsOf(troubleshooting);

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

test.each(alerts.map((a) => [a.alert, a] as const))('%s has a severity and says what to do, with a troubleshooting section that exists', (_name, alert) => {
  expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
  expect(alert.annotations?.summary).toMatch(/\{\{ \$labels\.pod \}\}/);
  const description = alert.annotations?.description ?? '';
  expect(description.length).toBeGreaterThan(120);
  const links = [...description.matchAll(/docs\/troubleshooting\.md#([a-z0-9-]+)/g)].map((m) => m[1]!);
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) expect({ link, exists: anchors.has(link) }).toEqual({ link, exists: true });
});

test('the troubleshooting page has its sections and the anchor check can fail', () => {
  expect(anchors.has('troubleshooting')).toBe(true);
  expect(anchors.has('refused-trigger')).toBe(true);
  expect(anchors.has('no-such-section')).toBe(false);
});
