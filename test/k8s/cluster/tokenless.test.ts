/**
 * The token-less allow-list on a real kubelet and a real bridge network (issue 20, bug 3): the native pod with its
 * token taken out (no DRAINER_TOKEN, no hook header: what `eureka-drainer inject` and the webhook write), so only
 * loopback, NODE_IP and the pod's default gateway may call /prestop.
 *
 * (1) As deployed: the kubelet's preStop call comes from the node's address on the pod network (the bridge,
 *     10.214.0.1 here), which is the pod's default gateway: admitted, the drain verified, zero failed requests.
 * (2) The pod without a default route (a first init container deletes it, as a network plugin without a default
 *     gateway would leave it): the drainer warns at start-up that such a kubelet will be refused, and the refusal
 *     logs the caller's address and the exact setting that would admit it.
 */
import { expect, test } from '@jest/globals';
import { apply, kubectl, LogFollower, PodTracker, podFromDeployment, waitPodReady, type Json } from './support/kube';
import { recordResult } from './support/results';
import { deleteUnderLoad, describeTermination, runPod, useCluster } from './support/scenario';
import { HOST_RUNTIME_IMAGE, workload } from './support/workloads';

/** The bridge's address: the pods' default gateway, and the address the kubelet's calls come from (cluster.sh). */
const BRIDGE = '10.214.0.1';
const file = useCluster('edk8s-tokenless');

/** The native pod without its token: no DRAINER_TOKEN, no X-Drainer-Token header on the hook. */
function tokenlessPod(name: string): { pod: Json; substituted: Record<string, unknown> } {
  const w = workload({ source: 'k8s/native-sidecar.yaml', name, replicas: 1, eurekaUrls: file.world.eurekaUrls });
  const pod = podFromDeployment(w.deployment, name);
  const spec = pod['spec'] as Json;
  const drainer = (spec['initContainers'] as Json[]).find((c) => c['name'] === 'eureka-drainer')!;
  drainer['env'] = (drainer['env'] as Json[]).filter((e) => e['name'] !== 'DRAINER_TOKEN');
  const app = (spec['containers'] as Json[]).find((c) => c['name'] === 'app')!;
  const get = ((app['lifecycle'] as Json)['preStop'] as Json)['httpGet'] as Json;
  delete get['httpHeaders'];
  return { pod, substituted: { ...w.substituted, 'drainer DRAINER_TOKEN': ['(the manifest’s token)', '(removed)'], 'app preStop httpHeaders': ['X-Drainer-Token', '(removed)'] } };
}

test('(1) the kubelet calls from the pod’s default gateway: admitted without a token, drained, zero failed', async () => {
  const { pod, substituted } = tokenlessPod('tokenless');
  console.log(`tokenless: substituted from the manifest: ${JSON.stringify(substituted)}`);
  await runPod(file, pod);
  const t = await deleteUnderLoad(file, 'tokenless');
  const { drainer, report, load: result } = t;
  const refused = drainer.json().filter((l) => typeof l['msg'] === 'string' && l['msg'].includes('refused'));
  console.log(`${describeTermination('tokenless', t)}; refusals ${JSON.stringify(refused)}`);
  expect(refused).toEqual([]);
  expect(report?.['outcome']).toBe('verified');
  expect(result.failed).toBe(0);
  recordResult('token-less native pod (gateway admitted)', { failed: result.failed, sent: result.sent, outcome: report?.['outcome'] });
}, 240_000);

test('(2) a pod without a default route: a start-up warning, and the refusal names the caller and the setting that admits it', async () => {
  const { pod } = tokenlessPod('noroute');
  const spec = pod['spec'] as Json;
  // Runs to completion before the native sidecar starts: the drainer then finds no default route.
  spec['initContainers'] = [
    {
      name: 'drop-default-route',
      image: HOST_RUNTIME_IMAGE,
      imagePullPolicy: 'Never',
      command: ['/usr/bin/ip', 'route', 'del', 'default'],
      securityContext: { capabilities: { add: ['NET_ADMIN'] } },
      volumeMounts: [{ name: 'node-0', mountPath: '/usr', readOnly: true }],
    },
    ...(spec['initContainers'] as Json[]),
  ];
  await apply([pod], file.namespace);
  await waitPodReady(file.namespace, 'noroute');
  const drainer = new LogFollower(file.namespace, 'noroute', 'eureka-drainer');
  const tracker = new PodTracker(file.namespace, 'noroute');
  await kubectl(['delete', 'pod', 'noroute', '-n', file.namespace, '--wait=false']);
  await tracker.gone;
  await drainer.ended;
  const lines = drainer.json();
  const warning = lines.find((l) => String(l['msg']).startsWith('no DRAINER_TOKEN and no default route in the pod'));
  const refusal = lines.find((l) => String(l['msg']).startsWith("the kubelet's preStop call was refused: its source address is not allowed"));
  console.log(`noroute: warning ${JSON.stringify(warning)}; refusal ${JSON.stringify(refusal)}`);
  expect(warning).toBeDefined();
  expect(refusal).toBeDefined();
  expect(refusal!['source']).toBe(BRIDGE);
  const admitWith = JSON.stringify(refusal!['admitWith']);
  expect(admitWith).toContain('DRAINER_ALLOWED_SOURCES=');
  expect(admitWith).toContain(BRIDGE);
  expect(admitWith).toContain('DRAINER_TOKEN');
  recordResult('token-less pod without a default route (refused)', { source: refusal!['source'], admitWith: refusal!['admitWith'] });
}, 240_000);
