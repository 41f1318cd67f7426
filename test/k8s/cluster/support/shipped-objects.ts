/**
 * Every Kubernetes object the project ships in k8s/, as a user would apply it, and the real apiserver's verdict
 * on each (`kubectl apply --server-side --dry-run=server`: defaulting, validation, strict field checks and
 * admission, nothing stored):
 *
 * - each document of k8s/*.yaml;
 * - k8s/webhook/ through its kustomization (`kubectl kustomize k8s/webhook`), and the files there that the
 *   kustomization leaves out (monitoring.yaml needs the Prometheus Operator);
 * - the Kustomize component k8s/component applied to a plain Deployment (workloads.ts renderWithKustomize).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { kubectl, kubectlRaw, type Json } from './kube';
import { renderWithKustomize } from './workloads';

const ROOT = resolve(__dirname, '..', '..', '..', '..');

export interface ShippedObject {
  /** Where it comes from and what it is: `k8s/webhook (kustomize) Deployment/eureka-drainer-webhook`. */
  readonly label: string;
  readonly object: Json;
}

const documents = (yaml: string): Json[] => YAML.parseAllDocuments(yaml).map((d) => d.toJSON() as Json | null).filter((o): o is Json => o !== null);

const labelled = (source: string, objects: readonly Json[]): ShippedObject[] =>
  objects.map((object) => ({ label: `${source} ${String(object['kind'])}/${String((object['metadata'] as Json | undefined)?.['name'])}`, object }));

export async function shippedObjects(): Promise<ShippedObject[]> {
  const out: ShippedObject[] = [];
  for (const file of readdirSync(join(ROOT, 'k8s')).filter((f) => f.endsWith('.yaml')).sort()) {
    out.push(...labelled(`k8s/${file}`, documents(readFileSync(join(ROOT, 'k8s', file), 'utf8'))));
  }
  out.push(...labelled('k8s/webhook (kustomize)', documents(await kubectl(['kustomize', join(ROOT, 'k8s', 'webhook')]))));
  const kustomization = YAML.parse(readFileSync(join(ROOT, 'k8s', 'webhook', 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const leftOut = readdirSync(join(ROOT, 'k8s', 'webhook')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && !kustomization.resources.includes(f));
  for (const file of leftOut.sort()) out.push(...labelled(`k8s/webhook/${file}`, documents(readFileSync(join(ROOT, 'k8s', 'webhook', file), 'utf8'))));
  out.push(...labelled('k8s/component (kustomize, onto a plain Deployment)', [renderWithKustomize()]));
  return out;
}

/** What the apiserver serves: apiVersion → kind → namespaced (its discovery documents). */
export type ServedKinds = ReadonlyMap<string, ReadonlyMap<string, boolean>>;

export async function servedKinds(apiVersions: Iterable<string>): Promise<ServedKinds> {
  const served = new Map<string, Map<string, boolean>>();
  for (const apiVersion of new Set(apiVersions)) {
    const r = await kubectlRaw(['get', '--raw', apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`]);
    const kinds = new Map<string, boolean>();
    if (r.code === 0) {
      for (const resource of (JSON.parse(r.stdout) as { resources: { name: string; kind: string; namespaced: boolean }[] }).resources) {
        if (!resource.name.includes('/')) kinds.set(resource.kind, resource.namespaced);
      }
    } else if (!/NotFound|could not find the requested resource/i.test(r.stderr)) {
      throw new Error(`discovery of ${apiVersion} failed: ${r.stderr.trim()}`);
    }
    served.set(apiVersion, kinds);
  }
  return served;
}

export interface DryRunVerdict {
  readonly accepted: boolean;
  /** kubectl's output: "… serverside-applied (server dry run)", or the apiserver's reason. */
  readonly message: string;
  /** The apiserver's warnings (deprecations, dubious values), which an accepted object may still carry. */
  readonly warnings: string[];
}

/**
 * `kubectl apply --server-side --dry-run=server` of one object into `namespace` (namespaced kinds only).
 * `--validate=strict`: an unknown or duplicate field is an error, not a warning. `--force-conflicts`: another
 * test may own fields of a cluster-scoped object of the same name (the webhook test's MutatingWebhookConfiguration);
 * a dry run changes nothing, and a conflict says nothing about the object's validity.
 */
export async function dryRunApply(object: Json, namespace?: string): Promise<DryRunVerdict> {
  const r = await kubectlRaw(
    ['apply', '--server-side', '--dry-run=server', '--validate=strict', '--force-conflicts', '--field-manager=edk8s-api-dry-run', ...(namespace ? ['-n', namespace] : []), '-f', '-'],
    JSON.stringify(object),
  );
  const message = `${r.stdout}${r.stderr}`.trim();
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning:'));
  return { accepted: r.code === 0 && /serverside-applied \(server dry run\)/.test(r.stdout), message, warnings };
}
