/**
 * The npm package as a user gets it: `npm pack` of this checkout (as `npm run release` packs it), installed with
 * `npm install <tarball>` into an empty folder (its dependencies from the registry, nothing from this checkout),
 * then the `eureka-drainer` command run from there with npx on Node.js 26: --version, `plan` and `inject` on a
 * sample Deployment. Needs dist/ built (npm test builds it first).
 */
import { expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import type { Deployment } from '../helpers/manifest';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string } };
const NODE_MAJOR = /^\^(\d+)\./.exec(pkg.engines.node)![1];
const work = mkdtempSync(join(tmpdir(), 'eureka-drainer-installed-'));
const project = join(work, 'project');
/**
 * The user's environment: this machine's (its CA certificates reach the registry), without the npm_* settings of
 * the npm that started jest, and Node.js 26 (this test's) first on PATH, so npx and the command's
 * `#!/usr/bin/env node` run it.
 */
const userEnv: Record<string, string> = {
  ...Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !/^npm_/i.test(entry[0]) && entry[1] !== undefined)),
  PATH: [dirname(process.execPath), ...(process.env.PATH ?? '').split(delimiter)].join(delimiter),
};

const SAMPLE_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: orders}}
  template:
    metadata:
      labels: {app: orders}
      annotations: {eureka-drainer/inject: enabled}
    spec:
      terminationGracePeriodSeconds: 140
      containers:
        - name: orders
          image: example/orders:1
          ports: [{containerPort: 8080}]
          env:
            - {name: SPRING_APPLICATION_NAME, value: orders}
            - {name: EUREKA_CLIENT_SERVICEURL_DEFAULTZONE, value: "http://eureka:8761/eureka/"}
`;

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  // Bounded: an unreachable registry fails the install with a message instead of hanging the suite.
  const result = spawnSync(command, args, { cwd, env: { ...userEnv, ...env }, encoding: 'utf8', timeout: 240_000 });
  if (result.error) throw new Error(`${command} ${args.join(' ')} in ${cwd}: ${result.error.message}`);
  return result;
}
const npx = (args: string[], env: Record<string, string> = {}): ReturnType<typeof run> => run('npx', ['--no-install', 'eureka-drainer', ...args], project, env);

beforeAll(() => {
  const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = join(work, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
  mkdirSync(project);
  const installed = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], project);
  if (installed.status !== 0) throw new Error(`npm install ${tarball} failed:\n${installed.stderr}`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test(`this test runs on Node.js ${NODE_MAJOR}, the one the user's PATH starts with`, () => {
  expect(process.version).toMatch(new RegExp(`^v${NODE_MAJOR}\\.`));
  expect(run('node', ['--version'], project).stdout).toBe(`${process.version}\n`);
});

test('the command is the installed package\'s, with its dependencies installed beside it, not this checkout\'s', () => {
  const bin = join(project, 'node_modules', '.bin', 'eureka-drainer');
  expect(realpathSync(bin)).toBe(join(realpathSync(project), 'node_modules', pkg.name, 'dist', 'main.js'));
  for (const dependency of ['express', 'pino', 'prom-client', 'axios', 'yaml']) expect([dependency, existsSync(join(project, 'node_modules', dependency, 'package.json'))]).toEqual([dependency, true]);
  expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))).toMatchObject({ dependencies: { [pkg.name]: expect.stringMatching(/^file:.*\.tgz$/) } });
});

test('npx eureka-drainer --version prints package.json\'s version', () => {
  const result = npx(['--version']);
  expect([result.status, result.stdout, result.stderr]).toEqual([0, `${pkg.version}\n`, '']);
});

test('npx eureka-drainer plan prints the drain plan from the environment and exits 0 when it fits', () => {
  const env = { DRAINER_APP_NAME: 'orders', POD_IP: '127.0.0.1', DRAINER_EUREKA_URLS: 'http://eureka:8761/eureka/', DRAINER_APP_PORT: '8080', DRAINER_GRACE_PERIOD_SECONDS: '140' };
  const fits = npx(['plan'], env);
  expect([fits.status, fits.stderr]).toEqual([0, '']);
  expect(fits.stdout).toMatch(/^drain \(\/prestop\)\s+105\.5s\s+server_cache \+ registry_fetch \+ load_balancer \+ tail$/m);
  expect(fits.stdout).toMatch(/^grace period\s+140s\s+DRAINER_GRACE_PERIOD_SECONDS$/m);
  const tooShort = npx(['plan'], { ...env, DRAINER_GRACE_PERIOD_SECONDS: '60' });
  expect(tooShort.status).toBe(1);
  expect(tooShort.stdout).toContain('does not fit: the drain needs 137.5s');
});

test('npx eureka-drainer inject -f deployment.yaml adds the drainer as a native sidecar of the package\'s version', () => {
  writeFileSync(join(project, 'deployment.yaml'), SAMPLE_DEPLOYMENT);
  const result = npx(['inject', '-f', 'deployment.yaml']);
  expect(result.status).toBe(0);
  expect(result.stderr).toContain('eureka-drainer inject: 1 injected, 0 unchanged, 0 refused');
  const spec = (YAML.parse(result.stdout) as Deployment).spec.template.spec;
  expect(spec.initContainers).toEqual([expect.objectContaining({ name: 'eureka-drainer', image: `ghcr.io/eureka-drainer/eureka-drainer:${pkg.version}`, restartPolicy: 'Always' })]);
  expect(spec.containers[0]!.lifecycle!.preStop!.httpGet).toMatchObject({ path: '/prestop', port: 8787 });
  expect(spec.initContainers![0]!.env).toEqual(expect.arrayContaining([{ name: 'DRAINER_GRACE_PERIOD_SECONDS', value: '140' }, { name: 'SPRING_APPLICATION_NAME', value: 'orders' }]));
});
