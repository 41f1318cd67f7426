import { expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { createWebhookMetrics } from '../../src/webhook/metrics';
import { namesIn } from '../helpers/promql';
import { coverage, promtoolAvailable, PROMTOOL_INSTALL, runPromtool, withAnnotations, type RuleGroup, type TestFile } from '../helpers/promtool';

/**
 * The webhook's alerts (k8s/webhook/monitoring.yaml): they query only what src/webhook/metrics.ts exports,
 * and Prometheus' rule engine fires each on the series it is for, and only then (webhook-rule.promtool.yaml).
 * Without promtool this suite fails, naming what to install, in CI and elsewhere.
 */
const root = resolve(__dirname, '..', '..');
const docs = YAML.parseAllDocuments(readFileSync(resolve(root, 'k8s/webhook/monitoring.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec: { groups?: RuleGroup[] } });
const groups = docs.find((d) => d.kind === 'PrometheusRule')!.spec.groups!;
const alerts = groups.flatMap((g) => g.rules);
const cases = YAML.parse(readFileSync(resolve(__dirname, 'webhook-rule.promtool.yaml'), 'utf8')) as TestFile;

test('the alerts for pods that may start without the drainer are there, each tested firing and quiet', () => {
  expect(alerts.map((a) => a.alert).sort()).toEqual([
    'EurekaDrainerWebhookAbsent',
    'EurekaDrainerWebhookCertificateExpiring',
    'EurekaDrainerWebhookCertificateRejected',
    'EurekaDrainerWebhookFailOpen',
    'EurekaDrainerWebhookFailing',
    'EurekaDrainerWebhookRefused',
  ]);
  expect(coverage(alerts, cases)).toEqual(alerts.map(({ alert }) => ({ alert, fires: true, quiet: true })));
});

/**
 * The apiserver's count of webhook calls it could not make and admitted anyway: what shows a webhook the apiserver
 * cannot reach or trust, when no review arrives and the webhook's own metrics stay still.
 */
const APISERVER_FAIL_OPEN = 'apiserver_admission_webhook_fail_open_count';

test.each(alerts.map((a) => [a.alert, a] as const))('%s queries only series the webhook (or, for fail-opens, the apiserver) exports and says what to do', async (_name, alert) => {
  const registry = new Registry();
  createWebhookMetrics(registry);
  const exported = new Set([...(await registry.getMetricsAsJSON()).map((m) => m.name), APISERVER_FAIL_OPEN]);
  const { metrics } = namesIn(alert.expr);
  expect(metrics.length).toBeGreaterThan(0);
  expect(metrics.filter((m) => !exported.has(m))).toEqual([]);
  expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
  expect(alert.annotations?.description).toContain('(docs/kubernetes.md#the-webhook)');
});

test("the fail-open alert selects every webhook name in k8s/webhook's configuration, and only those", () => {
  const configuration = YAML.parse(readFileSync(resolve(root, 'k8s/webhook/mutating-webhook.yaml'), 'utf8')) as { webhooks: { name: string }[] };
  const expr = alerts.find((a) => a.alert === 'EurekaDrainerWebhookFailOpen')!.expr;
  const selectors = [...expr.matchAll(new RegExp(`${APISERVER_FAIL_OPEN}\\{name=~"((?:[^"\\\\]|\\\\.)*)"\\}`, 'g'))].map((m) => m[1]!);
  expect(selectors.length).toBe(3);
  // PromQL strings unescape \\ to \; Prometheus anchors the regex at both ends.
  const patterns = new Set(selectors.map((s) => s.replace(/\\\\/g, '\\')));
  expect(patterns.size).toBe(1);
  const name = new RegExp(`^(?:${[...patterns][0]!})$`);
  expect(configuration.webhooks.map((w) => w.name).filter((n) => !name.test(n))).toEqual([]);
  expect(configuration.webhooks.length).toBe(2);
  expect(['sidecar.inject.example.com', 'by-namespace.inject.eureka-drainer.example.com', 'by-namespaceXinject.eureka-drainer'].filter((n) => name.test(n))).toEqual([]);
});

describe('promtool', () => {
  test('promtool check rules and test rules pass', () => {
    expect({ available: promtoolAvailable, hint: promtoolAvailable ? '' : PROMTOOL_INSTALL }).toEqual({ available: true, hint: '' });
    const { check, test: result } = runPromtool(groups, withAnnotations(cases, alerts));
    expect({ status: check.status, out: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
    expect({ status: result.status, out: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  test('the evaluation can fail: expecting silence where an alert fires is reported', () => {
    const wrong = withAnnotations(cases, alerts);
    wrong.tests[1]!.alert_rule_test!.find((t) => t.alertname === 'EurekaDrainerWebhookFailing')!.exp_alerts = [];
    const { test: result } = runPromtool(groups, wrong);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('EurekaDrainerWebhookFailing');
  });
});
