import { Readable } from 'node:stream';
import YAML from 'yaml';
import { INJECT_USAGE, runInject } from '../../../src/inject/cli';
import { VERSION } from '../../../src/version';
import type { Deployment, Manifest } from '../../helpers/manifest';
import { validate } from './helpers';

/** Document `index` of the output: a Deployment. */
const deploymentAt = (out: string, index: number): Deployment => YAML.parseAllDocuments(out)[index]!.toJSON() as Deployment;

async function run(args: string[], input: string, files: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runInject(
    args,
    Readable.from([input]),
    { write: (t: string) => (out += t) },
    { write: (t: string) => (err += t) },
    (path) => {
      if (files[path] === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return files[path];
    },
  );
  return { code, out, err };
}

const NAMESPACE = `# The team's namespace: every workload in it is injected unless it opts out.
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations: { eureka-drainer/inject: enabled }
`;
const CONFIG_MAP = `# the app's Spring settings
apiVersion: v1
kind: ConfigMap
metadata: { name: orders-env, namespace: shop }
data:
  SPRING_CLOUD_LOADBALANCER_CACHE_TTL: 10s   # shorter than Spring's 35s
`;
const deployment = (name: string, podAnnotations = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: shop
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }  # the selector's label${podAnnotations}
    spec:
      # the app reads its Spring settings from the ConfigMap
      containers:
        - name: app
          image: registry.example.com/${name}:1.0.0
          ports:
            - { name: http, containerPort: 8080 }
          envFrom:
            - configMapRef: { name: orders-env }
          env:
            - { name: SPRING_APPLICATION_NAME, value: ${name} }
            - { name: EUREKA_CLIENT_SERVICEURL_DEFAULTZONE, value: "http://eureka-0.eureka:8761/eureka/" }
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: orders, namespace: shop }
spec: { ports: [ { port: 80, targetPort: http } ] }   # a flow map, as written
# the end
`;
const STREAM = [NAMESPACE, CONFIG_MAP, deployment('orders'), SERVICE].join('---\n');

test('multi-document: the opted-in Deployment is injected with the ConfigMap its app reads; the other documents come out byte for byte', async () => {
  const { code, out, err } = await run(['-f', 'in.yaml'], '', { 'in.yaml': STREAM });
  expect(code).toBe(0);
  expect(out.startsWith(`${NAMESPACE}---\n${CONFIG_MAP}---\n`)).toBe(true);
  expect(out.endsWith(`---\n${SERVICE}`)).toBe(true);
  const docs = YAML.parseAllDocuments(out).map((d) => d.toJSON() as Manifest);
  expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ConfigMap', 'Deployment', 'Service']);
  const spec = deploymentAt(out, 2).spec.template.spec;
  // 30.5 (the cache and its tick slack) + 30 + 10 (the ConfigMap's TTL) + 10 + 30 + 2, rounded up
  expect(spec.terminationGracePeriodSeconds).toBe(113);
  expect(spec.initContainers![0]!.name).toBe('eureka-drainer');
  expect(err).toContain('document 3: Deployment shop/orders: injected\n');
  expect(err).toContain('  - terminationGracePeriodSeconds unset (30) → 113 (plan: drain 80.5s + app shutdown 30s + margin 2s = 113s)\n');
  expect(err).toMatch(/1 injected, 0 unchanged, 0 refused\n$/);
  expect(validate(docs).every((r) => r.ok)).toBe(true);
});

test("the summary says whether the adaptive tail was turned on, and why: a Spring Boot pod scraped at /actuator/prometheus", async () => {
  const scraped = deployment('orders', "\n      annotations: { prometheus.io/scrape: 'true', prometheus.io/path: /actuator/prometheus }");
  const { out, err } = await run([], [NAMESPACE, CONFIG_MAP, scraped].join('---\n'));
  expect(err).toContain(
    '  - adaptive tail on, found from annotation prometheus.io/path: /actuator/prometheus on the pod template: DRAINER_INJECTED_TAIL_MODE=adaptive, DRAINER_INJECTED_TAIL_METRICS_URL=http://127.0.0.1:8080/actuator/prometheus',
  );
  const drainer = deploymentAt(out, 2).spec.template.spec.initContainers![0]!;
  expect(drainer.env).toContainEqual({ name: 'DRAINER_INJECTED_TAIL_MODE', value: 'adaptive' });
  expect((await run([], STREAM)).err).toContain("  - adaptive tail not turned on: no sign of Spring Boot's Prometheus endpoint");
});

test('comments in the changed workload are kept too', async () => {
  const { out } = await run([], STREAM);
  expect(out).toContain('# the app reads its Spring settings from the ConfigMap');
  expect(out).toContain('# the selector\'s label');
  expect(out).toContain('- { name: SPRING_APPLICATION_NAME, value: orders }');
});

test('injecting the output again writes it out byte for byte', async () => {
  const first = await run([], STREAM);
  const second = await run(['-f', '-'], first.out);
  expect(second.code).toBe(0);
  expect(second.out).toBe(first.out);
  expect(second.err).toContain(`document 3: Deployment shop/orders: unchanged: already injected (eureka-drainer/injected: ${VERSION})`);
});

test('an input with nothing to inject comes out byte for byte; non-workloads are not reported', async () => {
  const input = [CONFIG_MAP, SERVICE].join('---\n');
  const { code, out, err } = await run([], input);
  expect(code).toBe(0);
  expect(out).toBe(input);
  expect(err).toBe('eureka-drainer inject: 0 injected, 0 unchanged, 0 refused\n');
});

test('opt-out on the pod template beats the namespace; a refused workload is reported and left as it was, exit 0', async () => {
  const optedOut = deployment('billing', '\n      annotations: { eureka-drainer/inject: disabled }');
  const twoApps = deployment('search').replace('      containers:\n', '      containers:\n        - { name: proxy, image: "envoy:1" }\n');
  const input = [NAMESPACE, CONFIG_MAP, optedOut, twoApps].join('---\n');
  const { code, out, err } = await run([], input);
  expect(code).toBe(0);
  expect(out).toBe(input);
  expect(err).toContain('document 3: Deployment shop/billing: unchanged: opted out (eureka-drainer/inject: disabled on the pod template)\n');
  expect(err).toContain('document 4: Deployment shop/search: refused: 2 containers (proxy, app) and no eureka-drainer/app-container annotation\n');
  expect(err).toMatch(/0 injected, 1 unchanged, 1 refused\n$/);
});

test('a List: each item is injected', async () => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } },
      YAML.parse(deployment('orders', '\n      annotations: { eureka-drainer/inject: enabled }').replace('  namespace: shop\n', '')),
    ],
  };
  const { code, out, err } = await run([], YAML.stringify(list));
  expect(code).toBe(0);
  const back = YAML.parse(out) as { items: [Manifest, Deployment] };
  expect(back.items[0]).toEqual(list.items[0]);
  expect(back.items[1].spec.template.spec.initContainers![0]!.name).toBe('eureka-drainer');
  expect(err).toContain('document 1 item 2: Deployment orders: injected\n');
  // The ConfigMap orders-env is not in the input: the plan says so.
  expect(err).toContain("plan uses defaults for ConfigMap orders-env's values (not visible here)");
  expect(back.items[1].spec.template.spec.terminationGracePeriodSeconds).toBe(138);
});

test('--sidecar classic and --image', async () => {
  const { out } = await run(['--sidecar', 'classic', '--image=mirror.example.com/drainer:0.1.0'], STREAM);
  const spec = deploymentAt(out, 2).spec.template.spec;
  expect(spec.initContainers).toBeUndefined();
  expect(spec.containers.map((c) => [c.name, c.image])).toEqual([
    ['app', 'registry.example.com/orders:1.0.0'],
    ['eureka-drainer', 'mirror.example.com/drainer:0.1.0'],
  ]);
});

test('unparseable input: exit 2 with the document number, nothing on stdout', async () => {
  const input = [CONFIG_MAP, 'apiVersion: v1\nkind: [unclosed\n', SERVICE].join('---\n');
  const { code, out, err } = await run([], input);
  expect(code).toBe(2);
  expect(out).toBe('');
  expect(err).toMatch(/^eureka-drainer inject: document 2: /);
});

describe('stdin, read whole with node:stream/consumers text()', () => {
  const runChunks = async (chunks: Buffer[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await runInject([], Readable.from(chunks), { write: (t: string) => (out += t) }, { write: () => undefined });
    return { code, out };
  };
  const unicode = CONFIG_MAP.replace("the app's", 'café ✓ 🚀');

  test('a character split across chunks arrives whole: an unchanged document comes out byte for byte', async () => {
    const bytes = Buffer.from(unicode, 'utf8');
    const at = bytes.indexOf(Buffer.from('🚀', 'utf8')) + 2;
    expect(await runChunks([bytes.subarray(0, at), bytes.subarray(at, at + 1), bytes.subarray(at + 1)])).toEqual({ code: 0, out: unicode });
  });

  test('a leading UTF-8 byte order mark is dropped (TextDecoder’s default), the rest kept', async () => {
    expect(await runChunks([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), Buffer.from(unicode, 'utf8')])).toEqual({ code: 0, out: unicode });
  });
});

test.each([['-h'], ['--help']])('%s: the usage on stdout, exit 0, the input not read', async (flag) => {
  expect(await run([flag], 'kind: [unclosed\n')).toEqual({ code: 0, out: `${INJECT_USAGE}\n`, err: '' });
});

test.each([
  // parseArgs' own words (strict) for what it refuses; ours for the values
  [['--bogus'], "Unknown option '--bogus'"],
  [['-f'], "Option '-f, --filename <value>' argument missing"],
  [['input.yaml'], "Unexpected argument 'input.yaml'. This command does not take positional arguments"],
  [['--filename='], '--filename must be a file name, or - for stdin, got ""'],
  [['-f', 'a.yaml', '--filename', 'b.yaml'], 'give one -f FILE (concatenate files with --- to inject several)'],
  [['--image='], '--image must be an image reference, got ""'],
  [['--sidecar', 'sometimes'], '--sidecar must be one of native, classic, got "sometimes"'],
  [['-f', 'missing.yaml'], "cannot read missing.yaml: ENOENT: no such file, open 'missing.yaml'"],
])('usage: %j → exit 2', async (args, message) => {
  const { code, out, err } = await run(args, '');
  expect(code).toBe(2);
  expect(out).toBe('');
  expect(err).toContain(message);
});

test("the injected drainer's defaults, as the webhook takes them: port, resources, env defaults, the token file", async () => {
  const { code, out, err } = await run(
    ['--drainer-port', '9100', '--drainer-resources', '{"limits":{}}', '--drainer-env', '[{"name":"DRAINER_TAIL_SECONDS","value":"20"}]', '--drainer-token-file', '/secret/token'],
    [NAMESPACE, deployment('orders')].join('---\n'),
    { '/secret/token': 'a-long-enough-token-value\n' },
  );
  expect({ code, err: err.split('\n').at(-2) }).toEqual({ code: 0, err: 'eureka-drainer inject: 1 injected, 0 unchanged, 0 refused' });
  const spec = deploymentAt(out, 1).spec.template.spec;
  const drainer = spec.initContainers![0]!;
  expect(drainer.ports).toEqual([{ name: 'drainer', containerPort: 9100 }]);
  expect(drainer.resources).toEqual({ requests: { cpu: '10m', memory: '96Mi' } });
  expect(drainer.env).toEqual(expect.arrayContaining([{ name: 'DRAINER_TAIL_SECONDS', value: '20' }, { name: 'DRAINER_TOKEN', value: 'a-long-enough-token-value' }]));
  expect(spec.containers[0]!.lifecycle!.preStop!.httpGet).toEqual({ path: '/prestop', port: 9100, httpHeaders: [{ name: 'X-Drainer-Token', value: 'a-long-enough-token-value' }] });
});

test('--sidecar in any case, as the webhook reads it', async () => {
  const { code, out } = await run(['--sidecar', 'Classic'], [NAMESPACE, deployment('orders')].join('---\n'));
  expect(code).toBe(0);
  const spec = deploymentAt(out, 1).spec.template.spec;
  expect({ init: spec.initContainers, drainer: spec.containers.map((c) => c.name) }).toEqual({ init: undefined, drainer: ['app', 'eureka-drainer'] });
});

test('bad defaults: every problem, a usage error', async () => {
  const { code, err } = await run(['--drainer-port', '0', '--drainer-token-file', '/nope'], '');
  expect(code).toBe(2);
  expect(err).toContain('eureka-drainer inject: --drainer-port must be an integer from 1 to 65535, got "0"; --drainer-token-file names a file that cannot be read: "/nope" (error)');
});
