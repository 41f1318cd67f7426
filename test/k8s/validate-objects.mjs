// Validates the objects given as a JSON array on stdin against the Kubernetes OpenAPI schemas from
// kubernetes-models (ESM-only, so it runs as its own process; test/unit/inject/*.test.ts drive it).
// Prints a JSON array: one { kind, name, ok, error? } per object, in order.
import { readFileSync } from 'node:fs';
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Pod, Service } from 'kubernetes-models/v1';

const KINDS = { DaemonSet, Deployment, ReplicaSet, StatefulSet, CronJob, Job, ConfigMap, Namespace, Pod, Service };
const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = objects.map((object) => {
  const Model = KINDS[object?.kind];
  if (!Model) return { kind: object?.kind, ok: false, error: `no schema for kind ${object?.kind}` };
  try {
    new Model(object).validate();
    return { kind: object.kind, name: object.metadata?.name, ok: true };
  } catch (error) {
    return { kind: object.kind, name: object.metadata?.name, ok: false, error: String(error.message).slice(0, 800) };
  }
});
process.stdout.write(JSON.stringify(results));
