/**
 * What the apiserver itself says: its Prometheus metrics (`kubectl get --raw /metrics`) and its audit log
 * (cluster.sh writes it at level Metadata: who created what, and each admission webhook's annotations).
 */
import { readFileSync } from 'node:fs';
import { kubectl, type Json } from './kube';

/** The sum of every sample of `metric` whose labels include `labels` (0 when there is none yet: a counter vector shows a series only once it moved). */
export async function apiserverCounter(metric: string, labels: Readonly<Record<string, string>>): Promise<number> {
  return sumSamples(await kubectl(['get', '--raw', '/metrics']), metric, labels);
}

/** Pure: the same over a metrics text. */
export function sumSamples(text: string, metric: string, labels: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const seen = new Map<string, string>();
    if (open > 0 && close > open) {
      for (const m of line.slice(open + 1, close).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) seen.set(m[1]!, m[2]!);
    }
    if (Object.entries(labels).every(([k, v]) => seen.get(k) === v)) sum += Number(line.slice((close > 0 ? close : line.indexOf(' ')) + 1).trim().split(' ')[0]);
  }
  return sum;
}

export function auditLogPath(): string {
  return `${process.env['EUREKA_DRAINER_CLUSTER_DIR'] ?? '/tmp/eureka-drainer-cluster'}/logs/audit.log`;
}

/** The audit events (ResponseComplete) of pod creations in `namespace`, oldest first. */
export function podCreations(namespace: string): Json[] {
  const events: Json[] = [];
  for (const line of readFileSync(auditLogPath(), 'utf8').split('\n')) {
    if (!line.includes('"verb":"create"') || !line.includes(`"namespace":"${namespace}"`)) continue;
    const event = JSON.parse(line) as Json;
    const ref = (event['objectRef'] ?? {}) as Json;
    if (event['stage'] === 'ResponseComplete' && ref['resource'] === 'pods' && ref['subresource'] === undefined && ref['namespace'] === namespace) events.push(event);
  }
  return events;
}

/** The mutating webhooks' audit annotations of one event: `round_R_index_I` → {configuration, webhook, mutated}, and fail-opens. */
export function webhookAnnotations(event: Json): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((event['annotations'] ?? {}) as Record<string, string>)) {
    if (key.includes('mutation.webhook.admission.k8s.io/')) out[key] = parsedOrText(value);
  }
  return out;
}

function parsedOrText(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
