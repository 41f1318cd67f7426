/**
 * The injected drainer container is the one in the k8s/ examples: everything but the workload-specific env
 * (and the token, which the injector never sets) must be equal, so the examples and the injector cannot drift.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_IMAGE } from '../../../src/inject/drainer-container';
import { DEFAULTS, injectWorkload } from '../../../src/inject/inject';
import { podSpecOf, ROOT, workloadOfKind } from './helpers';

type Json = Record<string, any>;

function exampleDrainer(file: string): Json {
  const docs = YAML.parseAllDocuments(readFileSync(resolve(ROOT, file), 'utf8')).map((d) => d.toJSON() as Json);
  const spec = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].find((c: Json) => c.name === 'eureka-drainer');
}

function injectedDrainer(sidecar: 'native' | 'classic'): Json {
  const result = injectWorkload(workloadOfKind('Deployment'), { defaults: { ...DEFAULTS, sidecar } });
  if (result.kind !== 'injected') throw new Error(result.reason);
  const spec = podSpecOf(result.object as Json);
  return [...(spec.initContainers ?? []), ...spec.containers].find((c: Json) => c.name === 'eureka-drainer');
}

/** The container without env/envFrom and without the token header on its own hook. */
function shape(container: Json): Json {
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
  const downward = (c: Json): Json[] => c.env.filter((e: Json) => e.valueFrom?.fieldRef);
  expect(downward(injected)).toEqual(expect.arrayContaining(downward(example)));
  // …and so are its heap limits.
  const nodeOptions = (c: Json): Json | undefined => c.env.find((e: Json) => e.name === 'NODE_OPTIONS');
  expect(nodeOptions(example)).toBeDefined();
  expect(nodeOptions(injected)).toEqual(nodeOptions(example));
  expect(injected.env.map((e: Json) => e.name)).not.toContain('DRAINER_TOKEN');
  expect(example.env.map((e: Json) => e.name)).toContain('DRAINER_TOKEN');
});

test('the default image follows package.json', () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(DEFAULT_IMAGE).toBe(`ghcr.io/eureka-drainer/eureka-drainer:${pkg.version}`);
  expect(exampleDrainer('k8s/native-sidecar.yaml').image).toBe(DEFAULT_IMAGE);
});
