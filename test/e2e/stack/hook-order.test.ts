/**
 * Issue 13 B5: in a classic pod the order of the drainer's SIGTERM and the app's preStop call is not bounded
 * (the kubelet stops every container in its own goroutine, R1, and reads the pod status through the runtime
 * before each httpGet hook, R3), so the drainer must drain whichever comes first, however far apart.
 *
 * The pod is a user's OLDER classic manifest: k8s/classic-sidecar.yaml with the drainer container's own preStop
 * removed (a modified copy written to a temp file and read by manifest.ts like the shipped one), so the drainer
 * gets SIGTERM at the start of the termination, as before issue 13 A1.
 *
 * - late: the app's hook reaches /prestop DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS + 2.5 s after the drainer's SIGTERM
 *   (modelled as an exec hook that waits, then sends the manifest's GET from the node). After its wait the drainer
 *   must keep serving until the app is gone, and still drain the late call fully.
 * - early: the app's hook first, the drainer's SIGTERM 3 s later, in the middle of the drain (modelled as an exec
 *   preStop on the drainer that only waits: the old manifest has none; it stands for the kubelet reaching the
 *   drainer's StopContainer late). The drain must finish and the drainer exit 0 after the app.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import type { Deployment, Manifest } from '../../helpers/manifest';
import { terminatePod, timeline } from './kubelet';
import { failureSummary } from './load';
import { hookFrom, type ManifestSource } from './manifest';
import { stackForFile, type PrestopReport } from './scenario';
import type { DemoInstance } from './stack';

jest.setTimeout(240_000);

const RATE = 100;
const ROOT = resolve(__dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'older-manifest-'));
/** k8s/classic-sidecar.yaml without the drainer container's lifecycle: a user's manifest from before /prestop/join. */
const OLDER = join(dir, 'classic-sidecar-without-drainer-hook.yaml') as ManifestSource;
{
  const docs = YAML.parseAllDocuments(readFileSync(resolve(ROOT, 'k8s/classic-sidecar.yaml'), 'utf8')).map((d) => d.toJSON() as Manifest);
  const deployment = docs.find((d) => d.kind === 'Deployment') as Deployment;
  const drainer = deployment.spec.template.spec.containers.find((c) => String(c.image).includes('eureka-drainer'))!;
  if (!drainer.lifecycle?.preStop) throw new Error('k8s/classic-sidecar.yaml: the drainer has no preStop to remove (update this test)');
  delete drainer.lifecycle;
  writeFileSync(OLDER, docs.map((d) => YAML.stringify(d)).join('---\n'));
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const suite = stackForFile({ demos: 1, manifest: 'k8s/classic-sidecar.yaml' });
afterEach(() => suite.stopLoads());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A GET from the node address to the pod, as the kubelet's httpGet hook sends it. */
function getFromNode(instance: DemoInstance, port: number, path: string, headers: Readonly<Record<string, string>>): Promise<{ status: number; body: string; at: number }> {
  return new Promise((done, fail) => {
    const req = request({ host: instance.podIp, port, path, localAddress: instance.nodeIp, agent: false, headers: { 'User-Agent': 'kube-lifecycle/1.33', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body, at: Date.now() }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function olderPod(): Promise<DemoInstance> {
  const s = suite.stack();
  const target = await s.addInstance({ manifest: OLDER });
  expect(target.pod!.drainer.preStop).toBeUndefined();
  expect(target.pod!.app.preStop?.path).toBe('/prestop');
  return target;
}

test('B5 late: the app’s hook arrives DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS + 2.5 s after the drainer’s SIGTERM; the drainer kept serving and drains it fully', async () => {
  const s = suite.stack();
  const target = await olderPod();
  const other = s.instances.find((i) => i !== target && !i.app.exited)!;
  const waitSeconds = Number(target.pod!.drainer.env.DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS ?? 5);
  const lateMs = waitSeconds * 1000 + 2_500;
  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);
  const get = hookFrom(target.pod!.app.preStop!, s.portsOf(target));
  let answer: { status: number; body: string; at: number } | undefined;
  let sentAt = 0;
  const record = await terminatePod({
    app: target.app,
    drainer: target.drainer!,
    sidecar: 'classic',
    appPreStop: {
      kind: 'exec',
      description: `httpGet ${get.path}, ${lateMs} ms late`,
      run: async () => {
        await sleep(lateMs);
        sentAt = Date.now();
        answer = await getFromNode(target, get.port, get.path, get.headers ?? {});
      },
    },
    terminationGracePeriodSeconds: target.pod!.terminationGracePeriodSeconds,
    podIp: target.podIp,
    nodeIp: target.nodeIp,
  });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const report = JSON.parse(answer?.body ?? '{}') as PrestopReport;
  const msgs = target.drainer!.logs.map((l) => String(l.msg));
  process.stdout.write(
    `B5 late: hook sent +${sentAt - record.startedAt} ms (drainer SIGTERM +${record.drainerSigtermAt! - record.startedAt} ms), answered ${answer?.status} ${report.outcome} ` +
      `in ${answer ? answer.at - sentAt : '?'} ms; timeline ${JSON.stringify(timeline(record))}; load ${result.sent} sent, ${result.failed} failed\n`,
  );
  expect(record.drainerSigtermAt! - record.startedAt).toBeLessThan(100);
  expect(sentAt - record.drainerSigtermAt!).toBeGreaterThan(waitSeconds * 1000);
  // The drainer waited, gave up waiting, and still served the late call with a full drain.
  expect(msgs).toContain('SIGTERM while idle: waiting for the /prestop call');
  expect(msgs).toContain('no /prestop call: cleaning up once the app is gone');
  expect(answer?.status).toBe(200);
  expect(report.outcome).toBe('verified');
  expect(report.durationMs).toBeGreaterThan(report.plan.drainMs - 1_500);
  expect(record.appSigtermAt!).toBeGreaterThanOrEqual(answer!.at);
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
  expect(load.stats(target.instanceId)!.lastServedAt).toBeLessThan(record.appSigtermAt!);
  expect(record.killed).toEqual([]);
  expect(record.drainer!.exitCode).toBe(0);
  expect(record.drainerExitedAt!).toBeGreaterThanOrEqual(record.appExitedAt!);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});

test('B5 early: the app’s hook first, the drainer’s SIGTERM 3 s later mid-drain; the drain finishes and the drainer exits 0 after the app', async () => {
  const s = suite.stack();
  const target = await olderPod();
  const other = s.instances.find((i) => i !== target && !i.app.exited)!;
  const load = suite.startLoad(RATE, 90);
  await load.waitForServed(target.instanceId, 20);
  await load.waitForServed(other.instanceId, 20);
  const record = await terminatePod({
    app: target.app,
    drainer: target.drainer!,
    sidecar: 'classic',
    appPreStop: hookFrom(target.pod!.app.preStop!, s.portsOf(target)),
    drainerPreStop: { kind: 'exec', description: 'the kubelet reaches the drainer’s StopContainer 3 s late (no hook in this manifest)', run: () => sleep(3_000) },
    terminationGracePeriodSeconds: target.pod!.terminationGracePeriodSeconds,
    podIp: target.podIp,
    nodeIp: target.nodeIp,
  });
  await load.waitForCompleted(RATE);
  const result = await load.stop();
  const report = JSON.parse(record.app.hook?.body ?? '{}') as PrestopReport;
  const msgs = target.drainer!.logs.map((l) => String(l.msg));
  process.stdout.write(`B5 early: ${report.outcome} ${report.durationMs} ms; timeline ${JSON.stringify(timeline(record))}; load ${result.sent} sent, ${result.failed} failed\n`);
  expect(record.drainerSigtermAt! - record.startedAt).toBeGreaterThanOrEqual(3_000);
  expect(record.drainerSigtermAt!).toBeLessThan(record.hookReturnedAt!); // mid-drain
  expect(msgs).toContain('SIGTERM during a drain: finishing the drain and the clean-up first');
  expect(record.app.hook?.status).toBe(200);
  expect(report.outcome).toBe('verified');
  expect({ failed: result.failed, causes: failureSummary(result.failures) }).toEqual({ failed: 0, causes: {} });
  expect(record.killed).toEqual([]);
  expect(record.drainer!.exitCode).toBe(0);
  expect(record.drainerExitedAt!).toBeGreaterThanOrEqual(record.appExitedAt!);
  expect(await s.liveOnBoth(target.instanceId)).toEqual([null, null]);
});
