/**
 * k8s/pod-deadline-rbac.yaml grants what src/kube/pod-deadline.ts needs and nothing else: `get` on pods in the
 * pod's namespace, bound to the service account the pod runs as. (Schema validity: test/unit/k8s.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { Manifest } from '../../helpers/manifest';

const docs = YAML.parseAllDocuments(readFileSync(resolve(__dirname, '..', '..', '..', 'k8s', 'pod-deadline-rbac.yaml'), 'utf8')).map((d) => d.toJSON() as Manifest);
const byKind = (kind: string): Manifest[] => docs.filter((d) => d.kind === kind);

test('a ServiceAccount, a Role and a RoleBinding; no cluster-wide object', () => {
  expect(docs.map((d) => d.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
});

test('the Role: get on pods in the core group, nothing else', () => {
  const [role] = byKind('Role');
  expect(role!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
});

test('the RoleBinding binds that Role to that ServiceAccount', () => {
  const [binding] = byKind('RoleBinding');
  const [role] = byKind('Role');
  const [account] = byKind('ServiceAccount');
  expect(binding!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role!.metadata.name });
  expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: account!.metadata.name }]);
});
