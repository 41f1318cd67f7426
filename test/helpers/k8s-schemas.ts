import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '..', 'k8s', 'validate-objects.mjs');

export interface Validation {
  readonly label: string;
  readonly kind: string;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * Validates objects against the Kubernetes schemas (kubernetes-models and the CRD model packages; ESM-only,
 * so test/k8s/validate-objects.mjs runs as its own process). One result per item, in order.
 */
export function validateObjects(items: readonly { label: string; object: unknown }[]): Validation[] {
  const run = spawnSync(process.execPath, [SCRIPT], { input: JSON.stringify(items), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0 || run.stderr) throw new Error(`validate-objects.mjs failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Validation[];
}

/** The same for unlabelled objects: { kind, name, ok, error? } each (kind without its apiVersion). */
export function validate(objects: readonly unknown[]): { kind: string; name?: string; ok: boolean; error?: string }[] {
  const meta = (o: unknown): { kind?: string; metadata?: { name?: string } } => (o ?? {});
  return validateObjects(objects.map((object, i) => ({ label: String(i), object }))).map((v, i) => {
    const { kind, metadata } = meta(objects[i]);
    return { kind: String(kind), ...(metadata?.name !== undefined ? { name: metadata.name } : {}), ok: v.ok, ...(v.error !== undefined ? { error: v.error } : {}) };
  });
}
