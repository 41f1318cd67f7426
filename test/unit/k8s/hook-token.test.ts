/**
 * Issue 9: a token mismatch between the pod spec's preStop header and the drainer's DRAINER_TOKEN
 * silently skipped the drain (the kubelet ignores the 401 and sends SIGTERM at once). An httpGet hook
 * cannot read a Secret, so the value must be in the pod spec; the examples declare it once, with a YAML
 * anchor, and the drainer's env and every hook refer to it. This fails when any of them carries its own
 * copy (a literal, or a Secret the hook cannot see), so a copied manifest cannot start out mismatched.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';

const k8s = resolve(__dirname, '..', '..', '..', 'k8s');

interface TokenUse {
  readonly where: 'hook' | 'env';
  readonly node: Node;
}

/** Every X-Drainer-Token header value and every DRAINER_TOKEN env entry, as YAML nodes. */
function tokenUses(node: unknown, out: TokenUse[] = []): TokenUse[] {
  if (isSeq(node)) node.items.forEach((item) => tokenUses(item, out));
  else if (isMap(node)) {
    const name = node.get('name');
    if (name === 'X-Drainer-Token') out.push({ where: 'hook', node: node.get('value', true) as Node });
    if (name === 'DRAINER_TOKEN') out.push({ where: 'env', node: (node.get('value', true) ?? node.get('valueFrom', true)) as Node });
    node.items.forEach((pair) => tokenUses(pair.value, out));
  }
  return out;
}

test.each(['classic-sidecar.yaml', 'native-sidecar.yaml', 'owner-mode.yaml', 'component/add-drainer.yaml'])(
  '%s: the token is declared once and DRAINER_TOKEN and every hook refer to it',
  (file) => {
    const docs = parseAllDocuments(readFileSync(resolve(k8s, file), 'utf8'));
    const uses = docs.flatMap((doc) => tokenUses(doc.contents));
    expect(uses.filter((u) => u.where === 'env')).toHaveLength(1);
    expect(uses.filter((u) => u.where === 'hook').length).toBeGreaterThan(0);
    const declared = uses.filter((u) => isScalar(u.node));
    expect(declared).toHaveLength(1);
    const anchor = (declared[0]!.node as { anchor?: string }).anchor;
    expect(anchor).toBe('drainer-token');
    for (const use of uses.filter((u) => u !== declared[0])) {
      expect(isAlias(use.node)).toBe(true);
      expect((use.node as { source?: string }).source).toBe(anchor);
    }
    // No Secret copy of it left behind for someone to edit instead.
    expect(docs.map((d) => d.toJS() as { kind?: string }).filter((d) => d?.kind === 'Secret')).toEqual([]);
  },
);
