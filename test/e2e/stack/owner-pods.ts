/**
 * Owner-mode pods on the real stack: the non-JVM app test/e2e/fixtures/plain-app.js (a Node `http` server with
 * no Eureka code) next to the built drainer with DRAINER_MODE=owner, both as k8s/owner-mode.yaml describes the
 * pod (manifest.ts podFromManifest: the drainer's env, both preStop hooks, probes, grace period, sidecar kind).
 * Substituted, as for the companion pods: addresses (pod IP, node IP, pod name, Eureka URLs, the app's port, the
 * health URL's port), the Eureka name (`plain`, the gateway's /plain/** route), and the scaled timings (leases
 * 1 s / 5 s, health every 0.5 s, the fleet's cache intervals, tail 1 s, grace 30 s).
 *
 * Used by owner-mode.test.ts and the owner-mode row of bench/drain-bench.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { startDrainer, type DrainerProcess } from '../support/drainer-process';
import { pollUntil } from '../support/poll';
import { freePort, type SpringApp } from '../support/spring-app';
import { childProcess, terminatePod, type ContainerProcess } from './kubelet';
import { hookFrom, podFromManifest, type ManifestPod, type ManifestSource, type PortMap } from './manifest';
import type { PrestopReport, RollOut } from './scenario';
import { SCALED, SCALED_GRACE_SECONDS, type StackTimings } from './stack';
import type { Deployment, Manifest } from '../../helpers/manifest';

const ROOT = resolve(__dirname, '..', '..', '..');
const PLAIN_APP_JS = resolve(ROOT, 'test/e2e/fixtures/plain-app.js');

/** The shipped owner-mode example (manifest.ts reads any k8s/ file; its type lists the companion ones). */
export const OWNER_MANIFEST = 'k8s/owner-mode.yaml' as ManifestSource;
/** The Eureka name the drainer registers the plain app under (the gateway routes /plain/** to lb://plain). */
export const PLAIN = 'plain';
/** Scaled lease: heartbeat every second, lease 5 s (the manifest says 30 / 90). */
export const LEASE_RENEWAL_SECONDS = 1;
export const LEASE_DURATION_SECONDS = 5;
export const HEALTH_INTERVAL_SECONDS = 0.5;

/**
 * k8s/owner-mode.yaml as a native sidecar: the drainer container moved to initContainers with
 * `restartPolicy: Always` and without its own preStop (k8s/native-sidecar.yaml has none: it is stopped after
 * the app), everything else as shipped. A modified copy in a temp directory, read by manifest.ts like the
 * shipped file (as hook-order.test.ts does for its older manifest).
 */
export function nativeOwnerManifest(): ManifestSource {
  const docs = YAML.parseAllDocuments(readFileSync(resolve(ROOT, OWNER_MANIFEST), 'utf8')).map((d) => d.toJSON() as Manifest);
  const spec = (docs.find((d) => d.kind === 'Deployment') as Deployment).spec.template.spec;
  const containers = spec.containers;
  const drainer = containers.find((c) => String(c.image).includes('eureka-drainer'));
  if (!drainer) throw new Error(`${OWNER_MANIFEST}: no eureka-drainer container (update owner-pods.ts)`);
  delete drainer.lifecycle;
  spec.containers = containers.filter((c) => c !== drainer);
  spec.initContainers = [{ ...drainer, restartPolicy: 'Always' }];
  const file = join(mkdtempSync(join(tmpdir(), 'owner-native-')), 'owner-mode-native.yaml');
  writeFileSync(file, docs.map((d) => YAML.stringify(d)).join('---\n'));
  return file as ManifestSource;
}

/** The plain Node app (test/e2e/fixtures/plain-app.js) as a container's process. */
export interface PlainApp {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Its stdout JSON lines (listening, sigterm, exit with servedAfterSigterm). */
  readonly events: Record<string, unknown>[];
  readonly process: ContainerProcess;
  readonly exited: boolean;
  setHealthy(healthy: boolean): Promise<void>;
}

