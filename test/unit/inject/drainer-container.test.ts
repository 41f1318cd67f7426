/**
 * The injected drainer container is the one in the k8s/ examples: everything but the workload-specific env
 * (and the token, which the injector never sets) must be equal, so the examples and the injector cannot drift.
 */
import { expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';
import { DEFAULTS, injectWorkload } from '../../../src/inject/inject';
import { containerNamed, one, type Container, type EnvVar, type Manifest } from '../../helpers/manifest';
import { podSpecOf, ROOT, workloadOfKind } from './helpers';

function exampleDrainer(file: string): Container {
  const docs = YAML.parseAllDocuments(readFileSync(resolve(ROOT, file), 'utf8')).map((d) => d.toJSON() as Manifest);
  return containerNamed(one(docs, 'Deployment').spec.template.spec, 'eureka-drainer');
}

function injectedDrainer(sidecar: 'native' | 'classic'): Container {
  const result = injectWorkload(workloadOfKind('Deployment'), { defaults: { ...DEFAULTS, sidecar } });
  if (result.kind !== 'injected') throw new Error(result.reason);
  return containerNamed(podSpecOf(result.object as Manifest), 'eureka-drainer');
}

/** The container without env/envFrom and without the token header on its own hook. */
function shape(container: Container): Container {
  const { env: _env, envFrom: _envFrom, ...rest } = structuredClone(container);
  const get = rest.lifecycle?.preStop?.httpGet;
  if (get) delete get.httpHeaders;
  return rest;
}

test.each([
  ['k8s/native-sidecar.yaml', 'native'],
  ['k8s/classic-sidecar.yaml', 'classic'],
] as const)('%s: the injected %s drainer equals the example but for the workload-specific env and the token', (file, sidecar) => {
  const example = exampleDrainer(file);
  const injected = injectedDrainer(sidecar);
  expect(shape(injected)).toEqual(shape(example));
  // The example's Downward API entries are all there; the token is not.
  const downward = (c: Container): EnvVar[] => c.env!.filter((e) => e.valueFrom?.fieldRef);
  expect(downward(injected)).toEqual(expect.arrayContaining(downward(example)));
  // …and so are its heap limits.
  const nodeOptions = (c: Container): EnvVar | undefined => c.env!.find((e) => e.name === 'NODE_OPTIONS');
  expect(nodeOptions(example)).toBeDefined();
  expect(nodeOptions(injected)).toEqual(nodeOptions(example));
  expect(injected.env!.map((e) => e.name)).not.toContain('DRAINER_TOKEN');
  expect(example.env!.map((e) => e.name)).toContain('DRAINER_TOKEN');
});

test('the default image follows package.json', () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(DEFAULT_IMAGE).toBe(`ghcr.io/eureka-drainer/eureka-drainer:${pkg.version}`);
  expect(exampleDrainer('k8s/native-sidecar.yaml').image).toBe(DEFAULT_IMAGE);
});
