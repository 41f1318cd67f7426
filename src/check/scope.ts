/**
 * Which pods `eureka-drainer check` looks at: every pod that carries the drainer, and every pod the
 * admission webhook is called for (k8s/webhook/mutating-webhook.yaml), whether or not it got the drainer.
 * Pure: labels in, a route out.
 */
import { OPT_IN_KEY, OPT_IN_VALUE, type ReviewRoute } from '../webhook/review';

export type Labels = Readonly<Record<string, string>>;

/**
 * The namespaces both webhook entries leave out (their namespaceSelector's `NotIn`), whatever their labels:
 * the control plane's and the webhook's own. test/unit/check/scope.test.ts keeps this list equal to the manifest's.
 */
export const NAMESPACES_NEVER_INJECTED: readonly string[] = ['kube-system', 'eureka-drainer-system'];

/**
 * The webhook entry the apiserver calls when such a pod is created, or undefined when it calls none:
 * `namespace` for a pod in a namespace labelled `eureka-drainer/inject=enabled` (unless the pod's own label
 * says `disabled`), `pod` for a pod labelled `enabled` in any other namespace.
 */
export function webhookRoute(namespace: string, namespaceLabels: Labels, podLabels: Labels): ReviewRoute | undefined {
  if (NAMESPACES_NEVER_INJECTED.includes(namespace)) return undefined;
  if (namespaceLabels[OPT_IN_KEY] === OPT_IN_VALUE) return podLabels[OPT_IN_KEY] === 'disabled' ? undefined : 'namespace';
  return podLabels[OPT_IN_KEY] === OPT_IN_VALUE ? 'pod' : undefined;
}
