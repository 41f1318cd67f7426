import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { VARIABLE_NAMES } from '../../src/config';
import { createMetrics } from '../../src/metrics';
import { OWNER_VARIABLES } from '../../src/owner/config';
import { createOwnerMetrics } from '../../src/owner/metrics';
import { systemClock } from '../../src/clock';

const root = resolve(__dirname, '..', '..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');

describe('the README documents the whole surface', () => {
  // The configuration is a table (src/config/variables.ts): every row's names must be documented.
  const variables = [...VARIABLE_NAMES];
  test('the table lists the variables', () => expect(variables.length).toBeGreaterThan(40));

  test.each(variables)('variable %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  const http = readFileSync(resolve(root, 'src/http.ts'), 'utf8');
  const endpoints = [...new Set([...http.matchAll(/app\.(?:get|post)\('(\/[a-z/]+)'/g)].map((m) => m[1]!))];
  test.each(endpoints)('endpoint %s', (path) => {
    expect(readme).toContain(path);
  });

  const metrics = new Registry();
  createMetrics(metrics);
  test.each(metrics.getMetricsAsArray().map((m) => m.name))('metric %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  // Owner mode's variables (src/owner/config.ts) and metrics (src/owner/metrics.ts), in the Owner mode section.
  test.each(OWNER_VARIABLES.map((v) => v.name))('owner-mode variable %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  const ownerMetrics = new Registry();
  createOwnerMetrics(ownerMetrics, systemClock);
  test.each(ownerMetrics.getMetricsAsArray().map((m) => m.name))('owner-mode metric %s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  test('exit codes 0, 1 and 2', () => {
    expect(readme).toMatch(/\*\*Exit codes:\*\* `0`.*`1`.*`2`/s);
  });
});
