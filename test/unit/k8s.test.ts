import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The manifests in k8s/ validated against the Kubernetes schemas (kubernetes-models). */
const root = resolve(__dirname, '..', '..');
const run = spawnSync(process.execPath, [resolve(root, 'test/k8s/validate-manifests.mjs'), root], { encoding: 'utf8' });
const results = JSON.parse(run.stdout || '[]') as { file: string; kind: string; name?: string; ok: boolean; error?: string }[];

test('the validator ran', () => {
  expect(run.stderr).toBe('');
  expect(results.length).toBeGreaterThan(5);
});

test.each(results.filter((r) => !r.file.startsWith('self-check')).map((r) => [`${r.file} ${r.kind}/${r.name ?? ''}`, r] as const))('%s is valid', (_label, result) => {
  expect(result.error).toBeUndefined();
  expect(result.ok).toBe(true);
});

test('a broken manifest is rejected (the check can fail): a Deployment and a PrometheusRule', () => {
  const selfChecks = results.filter((r) => r.file.startsWith('self-check'));
  expect(selfChecks.map((r) => r.kind).sort()).toEqual(['Deployment', 'PrometheusRule']);
  for (const r of selfChecks) expect(r.ok).toBe(false);
});

test('every Deployment wires the preStop hook to the drainer and sets the grace period', () => {
  const yaml = ['classic-sidecar.yaml', 'native-sidecar.yaml', 'owner-mode.yaml'].map((f) => readFileSync(resolve(root, 'k8s', f), 'utf8'));
  for (const text of yaml) {
    expect(text).toMatch(/preStop:\s+httpGet:\s+path: \/prestop\s+port: 8787/);
    expect(text).toMatch(/terminationGracePeriodSeconds: (\d+)/);
    const grace = /terminationGracePeriodSeconds: (\d+)/.exec(text)![1];
    expect(text).toContain(`DRAINER_GRACE_PERIOD_SECONDS, value: "${grace}"`);
  }
});
