/**
 * Footprint on a real kubelet (issue 20 C6; a benchmark, not a test): the drainer container's working set as the
 * kubelet reports it, beside a bare Node container of the same image, idle, after 10,000 /metrics scrapes and after
 * 100 drain cycles. Runs inside the real cluster's network namespace (test/k8s/cluster/cluster.sh):
 *
 *   bash test/k8s/cluster/cluster.sh exec node bench/run.js cluster-footprint [--scrapes 10000] [--drains 100]
 *        [--idle-seconds 30] [--image REF] [--label NAME] [--keep]
 *
 * --image REF: the drainer container's image instead of the manifest's (the fake app and the bare container keep
 * the manifest's); with a copy of the image whose files were evicted from the page cache, the drainer container is
 * the first to read them and its cgroup is charged for them: the cold case (bench/README.md).
 *
 * Two pods in the namespace edk8s-fp-bench:
 * - `drainer`: k8s/classic-sidecar.yaml's pod with its drainer container as shipped (image, env, probes, hooks,
 *   resources, security context), only the Eureka URL and the timings substituted (printed), and its app container
 *   replaced by the fake app of bench/footprint/fake-app.ts run by the same image's node (`node -e`);
 * - `bare`: the same image's node running a bare node:http server (`node -e`), with the drainer container's
 *   NODE_OPTIONS, resources and security context (so the same QoS class and V8 flags).
 * The fake Eureka (bench/footprint/fake-eureka.ts) runs in this process on the node's address; the drain cycle is
 * bench/footprint/drain-cycle.ts's, as in bench/footprint.js.
 *
 * At each point both containers' memory is read twice: from their cgroups at once (working set = usage −
 * total_inactive_file, as cAdvisor computes it on cgroup v1), and from the kubelet's summary API
 * (/api/v1/nodes/edk8s-node/proxy/stats/summary, workingSetBytes), waiting for a sample taken after the point
 * (cAdvisor refreshes every 10–15 s). Output: a table on stdout, everything in bench/results/cluster-footprint[-label].json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { assertInCluster, apply, containerPid, createNamespace, deleteNamespace, getPod, kubectl, NODE_IP, NODE_NAME, podFromDeployment, waitPodReady, type Json, type PodStatus } from '../test/k8s/cluster/support/kube';
import { drainOnce, FASTEST_DRAIN_ENV } from './footprint/drain-cycle';
import { FAKE_APP_SOURCE, FakeAppControl } from './footprint/fake-app';
import { FakeEureka } from './footprint/fake-eureka';
import { HttpTarget } from './footprint/http-target';
import { containerCgroupDir, readCgroupMemory, readCpuSeconds, readProcessMemory, type CgroupMemory, type ProcessMemory } from './footprint/container-usage';

const ROOT = resolve(__dirname, '..');
const MANIFEST = 'k8s/classic-sidecar.yaml';
const NAMESPACE = 'edk8s-fp-bench';
const NODE = '/usr/local/bin/node'; // the image's node (docker/image.json)
const APP_PORT = 8080;
const CONTROL_PORT = 8081;
const DRAINER_PORT = 8787;
const BARE_SOURCE = `
const http = require('node:http');
http.createServer((req, res) => res.end('ok')).listen(${APP_PORT}, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));`;
/** The smallest plan the configuration accepts, so 100 drains take a couple of minutes. */
const TIMINGS = FASTEST_DRAIN_ENV;
const GRACE_SECONDS = 10;

interface Options {
  readonly scrapes: number;
  readonly drains: number;
  readonly idleSeconds: number;
  readonly image: string | undefined;
  readonly label: string;
  readonly keep: boolean;
}

function parseOptions(args: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const count = (flag: string, fallback: number): number => {
    const raw = value(flag);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
    return n;
  };
  return { scrapes: count('--scrapes', 10_000), drains: count('--drains', 100), idleSeconds: count('--idle-seconds', 30), image: value('--image'), label: value('--label') ?? '', keep: args.includes('--keep') };
}

