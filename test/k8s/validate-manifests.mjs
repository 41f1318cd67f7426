// Validates k8s/*.yaml against the Kubernetes (and Prometheus Operator)
// OpenAPI schemas from kubernetes-models. ESM-only packages, so this runs as
// its own process; test/unit/k8s.test.ts drives it. Prints one JSON line.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Secret, ServiceAccount } from 'kubernetes-models/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const KINDS = { Deployment, NetworkPolicy, Secret, ServiceAccount, Role, RoleBinding, PodMonitor, PrometheusRule };
const root = process.argv[2];
const results = [];

function check(file, object) {
  const Model = KINDS[object.kind];
  if (!Model) {
    results.push({ file, kind: object.kind, ok: false, error: `no schema for kind ${object.kind}` });
    return;
  }
  try {
    new Model(object).validate();
    results.push({ file, kind: object.kind, name: object.metadata?.name, ok: true });
  } catch (error) {
    results.push({ file, kind: object.kind, name: object.metadata?.name, ok: false, error: String(error.message).slice(0, 500) });
  }
}

for (const name of readdirSync(join(root, 'k8s')).filter((f) => f.endsWith('.yaml'))) {
  for (const doc of YAML.parseAllDocuments(readFileSync(join(root, 'k8s', name), 'utf8'))) check(`k8s/${name}`, doc.toJSON());
}

// The Kustomize component: apply its JSON patch to a minimal Deployment.
const patch = YAML.parse(readFileSync(join(root, 'k8s/component/add-drainer.yaml'), 'utf8'));
const target = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'any', labels: { 'eureka-drainer': 'enabled' } },
  spec: {
    selector: { matchLabels: { app: 'any' } },
    template: { metadata: { labels: { app: 'any' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
  },
};
for (const op of patch) {
  if (op.op !== 'add') throw new Error(`unsupported patch op ${op.op}`);
  const keys = op.path.split('/').slice(1);
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key];
  node[keys.at(-1)] = op.value;
}
check('k8s/component (patched Deployment)', target);

// Self-check: the validator must reject a broken manifest.
const broken = structuredClone(target);
broken.spec.template.spec.containers[0].lifecycle.preStop.httpGet.port = { not: 'a port' };
check('self-check (broken on purpose)', broken);

// And a PrometheusRule whose `for` Prometheus could not parse.
const rules = YAML.parse(readFileSync(join(root, 'k8s/prometheus-rule.yaml'), 'utf8'));
rules.spec.groups[0].rules[0].for = '5 minutes';
check('self-check (broken rule on purpose)', rules);

process.stdout.write(`${JSON.stringify(results)}\n`);
