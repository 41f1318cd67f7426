import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';

/**
 * k8s/monitoring.yaml's NetworkPolicy restricts the drainer port and nothing else: evaluated the way the
 * NetworkPolicy spec reads (a selected pod admits a connection when any ingress rule matches both its
 * source and its port), every other port of the pod stays open to every caller.
 */
const root = resolve(__dirname, '..', '..');

interface PolicyPort { port?: number | string; endPort?: number; protocol?: string }
interface PolicyPeer { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: unknown; ipBlock?: unknown }
interface IngressRule { from?: PolicyPeer[]; ports?: PolicyPort[] }
interface Policy { kind: string; spec: { podSelector: unknown; policyTypes: string[]; ingress: IngressRule[] } }

const policy = YAML.parseAllDocuments(readFileSync(resolve(root, 'k8s/monitoring.yaml'), 'utf8'))
  .map((d) => d.toJSON() as Policy)
  .find((o) => o.kind === 'NetworkPolicy')!;

const DRAINER_PORT = 8787;

/** A caller: the labels of its namespace (an empty object: some other namespace). */
type Source = { namespaceLabels: Record<string, string> };
const monitoring: Source = { namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } };
const elsewhere: Source = { namespaceLabels: { 'kubernetes.io/metadata.name': 'shop' } };

function portMatches(p: PolicyPort, port: number, protocol: string): boolean {
  if ((p.protocol ?? 'TCP') !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'string') throw new Error(`named port ${p.port}: this check handles numbers only`);
  return p.endPort === undefined ? port === p.port : port >= p.port && port <= p.endPort;
}

function peerMatches(peer: PolicyPeer, source: Source): boolean {
  if (peer.ipBlock !== undefined || peer.podSelector !== undefined) throw new Error('this check handles namespaceSelector peers only');
  const wanted = peer.namespaceSelector?.matchLabels ?? {};
  return Object.entries(wanted).every(([k, v]) => source.namespaceLabels[k] === v);
}

function admitted(source: Source, port: number, protocol = 'TCP'): boolean {
  return policy.spec.ingress.some(
    (rule) =>
      (rule.from === undefined || rule.from.some((peer) => peerMatches(peer, source))) &&
      (rule.ports === undefined || rule.ports.some((p) => portMatches(p, port, protocol))),
  );
}

test('the policy isolates ingress of the drainer pods', () => {
  expect(policy.spec.policyTypes).toEqual(['Ingress']);
});

test('the drainer port is reachable from the monitoring namespace only', () => {
  expect(admitted(monitoring, DRAINER_PORT)).toBe(true);
  expect(admitted(elsewhere, DRAINER_PORT)).toBe(false);
});

test('every other TCP port of the pod stays open to every caller (the app keeps its management and gRPC ports)', () => {
  const closed: number[] = [];
  for (let port = 1; port <= 65535; port++) if (port !== DRAINER_PORT && !admitted(elsewhere, port)) closed.push(port);
  expect(closed).toEqual([]);
});

test('UDP stays open', () => {
  expect(admitted(elsewhere, 53, 'UDP')).toBe(true);
  expect(admitted(elsewhere, DRAINER_PORT, 'UDP')).toBe(true);
});

test('the port the policy guards is the one the examples give the drainer', () => {
  for (const file of ['classic-sidecar.yaml', 'native-sidecar.yaml']) {
    expect(readFileSync(resolve(root, 'k8s', file), 'utf8')).toContain(`{ name: drainer, containerPort: ${DRAINER_PORT} }`);
  }
});

test('the evaluator can fail: the old policy (only 8080 re-opened) closes a management port', () => {
  const old: IngressRule[] = [policy.spec.ingress[0]!, { ports: [{ port: 8080, protocol: 'TCP' }] }];
  const saved = policy.spec.ingress;
  policy.spec.ingress = old;
  try {
    expect(admitted(elsewhere, 8080)).toBe(true);
    expect(admitted(elsewhere, 8081)).toBe(false);
  } finally {
    policy.spec.ingress = saved;
  }
});