export async function startPlainApp(host: string, port: number, label: string): Promise<PlainApp> {
  const child = spawn(process.execPath, [PLAIN_APP_JS], { env: { PATH: process.env.PATH ?? '', HOST: host, PORT: String(port), LABEL: label }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdout.on('data', (c: Buffer) => {
    buffer += c.toString('utf8');
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: 'text', line });
      }
    }
  });
  const proc = childProcess(child);
  let exited = false;
  void proc.exit.then(() => (exited = true));
  running.add(child);
  void proc.exit.then(() => running.delete(child));
  await pollUntil(`plain app on ${host}:${port} listening (stderr: ${stderr.slice(-300)})`, async () => (events.some((e) => e.event === 'listening') ? true : exited ? Promise.reject(new Error(`exited: ${stderr}`)) : undefined), 10_000, 20);
  const url = `http://${host}:${port}`;
  return {
    child,
    host,
    port,
    url,
    events,
    process: proc,
    get exited() {
      return exited;
    },
    async setHealthy(healthy) {
      const response = await fetch(`${url}/toggle-health?healthy=${healthy}`, { method: 'POST', signal: AbortSignal.timeout(2_000) });
      if (!response.ok) throw new Error(`toggle-health answered ${response.status}`);
      await response.body?.cancel();
    },
  };
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One owner-mode pod: the plain app and its drainer, from a manifest. */
export interface OwnedPod {
  readonly app: PlainApp;
  readonly drainer: DrainerProcess;
  readonly pod: ManifestPod;
  /** `<pod name>:plain:<port>`, the manifest's default (POD_NAME:app:port). */
  readonly instanceId: string;
  readonly podName: string;
  readonly podIp: string;
  readonly nodeIp: string;
  /** The manifest's container ports → the ports the processes listen on here. */
  readonly ports: PortMap;
}

export interface OwnedPodOptions {
  /** The Eureka servers' URLs, comma-separated (per-server, like the manifest's). */
  readonly eurekaUrls: string;
  readonly manifest?: ManifestSource;
  readonly podIp?: string;
  readonly nodeIp?: string;
  readonly timings?: StackTimings;
  /** More drainer env (test-only settings), listed in `pod.substituted`. */
  readonly env?: Readonly<Record<string, string>>;
  /** terminationGracePeriodSeconds and DRAINER_GRACE_PERIOD_SECONDS (default the scaled 30 s). */
  readonly graceSeconds?: number;
  /** The app's /health at the drainer's start (default healthy). */
  readonly appHealthy?: boolean;
  /** Wait for the drainer's readinessProbe (/readyz: 200 once registered). Default true. */
  readonly waitReady?: boolean;
}

/** The drainer env the stack substitutes into the owner-mode manifest (scaled timings, addresses). */
export function ownerSubstitutions(appPort: number, t: StackTimings = SCALED): Record<string, string> {
  return {
    EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(t.serverCacheMs),
    EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: String(t.fetchSeconds),
    SPRING_CLOUD_LOADBALANCER_CACHE_TTL: `${t.lbTtlMs}ms`,
    DRAINER_TAIL_SECONDS: String(t.tailSeconds),
    DRAINER_APP_SHUTDOWN_SECONDS: '10',
    DRAINER_VERIFY_POLL_MS: '100',
    DRAINER_LEASE_RENEWAL_SECONDS: String(LEASE_RENEWAL_SECONDS),
    DRAINER_LEASE_DURATION_SECONDS: String(LEASE_DURATION_SECONDS),
    DRAINER_HEALTH_INTERVAL_SECONDS: String(HEALTH_INTERVAL_SECONDS),
    // The manifest's URL names the container port (3000); here the app listens on its own free port.
    DRAINER_APP_HEALTH_URL: `http://127.0.0.1:${appPort}/health`,
    // Every drainer here shares loopback, so each takes a free port (mapped to containerPort 8787).
    DRAINER_PORT: '0',
  };
}

/** Starts the plain app and its owner-mode drainer; resolves once the drainer's readinessProbe says ready. */
export async function startOwnedPod(options: OwnedPodOptions): Promise<OwnedPod> {
  const podIp = options.podIp ?? '127.0.0.1';
  const nodeIp = options.nodeIp ?? '127.0.0.1';
  const port = await freePort(podIp);
  const podName = `plain-${port}`;
  const instanceId = `${podName}:${PLAIN}:${port}`;
  const graceSeconds = options.graceSeconds ?? SCALED_GRACE_SECONDS;
  const pod = podFromManifest(options.manifest ?? OWNER_MANIFEST, {
    podIp,
    nodeIp,
    podName,
    eurekaUrls: options.eurekaUrls,
    appPort: port,
    appName: PLAIN,
    graceSeconds,
    env: { ...ownerSubstitutions(port, options.timings), ...(options.env ?? {}) },
  });
  const app = await startPlainApp(podIp, port, instanceId);
  if (options.appHealthy === false) await app.setHealthy(false);
  // The manifest does not set DRAINER_HOST: the drainer listens on its default address.
  const drainer = await startDrainer({ ...(pod.drainer.env.DRAINER_HOST === undefined ? { DRAINER_HOST: '' } : {}), ...pod.drainer.env });
  drainers.add(drainer);
  void drainer.exited.then(() => drainers.delete(drainer));
  const ports: Record<number, number> = {};
  for (const p of pod.drainer.ports) ports[p.containerPort] = drainer.port;
  for (const p of pod.app.ports) ports[p.containerPort] = port;
  const owned: OwnedPod = { app, drainer, pod, instanceId, podName, podIp, nodeIp, ports };
  if (options.waitReady ?? true) {
    const probe = pod.drainer.readinessProbe;
    if (!probe) throw new Error(`${pod.source}: the drainer has no readinessProbe`);
    const get = hookFrom(probe, ports);
    await pollUntil(`${instanceId}: the drainer's readinessProbe ${get.path} from ${nodeIp}`, async () => ((await getFromNode(owned, get.port, get.path)).status === 200 ? true : undefined), 20_000, 100);
  }
  return owned;
}

