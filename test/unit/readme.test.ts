import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { parseConfig, VARIABLE_NAMES } from '../../src/config';
import { computePlan, formatPlanTable } from '../../src/plan';
import { createMetrics } from '../../src/metrics';
import { OWNER_VARIABLES } from '../../src/owner/config';
import { createOwnerMetrics } from '../../src/owner/metrics';
import { systemClock } from '../../src/clock';
import { CHECK_SETTINGS } from '../../src/check/command';
import { PROBLEM_KINDS } from '../../src/check/pod-check';
import { ANNOTATIONS } from '../../src/inject/annotations';
import { SETTINGS as WEBHOOK_SETTINGS } from '../../src/webhook/command';
import { createWebhookMetrics } from '../../src/webhook/metrics';

/**
 * The docs document the whole surface, each part on the page its reader opens: the variables in
 * docs/configuration.md, endpoints and exit codes in docs/interfaces.md, metrics in docs/metrics.md, owner mode's in
 * docs/owner-mode.md, and inject, the webhook and check in docs/kubernetes.md's "Fleets".
 */
const root = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(resolve(root, file), 'utf8');
const configuration = read('docs/configuration.md');
const interfaces = read('docs/interfaces.md');
const metricsPage = read('docs/metrics.md');
const ownerMode = read('docs/owner-mode.md');
const kubernetes = read('docs/kubernetes.md');

describe('the docs document the whole surface', () => {
  // The configuration is a table (src/config/variables.ts): every row's names must be documented.
  const variables = [...VARIABLE_NAMES];
  test('the table lists the variables', () => expect(variables.length).toBeGreaterThan(40));

  test.each(variables)('variable %s', (name) => {
    expect(configuration).toContain(`\`${name}\``);
  });

  const http = readFileSync(resolve(root, 'src/http/routes.ts'), 'utf8');
  const endpoints = [...new Set([...http.matchAll(/app\.(?:get|post)\('(\/[a-z/]+)'/g)].map((m) => m[1]!))];
  test.each(endpoints)('endpoint %s', (path) => {
    expect(interfaces).toContain(path);
  });

  const metrics = new Registry();
  createMetrics(metrics);
  test.each(metrics.getMetricsAsArray().map((m) => m.name))('metric %s', (name) => {
    expect(metricsPage).toContain(`\`${name}\``);
  });

  // Owner mode's variables (src/owner/config.ts) and metrics (src/owner/metrics.ts), on its page.
  test.each(OWNER_VARIABLES.map((v) => v.name))('owner-mode variable %s', (name) => {
    expect(ownerMode).toContain(`\`${name}\``);
  });

  const ownerMetrics = new Registry();
  createOwnerMetrics(ownerMetrics, systemClock);
  test.each(ownerMetrics.getMetricsAsArray().map((m) => m.name))('owner-mode metric %s', (name) => {
    expect(ownerMode).toContain(`\`${name}\``);
  });

  // Fleets: the injection annotations (src/inject/annotations.ts), the webhook's flags and env names
  // (src/webhook/command.ts) and its metrics (src/webhook/metrics.ts).
  const fleets = kubernetes.slice(kubernetes.indexOf('\n## Fleets\n'));
  test('the Fleets section is there', () => expect(fleets.length).toBeGreaterThan(1000));
  test.each(Object.values(ANNOTATIONS))('annotation %s', (name) => {
    expect(fleets).toContain(`| \`${name}\` |`);
  });
  test.each(Object.values(WEBHOOK_SETTINGS).flatMap((s) => s.names))('webhook setting %s', (name) => {
    expect(fleets).toContain(`\`${name}\``);
  });
  const webhookMetrics = new Registry();
  createWebhookMetrics(webhookMetrics);
  test.each(webhookMetrics.getMetricsAsArray().map((m) => m.name))('webhook metric %s', (name) => {
    expect(fleets).toContain(`\`${name}\``);
  });

  // `eureka-drainer check` (src/check/command.ts): its flags and the problems it names.
  test.each(Object.values(CHECK_SETTINGS).flatMap((s) => s.names))('check flag %s', (flag) => {
    expect(fleets).toContain(`\`${flag}\``);
  });
  test.each(PROBLEM_KINDS)('check problem %s', (kind) => {
    expect(fleets).toContain(`\`${kind}\``);
  });

  test('exit codes 0, 1 and 2', () => {
    expect(interfaces).toMatch(/\*\*Exit codes:\*\* `0`.*`1`.*`2`/s);
  });
});

describe('the README front door', () => {
  const readme = read('README.md');

  test('its plan example is what `DRAINER_GRACE_PERIOD_SECONDS=140 eureka-drainer plan` prints', () => {
    const env = { DRAINER_GRACE_PERIOD_SECONDS: '140' };
    expect(readme).toContain(`${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} npx eureka-drainer plan`);
    const printed = formatPlanTable(computePlan(parseConfig(env, { requireTarget: false }).timings));
    expect(readme).toContain(`\`\`\`\n${printed}\n\`\`\``);
  });
});
