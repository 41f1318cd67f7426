/**
 * Issue 9: a token mismatch between the pod spec's preStop header and the
 * drainer's Secret silently skipped the drain (the kubelet ignores the 401).
 * httpGet hooks cannot read a Secret, so the examples carry the value twice;
 * this keeps every shipped example consistent, so a copied manifest starts out right.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const k8s = resolve(__dirname, '..', '..', '..', 'k8s');
const read = (file: string): unknown[] => parseAllDocuments(readFileSync(resolve(k8s, file), 'utf8')).map((d) => d.toJS());

function hookTokens(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => hookTokens(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.name === 'X-Drainer-Token' && typeof o.value === 'string') out.push(o.value);
    Object.values(o).forEach((v) => hookTokens(v, out));
  }
  return out;
}

function secretTokens(docs: unknown[]): string[] {
  return docs.filter((d): d is { kind: string; stringData: { token: string } } => (d as { kind?: string })?.kind === 'Secret' && !!(d as { stringData?: { token?: string } }).stringData?.token).map((d) => d.stringData.token);
}

test.each(['classic-sidecar.yaml', 'native-sidecar.yaml', 'owner-mode.yaml'])('%s: every hook sends the token the drainer reads from its Secret', (file) => {
  const docs = read(file);
  // The native example uses the classic example's Secret (orders-drainer), as its comment says.
  const secrets = secretTokens(docs).length > 0 ? secretTokens(docs) : secretTokens(read('classic-sidecar.yaml'));
  const hooks = hookTokens(docs);
  expect(hooks.length).toBeGreaterThan(0);
  expect(secrets).toHaveLength(1);
  for (const token of hooks) expect(token).toBe(secrets[0]);
});

test('the Kustomize component sends one token value in every hook', () => {
  const hooks = hookTokens(read('component/add-drainer.yaml'));
  expect(hooks.length).toBeGreaterThan(0);
  expect(new Set(hooks).size).toBe(1);
});
