/**
 * No Docker engine here: docker/check-runtime.sh repeats the image's install
 * and start commands in a temp folder (production dependencies only) and
 * checks the result starts, answers /healthz and exits 0 on SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

jest.setTimeout(180_000);

test('the image runtime (production install, node dist/main.js) starts and stops cleanly', () => {
  const result = spawnSync('bash', [resolve(__dirname, '..', '..', 'docker', 'check-runtime.sh')], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('check-runtime: ok');
  expect(result.status).toBe(0);
});
