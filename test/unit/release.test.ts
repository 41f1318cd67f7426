/**
 * The pure steps of `npm run release` (tools/release.js): the artifacts' file names, SHA256SUMS as sha256sum reads
 * it, where helm is looked for, the SBOM's name, the options, and the inputs each refuses. The whole command:
 * test/e2e/release.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface Release {
  parseArgs(argv: string[]): { chart: string; out: string | undefined };
  artifactNames(name: string, version: string): Record<'image' | 'npm' | 'chart' | 'sbom' | 'checksums', string>;
  checksumLines(files: Array<{ name: string; sha256: string }>): string;
  helmCandidates(env: Record<string, string | undefined>, home: string): string[];
  sbomOfPackage(sbom: unknown, pkg: { name: string; version: string }): { metadata: { component: Record<string, unknown> } };
}
// A CommonJS script run by plain node, like docker/build-image.js, so required, not imported.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const release = require('../../tools/release.js') as Release;

const ROOT = resolve(__dirname, '..', '..');
const hex = (c: string): string => c.repeat(64);

describe('artifact names', () => {
  test('one per artifact of the version; the chart is told apart from npm\'s tarball of the same name', () => {
    expect(release.artifactNames('eureka-drainer', '1.2.3')).toEqual({
      image: 'eureka-drainer-1.2.3.oci.tar',
      npm: 'eureka-drainer-1.2.3.tgz',
      chart: 'eureka-drainer-chart-1.2.3.tgz',
      sbom: 'eureka-drainer-1.2.3.cdx.json',
      checksums: 'SHA256SUMS',
    });
    expect(new Set(Object.values(release.artifactNames('eureka-drainer', '1.2.3'))).size).toBe(5);
    expect(release.artifactNames('eureka-drainer', '1.0.0-rc.1').image).toBe('eureka-drainer-1.0.0-rc.1.oci.tar');
  });

  test.each([
    ['eureka-drainer', '1.2', 'package.json version must be a semantic version, got "1.2"'],
    ['eureka-drainer', 'v1.2.3', 'package.json version must be a semantic version, got "v1.2.3"'],
    ['@scope/eureka-drainer', '1.2.3', 'package.json name must be a plain npm name, got "@scope/eureka-drainer"'],
  ])('%s@%s is refused', (name, version, message) => {
    expect(() => release.artifactNames(name, version)).toThrow(message);
  });
});

describe('SHA256SUMS', () => {
  test('"<hex>  <name>" per line, sorted by name, as sha256sum writes it', () => {
    expect(release.checksumLines([{ name: 'b.tgz', sha256: hex('b') }, { name: 'SHA-note', sha256: hex('c') }, { name: 'a.oci.tar', sha256: hex('a') }])).toBe(
      `${hex('c')}  SHA-note\n${hex('a')}  a.oci.tar\n${hex('b')}  b.tgz\n`,
    );
  });

  test('sha256sum -c accepts what it writes, and catches a changed file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eureka-drainer-sums-'));
    try {
      writeFileSync(join(dir, 'one.tgz'), 'one');
      writeFileSync(join(dir, 'two.json'), 'two');
      const sha256 = (text: string): string => execFileSync('sha256sum', { input: text, encoding: 'utf8' }).split(' ')[0]!;
      writeFileSync(join(dir, 'SHA256SUMS'), release.checksumLines([{ name: 'two.json', sha256: sha256('two') }, { name: 'one.tgz', sha256: sha256('one') }]));
      expect(execFileSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' })).toBe('one.tgz: OK\ntwo.json: OK\n');
      writeFileSync(join(dir, 'two.json'), 'changed');
      const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
      expect([check.status, check.stdout]).toEqual([1, 'one.tgz: OK\ntwo.json: FAILED\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ name: 'a.tgz', sha256: 'ABC' }, 'not a SHA-256 in hex for a.tgz: "ABC"'],
    [{ name: 'a\nb.tgz', sha256: hex('a') }, 'an artifact name must be a plain file name, got "a\\nb.tgz"'],
    [{ name: 'dir/a.tgz', sha256: hex('a') }, 'an artifact name must be a plain file name'],
    [{ name: 'a\\b.tgz', sha256: hex('a') }, 'an artifact name must be a plain file name'],
  ])('%j is refused', (file, message) => {
    expect(() => release.checksumLines([file])).toThrow(message);
  });
});

describe('helm', () => {
  test('$HELM alone when set; else helm on each PATH folder, then the CI\'s cache', () => {
    expect(release.helmCandidates({ HELM: '/opt/helm', PATH: '/usr/bin' }, '/home/me')).toEqual(['/opt/helm']);
    expect(release.helmCandidates({ PATH: '/usr/local/bin:/usr/bin' }, '/home/me')).toEqual(['/usr/local/bin/helm', '/usr/bin/helm', '/home/me/.cache/eureka-drainer-ci/helm-v4.3.2/helm']);
    expect(release.helmCandidates({ XDG_CACHE_HOME: '/cache' }, '/home/me')).toEqual(['/cache/eureka-drainer-ci/helm-v4.3.2/helm']);
  });
});

describe('the SBOM', () => {
  const sbom = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { 'bom-ref': 'eureka-drainer@1.2.3', name: 'wt-release2', version: '1.2.3' } }, components: [{ name: 'express' }] };

  test('names the package, not the folder npm sbom ran in; the rest is npm\'s', () => {
    const named = release.sbomOfPackage(sbom, { name: 'eureka-drainer', version: '1.2.3' });
    expect(named).toEqual({ ...sbom, metadata: { component: { 'bom-ref': 'eureka-drainer@1.2.3', name: 'eureka-drainer', version: '1.2.3' } } });
  });

  test('one of another package or version, or not CycloneDX, is an error', () => {
    expect(() => release.sbomOfPackage(sbom, { name: 'eureka-drainer', version: '1.2.4' })).toThrow('npm sbom did not describe eureka-drainer@1.2.4 in CycloneDX');
    expect(() => release.sbomOfPackage({ ...sbom, bomFormat: 'SPDX' }, { name: 'eureka-drainer', version: '1.2.3' })).toThrow('did not describe');
  });
});

describe('options', () => {
  test('the chart is charts/eureka-drainer and the folder build/release/<version> unless given', () => {
    expect(release.parseArgs([])).toEqual({ chart: join(ROOT, 'charts', 'eureka-drainer'), out: undefined });
    expect(release.parseArgs(['--chart', 'x', '--out=y'])).toEqual({ chart: resolve('x'), out: resolve('y') });
  });

  test.each([
    [['--push'], 'unknown argument "--push": use --chart DIR or --out DIR'],
    [['--out'], '--out needs a folder'],
    [['--chart='], '--chart needs a folder'],
  ])('%j is refused', (argv, message) => {
    expect(() => release.parseArgs(argv)).toThrow(message);
  });
});
