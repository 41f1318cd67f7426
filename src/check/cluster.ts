/**
 * The I/O shell of `eureka-drainer check`: reads namespaces, pods and the drainers' ConfigMaps, read-only,
 * through @kubernetes/client-node, which reads the kubeconfig the way kubectl does (KUBECONFIG with several
 * files, ~/.kube/config, contexts, exec credential plugins such as `aws eks get-token`, and in a pod the
 * service account token). The client is an ES module of ~130 MB resident: it is imported here, when the
 * command runs, so the sidecar never loads it (test/unit/check/footprint.test.ts).
 */
import type * as ClientNode from '@kubernetes/client-node';
import { ClusterReadError } from '../errors';
import type { ConfigMaps } from '../inject/grace';
import { isObject } from '../inject/workload';
import { configMapsToRead } from './pod-check';
import type { ClusterView } from './report';
import type { Labels } from './scope';

export interface ClusterOptions {
  /** A kubeconfig file instead of KUBECONFIG / ~/.kube/config / the in-cluster service account. */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig instead of its current-context. */
  readonly context?: string;
  /** One namespace instead of all. */
  readonly namespace?: string;
}

/** Items per list request: a large cluster's pods come in pages, as kubectl's do (it uses 500 too). */
const PAGE = 500;

export async function readCluster(options: ClusterOptions): Promise<ClusterView> {
  // A real import() in the CommonJS output (module: NodeNext keeps it), which loads the ES module.
  const k8s = await import('@kubernetes/client-node');
  const config = loadKubeConfig(k8s, options);
  const server = config.getCurrentCluster()?.server ?? '(none)';
  const core = config.makeApiClient(k8s.CoreV1Api);
  const failed = (what: string, error: unknown): ClusterReadError =>
    new ClusterReadError(`cannot ${what} on ${server} (context ${config.getCurrentContext() || '(none)'}): ${describeApiError(error)}${hintFor(config)}`, { cause: error });

  const warnings: string[] = [];
  const namespaceLabels = new Map<string, Labels>();
  try {
    const namespaces = options.namespace !== undefined ? [await core.readNamespace({ name: options.namespace })] : await listAll((page) => core.listNamespace(page));
    for (const ns of namespaces) namespaceLabels.set(ns.metadata?.name ?? '', { ...(ns.metadata?.labels ?? {}) });
  } catch (error) {
    if (statusOf(error) === 404 && options.namespace !== undefined) throw new ClusterReadError(`namespace ${options.namespace} not found on ${server}`);
    if (statusOf(error) !== 403) throw failed(options.namespace !== undefined ? `read namespace ${options.namespace}` : 'list namespaces', error);
    warnings.push(`cannot read the namespaces' labels (${describeApiError(error)}): pods of opted-in namespaces that lack the drainer are not found, only labelled pods and pods with the drainer are checked`);
  }

  let pods: unknown[];
  try {
    const typed =
      options.namespace !== undefined
        ? await listAll((page) => core.listNamespacedPod({ namespace: options.namespace!, ...page }))
        : await listAll((page) => core.listPodForAllNamespaces(page));
    // Back to the API's JSON (the client's model classes hold Dates); a list's items carry no kind.
    pods = typed.map((pod) => ({ apiVersion: 'v1', kind: 'Pod', ...(JSON.parse(JSON.stringify(pod)) as object) }));
  } catch (error) {
    throw failed(options.namespace !== undefined ? `list pods in namespace ${options.namespace}` : 'list pods in all namespaces', error);
  }

  const configMaps = new Map<string, ConfigMaps>();
  for (const [namespace, names] of configMapsToRead(pods)) {
    const data: Record<string, Readonly<Record<string, string>>> = {};
    for (const name of names) {
      try {
        const cm = await core.readNamespacedConfigMap({ name, namespace });
        data[name] = { ...(cm.data ?? {}) };
      } catch (error) {
        // The pod's note says its plan used the defaults for this ConfigMap; a refusal is worth a warning too.
        if (statusOf(error) !== 404) warnings.push(`cannot read ConfigMap ${namespace}/${name} (${describeApiError(error)})`);
      }
    }
    configMaps.set(namespace, data);
  }
  return { pods, namespaceLabels, configMaps, warnings };
}

function loadKubeConfig(k8s: typeof ClientNode, options: ClusterOptions): ClientNode.KubeConfig {
  const config = new k8s.KubeConfig();
  try {
    if (options.kubeconfig !== undefined) config.loadFromFile(options.kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new ClusterReadError(`cannot load the kubeconfig${options.kubeconfig !== undefined ? ` ${options.kubeconfig}` : ''}: ${describeApiError(error)}`, { cause: error });
  }
  if (options.context !== undefined) {
    if (!config.getContextObject(options.context)) {
      throw new ClusterReadError(`context ${JSON.stringify(options.context)} is not in the kubeconfig; its contexts: ${config.getContexts().map((c) => c.name).join(', ') || '(none)'}`);
    }
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster()) throw new ClusterReadError(`the kubeconfig's context ${JSON.stringify(config.getCurrentContext())} names no cluster`);
  return config;
}

/** Every page of a list. */
async function listAll<T>(list: (page: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await list({ limit: PAGE, ...(next !== undefined ? { _continue: next } : {}) });
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
  return items;
}

/** The HTTP status of a client-node ApiException. */
function statusOf(error: unknown): number | undefined {
  return isObject(error) && typeof error.code === 'number' ? error.code : undefined;
}

/** `HTTP 403: pods is forbidden: …` from the apiserver's Status, or the socket's reason (`connect ECONNREFUSED …`). */
function describeApiError(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined && isObject(error)) {
    let body: unknown = error.body;
    try {
      if (typeof body === 'string') body = JSON.parse(body);
    } catch {
      // Not JSON: a proxy's page; the status says enough.
    }
    const message = isObject(body) && typeof body.message === 'string' ? body.message : undefined;
    return `HTTP ${status}${message ? `: ${message}` : ''}`;
  }
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; isObject(e) && depth < 4; e = e.cause, depth++) {
    if (typeof e.message === 'string' && e.message !== '' && !parts.includes(e.message)) parts.push(e.message);
  }
  return parts.join(': ') || String(error);
}

/** What kubectl says too when it found no kubeconfig and is not in a pod: it tries localhost:8080. */
function hintFor(config: ClientNode.KubeConfig): string {
  const cluster = config.getCurrentCluster();
  return cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080'
    ? ' (no kubeconfig was found: set KUBECONFIG or --kubeconfig, or run it in a pod with a service account)'
    : '';
}
