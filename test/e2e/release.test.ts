/**
 * `npm run release` end to end: tools/release.js (as `npm run release` runs it once dist/ is built) with a
 * throwaway Helm chart (the product's chart, charts/eureka-drainer, is checked by its own tests), into a scratch
 * folder. The folder holds the five artifacts, each read back as a user gets it, and SHA256SUMS that
 * `sha256sum -c` accepts. A missing chart or helm fails at once, before anything is built.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), 'eureka-drainer-release-'));
const chart = join(work, 'chart');
const out = join(work, 'release');
const names = {
  image: `${pkg.name}-${pkg.version}.oci.tar`,
  npm: `${pkg.name}-${pkg.version}.tgz`,
  chart: `${pkg.name}-chart-${pkg.version}.tgz`,
  sbom: `${pkg.name}-${pkg.version}.cdx.json`,
};

function release(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(ROOT, 'tools', 'release.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
}
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

let stdout = '';
beforeAll(() => {
  // A chart at another version than the package's: the release sets both of the chart's versions from package.json.
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: eureka-drainer\nversion: 0.0.0\nappVersion: "0.0.0"\n');
  writeFileSync(join(chart, 'templates', 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n');
  const result = release(['--chart', chart, '--out', out]);
  if (result.status !== 0) throw new Error(`tools/release.js failed (exit ${result.status}):\n${result.stderr}`);
  stdout = result.stdout;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('one folder holds the five artifacts of the version, and nothing else; its path is the last line printed', () => {
  expect(stdout.trimEnd().split('\n').pop()).toBe(out);
  expect(readdirSync(out).sort()).toEqual(['SHA256SUMS', ...Object.values(names)].sort());
});

test('sha256sum -c SHA256SUMS checks every artifact', () => {
  expect(execFileSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(
    Object.values(names).map((name) => `${name}: OK`).sort(),
  );
});

test('the image archive is the one `npm run image` builds: the image index of the version\'s reference', () => {
  expect(sha256(join(out, names.image))).toBe(sha256(join(ROOT, 'build', 'image', names.image)));
  const index = JSON.parse(execFileSync('tar', ['-xOf', join(out, names.image), 'index.json'], { encoding: 'utf8' })) as { manifests: Array<{ mediaType: string; annotations: Record<string, string> }> };
  expect(index.manifests).toEqual([expect.objectContaining({ mediaType: 'application/vnd.oci.image.index.v1+json', annotations: { 'org.opencontainers.image.ref.name': `ghcr.io/eureka-drainer/eureka-drainer:${pkg.version}` } })]);
});

test('the npm package is this package at this version, with the CLI', () => {
  const listing = execFileSync('tar', ['-tzf', join(out, names.npm)], { encoding: 'utf8' }).split('\n');
  expect(listing).toEqual(expect.arrayContaining(['package/package.json', 'package/dist/main.js', 'package/LICENSE']));
  expect(JSON.parse(execFileSync('tar', ['-xOzf', join(out, names.npm), 'package/package.json'], { encoding: 'utf8' }))).toMatchObject({ name: pkg.name, version: pkg.version });
});

test('the chart package carries package.json\'s version as its version and appVersion', () => {
  const chartYaml = YAML.parse(execFileSync('tar', ['-xOzf', join(out, names.chart), 'eureka-drainer/Chart.yaml'], { encoding: 'utf8' })) as Record<string, string>;
  expect(chartYaml).toMatchObject({ name: 'eureka-drainer', version: pkg.version, appVersion: pkg.version });
});

test('the SBOM is CycloneDX for this package: its production dependencies, no dev tooling', () => {
  const sbom = JSON.parse(readFileSync(join(out, names.sbom), 'utf8')) as { bomFormat: string; metadata: { component: Record<string, string> }; components: Array<{ name: string }> };
  expect(sbom.bomFormat).toBe('CycloneDX');
  expect(sbom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version });
  const components = sbom.components.map((c) => c.name);
  expect(components).toEqual(expect.arrayContaining(Object.keys(pkg.dependencies)));
  expect(components.filter((name) => Object.hasOwn(pkg.devDependencies, name))).toEqual([]);
});

describe('fails at once, building nothing', () => {
  const empty = join(work, 'never');

  test('when the chart is missing', () => {
    const result = release(['--chart', join(work, 'no-chart'), '--out', empty]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`release: no Helm chart at ${join(work, 'no-chart')} (no Chart.yaml): the chart is charts/eureka-drainer; pass --chart DIR for another\n`);
    expect(existsSync(empty)).toBe(false);
  });

  test('when helm is missing', () => {
    const result = release(['--chart', chart, '--out', empty], { HELM: join(work, 'no-helm') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`release: helm not found (tried ${join(work, 'no-helm')}): install Helm v4`);
    expect(existsSync(empty)).toBe(false);
  });

  test('when --out is a folder of other things (it would be emptied)', () => {
    const other = join(work, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'keep me');
    const result = release(['--chart', chart, '--out', other]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`release: will not empty ${other}: it holds notes.txt, not only release artifacts; pass an empty or new --out\n`);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});