const obj = (v: unknown): Json => v as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const envValue = (container: Json, name: string): string | undefined => arr(container['env']).find((e) => e['name'] === name)?.['value'] as string | undefined;
const MiB = (bytes: number): number => bytes / 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pods {
  readonly drainer: Json;
  /** The drainer pod's eureka-drainer container. */
  readonly drainerContainer: Json;
  readonly bare: Json;
  readonly token: string;
  readonly appName: string;
  /** name → [the manifest's value, the value here]. */
  readonly substituted: Record<string, readonly [string | undefined, string]>;
}

/** The two pods: the manifest's drainer container with the substitutions listed, and the bare Node container. */
function buildPods(eurekaUrl: string, image: string | undefined): Pods {
  const deployment = YAML.parseAllDocuments(readFileSync(join(ROOT, MANIFEST), 'utf8'))
    .map((d) => d.toJSON() as Json)
    .find((d) => d?.['kind'] === 'Deployment');
  if (!deployment) throw new Error(`${MANIFEST}: no Deployment`);
  const pod = structuredClone(podFromDeployment(deployment, 'drainer'));
  const spec = obj(pod['spec']);
  const drainer = arr(spec['containers']).find((c) => String(c['image']).includes('eureka-drainer'));
  if (!drainer) throw new Error(`${MANIFEST}: no eureka-drainer container`);
  const substituted: Pods['substituted'] = {};
  const set = (name: string, value: string): void => {
    const env = arr(drainer['env']);
    const existing = env.find((e) => e['name'] === name);
    substituted[`drainer ${name}`] = [existing?.['value'] as string | undefined, value];
    if (existing) existing['value'] = value;
    else env.push({ name, value });
    drainer['env'] = env;
  };
  set('DRAINER_EUREKA_URLS', eurekaUrl);
  for (const [name, value] of Object.entries(TIMINGS)) set(name, value);
  const manifestImage = String(drainer['image']);
  if (image) {
    substituted['drainer image'] = [String(drainer['image']), image];
    drainer['image'] = image;
  }
  drainer['imagePullPolicy'] = 'Never';
  substituted['terminationGracePeriodSeconds'] = [String(spec['terminationGracePeriodSeconds']), String(GRACE_SECONDS)];
  spec['terminationGracePeriodSeconds'] = GRACE_SECONDS;

  const token = envValue(drainer, 'DRAINER_TOKEN');
  const appName = envValue(drainer, 'DRAINER_APP_NAME');
  const appPort = Number(envValue(drainer, 'DRAINER_APP_PORT'));
  const nodeOptions = envValue(drainer, 'NODE_OPTIONS');
  if (!token || !appName || appPort !== APP_PORT || !nodeOptions) throw new Error(`${MANIFEST}: the drainer container lacks DRAINER_TOKEN, DRAINER_APP_NAME, DRAINER_APP_PORT=${APP_PORT} or NODE_OPTIONS`);
  const nodeContainer = (name: string, source: string, env: Json[], ports: number[]): Json => ({
    name,
    image: manifestImage,
    imagePullPolicy: 'Never',
    command: [NODE, '-e', source],
    env: [...env, { name: 'NODE_OPTIONS', value: nodeOptions }],
    ports: ports.map((containerPort) => ({ containerPort })),
    securityContext: drainer['securityContext'],
  });
  // The user's app: the fake app, run by the drainer image's node (no hooks: the bench calls /prestop itself).
  const app = nodeContainer('app', FAKE_APP_SOURCE, [{ name: 'APP_PORT', value: String(APP_PORT) }, { name: 'CONTROL_PORT', value: String(CONTROL_PORT) }], [APP_PORT, CONTROL_PORT]);
  substituted['app container'] = ['the user\'s app', `${NODE} -e <bench/footprint/fake-app.ts> (drainer image)`];
  spec['containers'] = arr(spec['containers']).map((c) => (c === drainer ? drainer : app));

  const bare: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bare', labels: { app: 'bare' } },
    spec: { terminationGracePeriodSeconds: GRACE_SECONDS, containers: [{ ...nodeContainer('bare', BARE_SOURCE, [], [APP_PORT]), resources: drainer['resources'] }] },
  };
  return { drainer: pod, drainerContainer: drainer, bare, token, appName, substituted };
}

interface ContainerRef {
  readonly pod: string;
  readonly container: string;
  /** Its memory and cpuacct cgroups. */
  readonly memoryDir: string;
  readonly cpuDir: string;
  /** The container's main process (node), on the host. */
  readonly pid: number;
}

