/**
 * The real cluster as the tests talk to it: the `kubectl` built for it (test/k8s/cluster/build-kube.sh), with the
 * admin kubeconfig that `cluster.sh up` wrote. The tests run inside the cluster's network namespace
 * (`cluster.sh exec`), which sets KUBECONFIG and puts that kubectl first on PATH.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import YAML from 'yaml';
import { pollUntil } from '../../../e2e/support/poll';

export type Json = Record<string, unknown>;

/** Where everything the cluster tests start listens: the node's two addresses (cluster.sh). */
export const NODE_IP = '10.213.0.2';
export const NODE_IP2 = '10.213.0.3';
/** The namespace every cluster test works in (made fresh per file). */
export const NODE_NAME = 'edk8s-node';

export function assertInCluster(): void {
  if (!process.env['KUBECONFIG']) {
    throw new Error('KUBECONFIG is not set: run the cluster tests through test/k8s/cluster/run-tests.sh (or `cluster.sh exec npx jest -c jest.cluster.config.js`), which brings the cluster up and runs them inside its network namespace');
  }
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs kubectl; resolves with its output whatever the exit code. */
export function kubectlRaw(args: readonly string[], input?: string, timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** Runs kubectl and returns stdout; rejects with kubectl's own message on a non-zero exit. */
export async function kubectl(args: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
  const r = await kubectlRaw(args, input, timeoutMs);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export async function kubectlJson<T = Json>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** `kubectl apply` of objects (as YAML documents). */
export async function apply(objects: readonly Json[], namespace?: string): Promise<string> {
  const yaml = objects.map((o) => YAML.stringify(o)).join('---\n');
  return kubectl(['apply', ...(namespace ? ['-n', namespace] : []), '-f', '-'], yaml);
}

/** A fresh namespace for one test file; `deleteNamespace` removes it (and waits, bounded). */
export async function createNamespace(name: string): Promise<string> {
  await kubectlRaw(['delete', 'namespace', name, '--wait=true', '--timeout=60s']);
  await kubectl(['create', 'namespace', name]);
  await pollUntil(`the default service account in ${name}`, async () => ((await kubectlRaw(['get', 'sa', 'default', '-n', name])).code === 0 ? true : undefined), 30_000, 200);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectlRaw(['delete', 'namespace', name, '--wait=true', '--timeout=90s'], undefined, 100_000);
}

export interface PodStatus {
  readonly name: string;
  readonly phase: string;
  readonly podIP?: string;
  readonly ready: boolean;
  readonly deletionTimestamp?: string;
  /** containerStatuses and initContainerStatuses (a native sidecar reports in the latter). */
  readonly containers: readonly { name: string; ready: boolean; restartCount: number; state: Json; lastState: Json; containerID?: string }[];
  readonly raw: Json;
}

export function podStatus(pod: Json): PodStatus {
  const meta = pod['metadata'] as Json;
  const status = (pod['status'] ?? {}) as Json;
  const conditions = (status['conditions'] ?? []) as Json[];
  const containers = [...((status['initContainerStatuses'] ?? []) as Json[]), ...((status['containerStatuses'] ?? []) as Json[])];
  return {
    name: String(meta['name']),
    phase: (status['phase'] as string | undefined) ?? '',
    podIP: status['podIP'] as string | undefined,
    ready: conditions.some((c) => c['type'] === 'Ready' && c['status'] === 'True'),
    deletionTimestamp: meta['deletionTimestamp'] as string | undefined,
    containers: containers.map((c) => ({
      name: String(c['name']),
      ready: c['ready'] === true,
      restartCount: Number(c['restartCount'] ?? 0),
      state: (c['state'] ?? {}) as Json,
      lastState: (c['lastState'] ?? {}) as Json,
      containerID: c['containerID'] as string | undefined,
    })),
    raw: pod,
  };
}

export async function getPod(namespace: string, name: string): Promise<PodStatus | undefined> {
  const r = await kubectlRaw(['get', 'pod', name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get pod ${name}: ${r.stderr.trim()}`);
  }
  return podStatus(JSON.parse(r.stdout) as Json);
}

export async function listPods(namespace: string, selector: string): Promise<PodStatus[]> {
  const list = await kubectlJson<{ items: Json[] }>(['get', 'pods', '-n', namespace, '-l', selector]);
  return list.items.map(podStatus);
}

/** Waits until the pod is Ready (every container's readiness probe passed, as the kubelet saw it). */
export function waitPodReady(namespace: string, name: string, timeoutMs = 180_000): Promise<PodStatus> {
  return pollUntil(`pod ${namespace}/${name} Ready`, async () => {
    const pod = await getPod(namespace, name);
    return pod?.ready ? pod : undefined;
  }, timeoutMs, 250);
}

export function waitPodGone(namespace: string, name: string, timeoutMs = 180_000): Promise<true> {
  return pollUntil(`pod ${namespace}/${name} gone`, async () => ((await getPod(namespace, name)) === undefined ? true : undefined), timeoutMs, 100);
}

/**
 * `kubectl logs -f` of one container, from its start, collected until the container ends (or `stop()`).
 * Pod logs are removed with the pod, so a test that needs a drained container's log follows it before the delete.
 */
export class LogFollower {
  private readonly child: ChildProcess;
  private buffer = '';
  readonly lines: string[] = [];
  readonly ended: Promise<void>;

  constructor(namespace: string, pod: string, container: string) {
    this.child = spawn('kubectl', ['logs', '-f', '-n', namespace, pod, '-c', container], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    this.ended = new Promise((resolve) => this.child.on('close', () => resolve()));
  }

  /** The pino JSON lines (others skipped). */
  json(): Json[] {
    const out: Json[] = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Json);
      } catch {
        // a line cut by the container's end
      }
    }
    return out;
  }

  /** The first log line whose msg starts with `msg`. */
  find(msg: string): Json | undefined {
    return this.json().find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(msg));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.ended;
  }
}

/**
 * Follows one pod through its termination with a watch (`kubectl get pod -w --output-watch-events -o json`), so
 * that every status the apiserver stored is seen, up to the DELETED event: each container's terminated state (exit
 * code, reason, finishedAt) is kept, even when the pod is removed a few milliseconds after its last container ended.
 */
export class PodTracker {
  last: PodStatus | undefined;
  private readonly terminatedStates = new Map<string, Json>();
  private readonly child: ChildProcess;
  readonly gone: Promise<void>;

  constructor(readonly namespace: string, readonly name: string, timeoutMs = 240_000) {
    this.child = spawn('kubectl', ['get', 'pod', name, '-n', namespace, '-w', '--output-watch-events', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let deleted = false;
    this.child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      // One event per line: {"type": "ADDED" | "MODIFIED" | "DELETED", "object": the pod}.
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as { type: string; object: Json };
        this.last = podStatus(event.object);
        for (const c of this.last.containers) {
          const terminated = (c.state['terminated'] ?? c.lastState['terminated']) as Json | undefined;
          if (terminated) this.terminatedStates.set(c.name, terminated);
        }
        if (event.type === 'DELETED') {
          deleted = true;
          this.child.kill('SIGTERM');
        }
      }
    });
    this.gone = new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.child.kill('SIGTERM'), timeoutMs);
      this.child.on('close', () => {
        clearTimeout(timer);
        if (deleted) resolve();
        else reject(new Error(`pod ${namespace}/${name}: the watch ended before the pod was deleted (timeout ${timeoutMs} ms)`));
      });
    });
  }

  /** The container's last terminated state as the apiserver showed it. */
  terminated(container: string): Json | undefined {
    return this.terminatedStates.get(container);
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

/** A bare Pod from a Deployment's template (what `kubectl delete pod` acts on, with no ReplicaSet to replace it). */
export function podFromDeployment(deployment: Json, name: string): Json {
  const template = (deployment['spec'] as Json)['template'] as Json;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...(template['metadata'] as Json), name }, spec: template['spec'] };
}

/** The kubelet's own log (cluster.sh writes it; --v=3 shows each preStop hook and kill). */
export function kubeletLogPath(): string {
  return `${process.env['EUREKA_DRAINER_CLUSTER_DIR'] ?? '/tmp/eureka-drainer-cluster'}/logs/kubelet.log`;
}

/** The host PID of a running container (its task in the cluster's containerd), from a containerID `containerd://…`. */
export function containerPid(containerID: string): number {
  const id = containerID.replace(/^containerd:\/\//, '');
  const socket = `${process.env['EUREKA_DRAINER_CLUSTER_DIR'] ?? '/tmp/eureka-drainer-cluster'}/containerd/containerd.sock`;
  const out = execFileSync('ctr', ['--address', socket, '-n', 'k8s.io', 'task', 'ls'], { encoding: 'utf8' });
  const row = out.split('\n').map((l) => l.trim().split(/\s+/)).find((cols) => cols[0] === id);
  if (!row) throw new Error(`container ${id} has no running task in containerd`);
  return Number(row[1]);
}
