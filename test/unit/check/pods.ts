/**
 * Pods as the apiserver returned them (`kubectl get pod -o json` on the real cluster, test/k8s/cluster: pods
 * built by test/k8s/cluster/support/check-pods.ts, the drainer written by the injector, in a namespace labelled
 * eureka-drainer/inject=enabled), and one-line changes of them for the cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';

export type Json = Record<string, any>;

const DIR = join(__dirname, '..', '..', 'fixtures', 'k8s-api', 'check');
/** The release image the pods were recorded with; they stand for pods running this release, whatever its version. */
const RECORDED_IMAGE = 'ghcr.io/eureka-drainer/eureka-drainer:0.1.0';
const load = (name: string): Json => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8').replaceAll(RECORDED_IMAGE, DEFAULT_IMAGE)) as Json;

/** A native drainer (init container, restartPolicy: Always), as injected: terminationGracePeriodSeconds 137. */
export const nativePod = (): Json => load('orders-native');
/** A classic drainer (second container, its own preStop /prestop/join). */
export const classicPod = (): Json => load('orders-classic');
/** The same app without the drainer: the injector would inject it. */
export const uninjectedPod = (): Json => load('orders-uninjected');
export const OPTED_IN_LABELS: Record<string, string> = load('namespace-opted-in').metadata.labels;
export const FIXTURE_NAMESPACE = 'edk8s-chk-fixture';

export function drainerOf(pod: Json): Json {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: Json) => c.name === 'eureka-drainer');
}

export function appOf(pod: Json): Json {
  return pod.spec.containers.find((c: Json) => c.name === 'app');
}

export function setEnv(container: Json, name: string, value: string): void {
  const entry = container.env.find((e: Json) => e.name === name);
  if (entry) entry.value = value;
  else container.env.push({ name, value });
}
