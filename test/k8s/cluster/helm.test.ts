/**
 * Issue 22 B on a real cluster: charts/eureka-drainer installed, upgraded and uninstalled by Helm (test/helm's
 * v4.3.2), with the certificate the chart makes (genCA; no cert-manager here), and the real apiserver calling the
 * webhook it installs for every pod created in a namespace that opted in.
 *
 * Shared with other tests: the release's MutatingWebhookConfiguration is named after the release (never the one
 * webhook.test.ts applies from k8s/webhook), selects only namespaces labelled edk8s-helm/inject=enabled (a values
 * knob; the by-pod entry is turned off), and every namespace here starts with helm-. Set only for this cluster:
 * imagePullPolicy Never (no registry) and one replica (light). Pods are light (sleep in the empty host-runtime
 * image): injection is tested, not drains.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { VERSION } from '../../../src/version';
import { CHART, type Run } from '../../helpers/helm';
import { helmIn as helmInNamespace, waitReadyEndpoint } from './support/helm-release';
import { createPod, injectionOf, injectsNow, lightPod, waitInjecting } from './support/injection';
import { assertInCluster, createNamespace, deleteNamespace, kubectl, kubectlJson, kubectlRaw, type Json } from './support/kube';
import { recordResult } from './support/results';

const RELEASE = 'helm-e2e';
const NAMESPACE = 'helm-drainer';
const LABELLED = 'helm-apps';
const PLAIN = 'helm-plain';
const OPT_IN = { key: 'edk8s-helm/inject', value: 'enabled' };
/** The chart's names for release helm-e2e (fullname: "<release>-eureka-drainer"). */
const CONFIGURATION = `${RELEASE}-eureka-drainer`;
const DEPLOYMENT = `${RELEASE}-eureka-drainer-webhook`;
const SECRET = `${RELEASE}-eureka-drainer-webhook-tls`;
const IMAGE = `ghcr.io/eureka-drainer/eureka-drainer:${VERSION}`;

const VALUES: Record<string, unknown> = {
  'image.pullPolicy': 'Never',
  'webhook.replicas': 1,
  'webhook.byNamespace.namespaceSelector': { matchExpressions: [{ key: OPT_IN.key, operator: 'In', values: [OPT_IN.value] }] },
  'webhook.byPod.enabled': false,
};

const obj = (v: unknown): Json => (v ?? {}) as Json;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

const helmIn = (args: readonly string[], values: Record<string, unknown> = {}): Run => helmInNamespace(NAMESPACE, args, values);

/** The fingerprints of the certificates in a PEM bundle, in order. */
function pemCertificates(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
}

/** The chart's Secret: the served certificate and its CA, as the apiserver and the webhook see them. */
async function certificate(): Promise<{ served: string; ca: string; caBundles: string[][]; notAfter: string }> {
  const secret = await kubectlJson(['get', 'secret', SECRET, '-n', NAMESPACE]);
  const data = obj(secret['data']);
  const configuration = await kubectlJson(['get', 'mutatingwebhookconfiguration', CONFIGURATION]);
  return {
    served: new X509Certificate(Buffer.from(String(data['tls.crt']), 'base64')).fingerprint256,
    ca: new X509Certificate(Buffer.from(String(data['ca.crt']), 'base64')).fingerprint256,
    caBundles: arr(configuration['webhooks']).map((w) => pemCertificates(Buffer.from(String(obj(w['clientConfig'])['caBundle']), 'base64').toString('utf8'))),
    notAfter: String(obj(obj(secret['metadata'])['annotations'])['eureka-drainer/certificate-not-after']),
  };
}

/**
 * Waits until the webhook pods are endpoints of the Service (the apiserver dials endpoints), then until a dry-run
 * pod comes out injected: a pod created before that would be admitted without the drainer (failurePolicy Ignore).
 */
async function waitServing(): Promise<void> {
  await waitReadyEndpoint(NAMESPACE, DEPLOYMENT);
  await waitInjecting(LABELLED, true);
}

let installed: Awaited<ReturnType<typeof certificate>>;