function containerRef(pod: PodStatus, container: string): ContainerRef {
  const status = pod.containers.find((c) => c.name === container);
  const meta = obj(pod.raw['metadata']);
  const qos = String(obj(pod.raw['status'])['qosClass']);
  if (!status?.containerID) throw new Error(`pod ${pod.name}: container ${container} has no containerID`);
  const dir = (root: string): string => containerCgroupDir(root, qos, String(meta['uid']), status.containerID!);
  return { pod: pod.name, container, memoryDir: dir('/sys/fs/cgroup/memory'), cpuDir: dir('/sys/fs/cgroup/cpuacct'), pid: containerPid(status.containerID) };
}

interface KubeletSample {
  readonly time: string;
  readonly workingSetBytes: number;
  readonly usageBytes: number;
  readonly rssBytes: number;
}

async function kubeletSamples(): Promise<Map<string, KubeletSample>> {
  const summary = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${NODE_NAME}/proxy/stats/summary`])) as { pods: { podRef: { name: string; namespace: string }; containers?: { name: string; memory?: KubeletSample }[] }[] };
  const out = new Map<string, KubeletSample>();
  for (const pod of summary.pods) {
    if (pod.podRef.namespace !== NAMESPACE) continue;
    for (const c of pod.containers ?? []) if (c.memory) out.set(`${pod.podRef.name}/${c.name}`, c.memory);
  }
  return out;
}

interface PointReading {
  readonly point: string;
  readonly at: string;
  /** Per `pod/container`: the cgroup read at the point, and the kubelet's first sample taken at or after it. */
  readonly containers: Record<string, { cgroup: CgroupMemory; process: ProcessMemory; cpuSeconds: number; kubelet: KubeletSample | undefined; kubeletLagSeconds: number | undefined }>;
  /** The drainer's V8 heap (its /metrics, read after the cgroups). */
  readonly drainerHeap: { usedBytes: number; totalBytes: number };
}

/** Both views of every container at one point; waits (≤ 45 s) for the kubelet's samples to be from after it. */
async function readPoint(point: string, refs: readonly ContainerRef[], drainer: HttpTarget): Promise<PointReading> {
  const at = new Date();
  const atSecond = Math.floor(at.getTime() / 1000) * 1000;
  const cpu = new Map(refs.map((r) => [`${r.pod}/${r.container}`, readCpuSeconds(r.cpuDir)]));
  const cgroups = new Map(refs.map((r) => [`${r.pod}/${r.container}`, readCgroupMemory(r.memoryDir)]));
  const processes = new Map(refs.map((r) => [`${r.pod}/${r.container}`, readProcessMemory(r.pid)]));
  const { body } = await drainer.get('/metrics');
  const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(body)?.[1]);
  const drainerHeap = { usedBytes: metric('nodejs_heap_size_used_bytes'), totalBytes: metric('nodejs_heap_size_total_bytes') };
  const until = Date.now() + 45_000;
  let samples = await kubeletSamples();
  const fresh = (): boolean => [...cgroups.keys()].every((k) => Date.parse(samples.get(k)?.time ?? '') >= atSecond);
  while (!fresh() && Date.now() < until) {
    await sleep(1_000);
    samples = await kubeletSamples();
  }
  const containers: PointReading['containers'] = {};
  for (const [key, cgroup] of cgroups) {
    const kubelet = samples.get(key);
    containers[key] = { cgroup, process: processes.get(key)!, cpuSeconds: cpu.get(key)!, kubelet, kubeletLagSeconds: kubelet ? (Date.parse(kubelet.time) - atSecond) / 1000 : undefined };
  }
  const line = [...cgroups.keys()].map((k) => `${k} ${MiB(containers[k]!.cgroup.workingSetBytes).toFixed(1)} / ${containers[k]!.kubelet ? MiB(containers[k]!.kubelet.workingSetBytes).toFixed(1) : '–'}`).join(', ');
  process.stderr.write(`${point}: working set MiB (cgroup / kubelet): ${line}\n`);
  return { point, at: at.toISOString(), containers, drainerHeap };
}

export async function main(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  assertInCluster();
  const started = Date.now();
  const eureka = new FakeEureka();
  await createNamespace(NAMESPACE);
  try {
    const eurekaUrl = `http://${NODE_IP}:${await eureka.listen(NODE_IP)}/eureka/`;
    const pods = buildPods(eurekaUrl, options.image);
    console.log(`${MANIFEST}, substituted (the manifest's value → here):`);
    for (const [name, [was, now]] of Object.entries(pods.substituted)) console.log(`  ${name}: ${was ?? '(unset)'} → ${now}`);
    await apply([pods.drainer, pods.bare], NAMESPACE);
    const [drainerPod, barePod] = await Promise.all([waitPodReady(NAMESPACE, 'drainer', 120_000), waitPodReady(NAMESPACE, 'bare', 120_000)]);
    // Until now the fake answered as if nothing were registered (the drainer's start-up reads found no instance).
    eureka.setInstance({ app: pods.appName, ip: drainerPod.podIP!, port: APP_PORT });
    const control = new FakeAppControl(drainerPod.podIP!, CONTROL_PORT);
    const drainer = new HttpTarget(drainerPod.podIP!, DRAINER_PORT, { 'X-Drainer-Token': pods.token });
    const bare = new HttpTarget(barePod.podIP!, APP_PORT);
    const refs = [containerRef(drainerPod, 'eureka-drainer'), containerRef(drainerPod, 'app'), containerRef(barePod, 'bare')];
    process.stderr.write(`pods ready: drainer ${drainerPod.podIP}, bare ${barePod.podIP}; memory cgroups ${refs.map((r) => r.memoryDir).join(', ')}\n`);

    // Idle CPU over the window that follows a few settling seconds after ready.
    await sleep(5_000);
    const idleFrom = new Map(refs.map((r) => [`${r.pod}/${r.container}`, readCpuSeconds(r.cpuDir)]));
    const idleStart = Date.now();
    await sleep(options.idleSeconds * 1000);
    const idleWindowSeconds = (Date.now() - idleStart) / 1000;
    const readings = [await readPoint('idle', refs, drainer)];
    const idleCpuPercent = Object.fromEntries([...idleFrom].map(([k, from]) => [k, ((readings[0]!.containers[k]!.cpuSeconds - from) / idleWindowSeconds) * 100]));

    const scrapeStart = Date.now();
    const scrapeAll = async (target: HttpTarget, path: string): Promise<number> => {
      let failed = 0;
      for (let i = 0; i < options.scrapes; i++) if ((await target.get(path)).status !== 200) failed++;
      return failed;
    };
    const [drainerScrapeFailures, bareScrapeFailures] = await Promise.all([scrapeAll(drainer, '/metrics'), scrapeAll(bare, '/')]);
    const scrapeSeconds = (Date.now() - scrapeStart) / 1000;
    readings.push(await readPoint(`after ${options.scrapes} scrapes`, refs, drainer));

    const outcomes: Record<string, number> = {};
    const requests0 = eureka.requests;
    const drainStart = Date.now();
    for (let i = 0; i < options.drains; i++) {
      const outcome = await drainOnce(drainer, eureka, control);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const eurekaRequestsPerDrain = options.drains ? (eureka.requests - requests0) / options.drains : 0;
    readings.push(await readPoint(`after ${options.drains} drains`, refs, drainer));
    const cpuMsEach = (key: string, from: number, to: number, n: number): number => (n ? ((readings[to]!.containers[key]!.cpuSeconds - readings[from]!.containers[key]!.cpuSeconds) * 1000) / n : 0);
    const cpu = {
      idlePercent: idleCpuPercent,
      idleWindowSeconds,
      msPerScrape: { drainer: cpuMsEach('drainer/eureka-drainer', 0, 1, options.scrapes), bare: cpuMsEach('bare/bare', 0, 1, options.scrapes) },
      msPerDrainCycle: { drainer: cpuMsEach('drainer/eureka-drainer', 1, 2, options.drains), app: cpuMsEach('drainer/app', 1, 2, options.drains) },
    };

    const after = await Promise.all([getPod(NAMESPACE, 'drainer'), getPod(NAMESPACE, 'bare')]);
    const restarts = Object.fromEntries(after.flatMap((p) => p?.containers.map((c) => [`${p.name}/${c.name}`, c.restartCount]) ?? []));
    drainer.destroy();
    bare.destroy();
    control.destroy();

    const result = {
      date: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      options,
      manifest: MANIFEST,
      image: pods.drainerContainer['image'],
      substituted: pods.substituted,
      resources: pods.drainerContainer['resources'],
      qosClass: obj(drainerPod.raw['status'])['qosClass'],
      scrapeSeconds,
      scrapeFailures: { drainer: drainerScrapeFailures, bare: bareScrapeFailures },
      drainSeconds,
      outcomes,
      eurekaRequestsPerDrain,
      restarts,
      cpu,
      readings,
    };
    printTable(result.readings, result);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `cluster-footprint${options.label ? `-${options.label}` : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await eureka.close();
    if (!options.keep) await deleteNamespace(NAMESPACE);
  }
}

function printTable(readings: readonly PointReading[], run: { cpu: { idlePercent: Record<string, number>; idleWindowSeconds: number; msPerScrape: Record<string, number>; msPerDrainCycle: Record<string, number> }; image: unknown; qosClass: unknown; scrapeSeconds: number; drainSeconds: number; outcomes: Record<string, number>; eurekaRequestsPerDrain: number; restarts: Record<string, number>; scrapeFailures: Record<string, number> }): void {
  const f = (bytes: number | undefined): string => (bytes === undefined ? '–' : MiB(bytes).toFixed(1));
  const ws = (r: PointReading, key: string): readonly [number, number | undefined, string] => {
    const c = r.containers[key]!;
    return [c.cgroup.workingSetBytes, c.kubelet?.workingSetBytes, `${f(c.process.rssBytes)} (${f(c.process.anonymousBytes)} + ${f(c.process.fileBytes)})`];
  };
  console.log(`footprint on a real kubelet (${NODE_NAME}, cgroup v1), image ${String(run.image)}, QoS ${String(run.qosClass)}; MiB`);
  console.log('| point | drainer working set: cgroup | kubelet | bare Node working set: cgroup | kubelet | ratio | drainer usage (page cache) | drainer process RSS (anon + file) | bare process RSS (anon + file) | drainer V8 heap used / total | fake app working set |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of readings) {
    const [d, dk, dp] = ws(r, 'drainer/eureka-drainer');
    const [b, bk, bp] = ws(r, 'bare/bare');
    const [a] = ws(r, 'drainer/app');
    const dc = r.containers['drainer/eureka-drainer']!.cgroup;
    console.log(`| ${r.point} | ${f(d)} | ${f(dk)} | ${f(b)} | ${f(bk)} | ${(d / b).toFixed(2)} | ${f(dc.usageBytes)} (${f(dc.cacheBytes)}) | ${dp} | ${bp} | ${f(r.drainerHeap.usedBytes)} / ${f(r.drainerHeap.totalBytes)} | ${f(a)} |`);
  }
  const last = readings[readings.length - 1]!;
  console.log(`peak usage (memory.max_usage_in_bytes): drainer ${f(last.containers['drainer/eureka-drainer']!.cgroup.maxUsageBytes)}, bare ${f(last.containers['bare/bare']!.cgroup.maxUsageBytes)} MiB`);
  const pct = (k: string): string => (run.cpu.idlePercent[k] ?? NaN).toFixed(3);
  console.log(`CPU: idle over ${run.cpu.idleWindowSeconds.toFixed(0)} s drainer ${pct('drainer/eureka-drainer')} %, bare ${pct('bare/bare')} %, fake app ${pct('drainer/app')} % of a core; per scrape drainer ${run.cpu.msPerScrape['drainer']!.toFixed(3)} ms, bare ${run.cpu.msPerScrape['bare']!.toFixed(3)} ms; per drain cycle drainer ${run.cpu.msPerDrainCycle['drainer']!.toFixed(1)} ms`);
  console.log(`scrapes: ${run.scrapeSeconds.toFixed(1)} s, failed ${JSON.stringify(run.scrapeFailures)}; drains: ${JSON.stringify(run.outcomes)} in ${run.drainSeconds.toFixed(1)} s, ${run.eurekaRequestsPerDrain.toFixed(1)} Eureka requests each; restarts ${JSON.stringify(run.restarts)}`);
}
