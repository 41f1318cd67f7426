/**
 * `eureka-drainer check` loads @kubernetes/client-node (~130 MB resident, 0.6 s to import) with a dynamic import
 * when it runs; the sidecar, the same dist/main.js, must never load it. Every package each process loads is
 * recorded by a resolve hook (fixtures/record-packages.cjs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDrainer } from './support/drainer-process';

const MAIN = resolve(__dirname, '..', '..', 'dist', 'main.js');
const HOOK = resolve(__dirname, 'fixtures', 'record-packages.cjs');
const CLIENT = '@kubernetes/client-node';

function recorder(): { env: Record<string, string>; packages: () => string[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'packages-')), 'loaded.txt');
  writeFileSync(file, '');
  return { env: { NODE_OPTIONS: `--require ${HOOK}`, RECORD_PACKAGES_FILE: file }, packages: () => readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

test('the sidecar serves without loading the Kubernetes client, yaml or rfc6902', async () => {
  const record = recorder();
  const drainer = await startDrainer({ ...record.env, DRAINER_EUREKA_URLS: 'http://127.0.0.1:1/eureka/', DRAINER_APP_NAME: 'orders', DRAINER_INSTANCE_ID: 'orders-1', DRAINER_APP_PORT: '1' });
  try {
    expect((await fetch(`${drainer.url}/healthz`)).status).toBe(200);
    // The hook sees the sidecar's own packages, so an absent name means not loaded.
    expect(record.packages()).toEqual(expect.arrayContaining(['express', 'pino', 'prom-client']));
    expect(record.packages()).not.toContain(CLIENT);
    // Nor the modules only the inject and webhook commands use.
    expect(record.packages()).not.toContain('yaml');
    expect(record.packages()).not.toContain('rfc6902');
  } finally {
    drainer.kill('SIGKILL');
    await drainer.exited;
  }
});

test('plan, inject and --help do not load it either; check does', () => {
  const run = (args: string[], input = ''): string[] => {
    const record = recorder();
    spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...record.env }, input, encoding: 'utf8', timeout: 20_000 });
    return record.packages();
  };
  expect(run(['plan'])).not.toContain(CLIENT);
  expect(run(['inject'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n')).not.toContain(CLIENT);
  expect(run(['--help'])).not.toContain(CLIENT);
  expect(run(['check', '--kubeconfig', join(tmpdir(), 'no-such-kubeconfig')])).toContain(CLIENT);
});
