/**
 * The chart (charts/eureka-drainer) as Helm renders it, and k8s/webhook as kustomize renders it, for the chart
 * tests. Helm is the version test/helm/version.sh names, built by test/helm/install-helm.sh (test/run.sh runs it);
 * kubectl (its kustomize) is the real cluster's, built by test/k8s/cluster/build-kube.sh. A missing binary is an
 * error that says how to get it, never a skipped test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { Manifest } from './manifest';

export const ROOT = resolve(__dirname, '..', '..');
export const CHART = resolve(ROOT, 'charts', 'eureka-drainer');

/** The path a version file's shell assignments give `name` (the scripts and the tests read one place). */
function sourced(script: string, name: string): string {
  return execFileSync('bash', ['-c', `. "$1" && printf %s "\${${name}}"`, 'sourced', resolve(ROOT, script)], { encoding: 'utf8' });
}

function executable(path: string, how: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: ${how}`);
  }
  return path;
}

export const HELM = executable(sourced('test/helm/version.sh', 'HELM_BIN'), 'run test/helm/install-helm.sh (it builds Helm once per machine)');
export const KUBECTL = executable(resolve(sourced('test/k8s/cluster/versions.sh', 'KUBE_BIN_DIR'), 'kubectl'), 'run test/k8s/cluster/build-kube.sh (it builds kubectl once per machine)');

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function helm(args: readonly string[]): Run {
  // HELM_* folders of their own: nothing of the user's Helm configuration or cache is read or written.
  const home = resolve(ROOT, 'node_modules', '.cache', 'helm-test');
  const env = { ...process.env, HELM_CACHE_HOME: `${home}/cache`, HELM_CONFIG_HOME: `${home}/config`, HELM_DATA_HOME: `${home}/data` };
  const run = spawnSync(HELM, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export interface Release {
  readonly name?: string;
  readonly namespace?: string;
  /** Each becomes one --set-json key=value. */
  readonly values?: Readonly<Record<string, unknown>>;
  /** The chart's folder or package (default: charts/eureka-drainer). */
  readonly chart?: string;
}

/** `helm template` of the chart; the run itself (a refusal is a result, not an exception). */
export function template(release: Release = {}): Run {
  const sets = Object.entries(release.values ?? {}).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`]);
  return helm(['template', release.name ?? 'eureka-drainer', release.chart ?? CHART, '--namespace', release.namespace ?? 'eureka-drainer-system', ...sets]);
}

/** The objects of a multi-document YAML stream (empty documents left out). */
export const documents = (yaml: string): Manifest[] => YAML.parseAllDocuments(yaml).map((d) => d.toJSON() as Manifest | null).filter((o): o is Manifest => o !== null);

/** The objects the chart renders; a refusal fails with Helm's message. */
export function render(release: Release = {}): Manifest[] {
  const run = template(release);
  if (run.status !== 0) throw new Error(`helm template failed (${run.status}): ${run.stderr}`);
  return documents(run.stdout);
}

/** The objects `kubectl kustomize` renders from a kustomization folder. */
export function kustomize(folder: string): Manifest[] {
  return documents(execFileSync(KUBECTL, ['kustomize', folder], { encoding: 'utf8' }));
}

/**
 * k8s/webhook rendered by kustomize into `namespace`, as its kustomization tells a user to change it: a copy whose
 * `namespace:` line says so (what `kustomize edit set namespace` writes).
 */
export function kustomizeWebhook(namespace: string): Manifest[] {
  const copy = mkdtempSync(resolve(tmpdir(), 'eureka-drainer-webhook-'));
  try {
    cpSync(resolve(ROOT, 'k8s', 'webhook'), copy, { recursive: true });
    const file = resolve(copy, 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    if (!/^namespace: /m.test(text)) throw new Error('k8s/webhook/kustomization.yaml has no `namespace:` line to change');
    writeFileSync(file, text.replace(/^namespace: .*$/m, `namespace: ${namespace}`));
    return kustomize(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

