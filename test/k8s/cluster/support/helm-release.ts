/** A Helm release of charts/eureka-drainer on the real cluster, for helm.test.ts and helm-values.test.ts. */
import { pollUntil } from '../../../e2e/support/poll';
import { helm, type Run } from '../../../helpers/helm';
import { kubectlJson, type Json } from './kube';

const obj = (v: unknown): Json => (v ?? {}) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** `helm <args> --namespace <namespace>` with each value as --set-json, its output logged (bounded). */
export function helmIn(namespace: string, args: readonly string[], values: Record<string, unknown> = {}): Run {
  const sets = Object.entries(values).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`]);
  const run = helm([...args, '--namespace', namespace, ...sets]);
  console.log(`helm ${args.join(' ')}: exit ${run.status}\n${run.stdout.trim()}${run.stderr.trim() ? `\n${run.stderr.trim()}` : ''}`.slice(0, 3000));
  return run;
}

/** Until a webhook pod is a ready endpoint of its Service (the apiserver dials endpoints, not the Service). */
export function waitReadyEndpoint(namespace: string, service: string): Promise<true> {
  return pollUntil('a ready endpoint of the webhook Service', async () => {
    const slices = arr((await kubectlJson(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service}`]))['items']);
    return slices.some((s) => arr(s['endpoints']).some((e) => obj(e['conditions'])['ready'] === true)) ? true : undefined;
  }, 60_000, 500);
}
