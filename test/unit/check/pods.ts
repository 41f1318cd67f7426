/**
 * Pods as the apiserver returned them (`kubectl get pod -o json` on the real cluster, test/k8s/cluster: pods
 * built by test/k8s/cluster/support/check-pods.ts, the drainer written by the injector, in a namespace labelled
 * eureka-drainer/inject=enabled), and one-line changes of them for the cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';
import { containerNamed, type Container, type Manifest, type Pod } from '../../helpers/manifest';

const DIR = join(__dirname, '..', '..', 'fixtures', 'k8s-api', 'check');
/** The release image the pods were recorded with; they stand for pods running this release, whatever its version. */
const RECORDED_IMAGE = 'ghcr.io/eureka-drainer/eureka-drainer:0.1.0';
const load = <T extends Manifest>(name: string): T => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8').replaceAll(RECORDED_IMAGE, DEFAULT_IMAGE)) as T;

/** A native drainer (init container, restartPolicy: Always), as injected: terminationGracePeriodSeconds 138. */
export const nativePod = (): Pod => load('orders-native');
/** A classic drainer (second container, its own preStop /prestop/join). */
export const classicPod = (): Pod => load('orders-classic');
/** The same app without the drainer: the injector would inject it. */
export const uninjectedPod = (): Pod => load('orders-uninjected');
export const OPTED_IN_LABELS: Record<string, string> = load('namespace-opted-in').metadata.labels!;
export const FIXTURE_NAMESPACE = 'edk8s-chk-fixture';

export const drainerOf = (pod: Pod): Container => containerNamed(pod.spec, 'eureka-drainer');

export const appOf = (pod: Pod): Container => containerNamed(pod.spec, 'app');

export function setEnv(container: Container, name: string, value: string): void {
  const entry = container.env!.find((e) => e.name === name);
  if (entry) entry.value = value;
  else container.env!.push({ name, value });
}