const drainers = new Set<DrainerProcess>();

/** SIGKILLs every drainer and app started here (afterAll). */
export async function stopOwnedPods(): Promise<void> {
  for (const d of drainers) d.kill('SIGKILL');
  for (const c of running) c.kill('SIGKILL');
  await Promise.all([...drainers].map((d) => d.exited));
}

/** A GET from the node address to the pod, as the kubelet's prober and hooks send it. */
export function getFromNode(pod: Pick<OwnedPod, 'podIp' | 'nodeIp'>, port: number, path: string, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; body: string }> {
  return new Promise((done) => {
    const req = request({ host: pod.podIp, port, path, localAddress: pod.nodeIp, agent: false, timeout: 2_000, headers: { 'User-Agent': 'kube-probe/1.33', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => done({ status: 0, body: error.message }));
    req.end();
  });
}

/** The terminating pod through the kubelet emulator, every hook and the sidecar kind from the manifest. */
export async function rollOutOwned(owned: OwnedPod): Promise<RollOut> {
  const { pod } = owned;
  if (!pod.app.preStop) throw new Error(`${pod.source}: the app container has no preStop httpGet`);
  const record = await terminatePod({
    app: owned.app.process,
    drainer: owned.drainer,
    sidecar: pod.sidecar,
    appPreStop: hookFrom(pod.app.preStop, owned.ports),
    ...(pod.drainer.preStop ? { drainerPreStop: hookFrom(pod.drainer.preStop, owned.ports) } : {}),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    podIp: owned.podIp,
    nodeIp: owned.nodeIp,
  });
  const hook = record.app.hook;
  if (!hook || hook.status !== 200 || !hook.body) throw new Error(`preStop call got no drain report: ${JSON.stringify(hook)}`);
  return { record, report: JSON.parse(hook.body) as PrestopReport };
}

/** A registration as the server answers it: the fields read by name typed, the rest compared whole. */
export interface RawInstance {
  status: string;
  healthCheckUrl: string;
  leaseInfo: { lastRenewalTimestamp: number; registrationTimestamp: number; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * The live registration (`GET /eureka/apps/PLAIN/{id}`, not cached) exactly as the server answers it, no codec
 * in between: the fields a Java caller will read. null on 404.
 */
export async function rawInstance(server: SpringApp, instanceId: string): Promise<RawInstance | null> {
  const response = await fetch(`${server.url}/eureka/apps/${PLAIN.toUpperCase()}/${encodeURIComponent(instanceId)}`, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(3_000) });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) throw new Error(`${server.name} answered ${response.status}`);
  return ((await response.json()) as { instance: RawInstance }).instance;
}

/** One value of the drainer's /metrics (summed over series matching `labels`), 0 when absent. */
export async function metricValue(drainer: DrainerProcess, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const response = await fetch(`${drainer.url}/metrics`, { signal: AbortSignal.timeout(3_000) });
  const text = await response.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const series = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Polls GET <gateway>/plain/hello until every id has answered at least once. */
export async function waitRoutedPlain(gatewayUrl: string, instanceIds: readonly string[], timeoutMs = 30_000): Promise<void> {
  const missing = new Set(instanceIds);
  await pollUntil(
    `the gateway to route /plain to ${[...missing].join(', ')}`,
    async () => {
      for (let i = 0; i < 4 && missing.size > 0; i++) {
        const response = await fetch(`${gatewayUrl}/plain/hello`, { signal: AbortSignal.timeout(3_000) });
        if (response.ok) missing.delete(((await response.json()) as { instanceId?: string }).instanceId ?? '');
        else await response.body?.cancel();
      }
      return missing.size === 0 ? true : undefined;
    },
    timeoutMs,
    200,
  );
}