beforeAll(async () => {
  assertInCluster();
  // Leftovers of an earlier run of this file only (these names are this file's).
  helmIn(['uninstall', RELEASE, '--ignore-not-found', '--wait']);
  await kubectlRaw(['delete', 'mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
  await Promise.all([createNamespace(NAMESPACE), createNamespace(LABELLED), createNamespace(PLAIN)]);
  await kubectl(['label', 'namespace', LABELLED, `${OPT_IN.key}=${OPT_IN.value}`]);
}, 300_000);

afterAll(async () => {
  helmIn(['uninstall', RELEASE, '--ignore-not-found', '--wait']);
  // The injected drainers would drain (into a Eureka that is not there) until their grace ends: not needed here.
  await kubectlRaw(['delete', 'pods', '--all', '-n', LABELLED, '--grace-period=0', '--force']);
  await Promise.all([NAMESPACE, LABELLED, PLAIN].map((ns) => deleteNamespace(ns)));
}, 300_000);

describe('the chart on the real cluster, with the certificate it makes', () => {
  test('helm install: the webhook runs, the apiserver trusts its certificate, a pod in the labelled namespace gets the drainer', async () => {
    const run = helmIn(['install', RELEASE, CHART, '--wait', '--timeout', '150s'], VALUES);
    expect(run.status).toBe(0);
    installed = await certificate();
    // The caBundle the apiserver trusts is the CA that issued the served certificate.
    expect(installed.caBundles).toEqual([[installed.ca]]);
    await waitServing();
    const pod = await createPod(LABELLED, lightPod('first'));
    const injection = injectionOf(pod);
    expect(injection).toMatchObject({ drainers: 1, marker: VERSION, image: IMAGE });
    // Only the namespaces the values select: a pod elsewhere is not sent.
    expect(await injectsNow(PLAIN)).toBe(false);
    console.log(`install: pod first ${JSON.stringify(injection)}; certificate ${installed.served.slice(0, 23)}…, CA ${installed.ca.slice(0, 23)}…, not after ${installed.notAfter}`);
    recordResult('helm: install, pod injected', { injection, caBundleIsIssuer: true, plainNamespaceInjected: false });
  }, 300_000);

  test('helm upgrade (a changed value rolls the webhook): the same certificate and CA, pods still injected', async () => {
    const before = await kubectlJson(['get', 'deployment', DEPLOYMENT, '-n', NAMESPACE]);
    const run = helmIn(['upgrade', RELEASE, CHART, '--wait', '--timeout', '150s'], { ...VALUES, 'webhook.logLevel': 'debug' });
    expect(run.status).toBe(0);
    const after = await kubectlJson(['get', 'deployment', DEPLOYMENT, '-n', NAMESPACE]);
    const env = arr(arr(obj(obj(obj(after['spec'])['template'])['spec'])['containers'])[0]?.['env']);
    expect(env).toContainEqual({ name: 'DRAINER_LOG_LEVEL', value: 'debug' });
    expect(Number(obj(after['metadata'])['generation'])).toBeGreaterThan(Number(obj(before['metadata'])['generation']));
    const upgraded = await certificate();
    expect(upgraded).toEqual(installed);
    await waitServing();
    const injection = injectionOf(await createPod(LABELLED, lightPod('second')));
    expect(injection.drainers).toBe(1);
    const history = JSON.parse(helmIn(['history', RELEASE, '-o', 'json']).stdout) as { revision: number; status: string }[];
    expect(history.map((h) => [h.revision, h.status])).toEqual([[1, 'superseded'], [2, 'deployed']]);
    console.log(`upgrade: revision 2, certificate kept (${upgraded.served.slice(0, 23)}…), pod second ${JSON.stringify(injection)}`);
    recordResult('helm: upgrade keeps the certificate', { revisions: history.length, certificateKept: true, caKept: true, injection });
  }, 300_000);

  test('helm upgrade within renewDays of expiry: a new CA and certificate, the old CA still trusted meanwhile, pods injected at once', async () => {
    const kept = await certificate();
    // 3650 days of a certificate made minutes ago: it expires within them, so this upgrade renews it.
    const run = helmIn(['upgrade', RELEASE, CHART, '--wait', '--timeout', '150s'], { ...VALUES, 'webhook.logLevel': 'debug', 'generatedCertificate.renewDays': 3650 });
    expect(run.status).toBe(0);
    const renewed = await certificate();
    expect(renewed.served).not.toBe(kept.served);
    expect(renewed.ca).not.toBe(kept.ca);
    // The apiserver trusts both CAs: the webhook may still serve the old certificate until the kubelet updates its files.
    expect(renewed.caBundles).toEqual([[renewed.ca, kept.ca]]);
    const injection = injectionOf(await createPod(LABELLED, lightPod('renewed')));
    expect(injection.drainers).toBe(1);
    // The next upgrade keeps the new pair and trusts the new CA alone.
    expect(helmIn(['upgrade', RELEASE, CHART, '--wait', '--timeout', '150s'], { ...VALUES, 'webhook.logLevel': 'debug' }).status).toBe(0);
    const settled = await certificate();
    expect(settled).toEqual({ ...renewed, caBundles: [[renewed.ca]] });
    await waitServing();
    console.log(`renewal: certificate ${kept.served.slice(0, 23)}… → ${renewed.served.slice(0, 23)}…, CA ${kept.ca.slice(0, 23)}… → ${renewed.ca.slice(0, 23)}…; pod renewed ${JSON.stringify(injection)}`);
    recordResult('helm: upgrade renews an expiring certificate', { newCertificate: true, caBundleDuringRenewal: 2, caBundleAfter: 1, injection });
  }, 300_000);

  test('helm uninstall: the webhook configuration, the webhook and its Secret are gone; the pods made meanwhile stay', async () => {
    const run = helmIn(['uninstall', RELEASE, '--wait', '--timeout', '120s']);
    expect(run.status).toBe(0);
    const left = await kubectlRaw(['get', 'mutatingwebhookconfiguration', CONFIGURATION]);
    expect(left.code).not.toBe(0);
    expect(left.stderr).toContain('NotFound');
    const leftInNamespace = await kubectl(['get', 'deployment,service,secret,serviceaccount,poddisruptionbudget', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    expect(leftInNamespace.trim()).toBe('');
    expect(injectionOf(await kubectlJson(['get', 'pod', 'first', '-n', LABELLED])).drainers).toBe(1);
    recordResult('helm: uninstall', { configurationGone: true, objectsLeft: 0 });
  }, 200_000);
});
