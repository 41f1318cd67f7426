/**
 * One version: package.json's. src/ reads it (src/version.ts); the files that cannot read package.json (the k8s/
 * manifests, the README and docs, docker/, a chart) write it out, and this test fails naming every place where
 * what they write differs from package.json.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { VersionError } from '../../src/errors';
import { PACKAGE_JSON, readVersion, VERSION, versionOf } from '../../src/version';

const ROOT = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const PACKAGE_VERSION = (JSON.parse(read('package.json')) as { version: string }).version;

/**
 * How a file writes the version: this release's image reference, the image's OCI version label, the annotation the
 * injector puts on a pod, a chart's appVersion. Each captures the version written.
 */
const VERSION_PATTERNS: readonly RegExp[] = [
  /ghcr\.io\/eureka-drainer\/eureka-drainer:([\w.+-]+)/g,
  /org\.opencontainers\.image\.version="?([\w.+-]+)/g,
  /eureka-drainer\/injected["']?:\s*["']?([\w.+-]+)/g,
  /^appVersion:\s*["']?([\w.+-]+)/gm,
];

/**
 * Where they are looked for: everything a user reads or applies. Not test/ (its fixtures are pods recorded from a
 * cluster, and mirror images on purpose) and not CHANGELOG.md (it names earlier versions on purpose).
 */
const SCANNED = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'docs', 'k8s', 'docker', 'charts'];
const TEXT_FILE = /(\.(md|ya?ml|json|tpl|txt|js)|Dockerfile[^/]*)$/;

/** The files that must write the version (so the scan can never pass by finding nothing). */
const REQUIRED = [
  'README.md',
  'charts/eureka-drainer/Chart.yaml',
  'docker/Dockerfile',
  'k8s/classic-sidecar.yaml',
  'k8s/component/add-drainer.yaml',
  'k8s/native-sidecar.yaml',
  'k8s/owner-mode.yaml',
  'k8s/webhook/deployment.yaml',
];

interface Place {
  readonly file: string;
  readonly line: number;
  readonly written: string;
}

/** Every place a file's text writes a version, by line. */
function versionPlaces(file: string, text: string): Place[] {
  return text.split('\n').flatMap((lineText, index) =>
    VERSION_PATTERNS.flatMap((pattern) => [...lineText.matchAll(pattern)].map((m) => ({ file, line: index + 1, written: m[1]! }))),
  );
}

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return TEXT_FILE.test(path) ? [path] : [];
  return readdirSync(full).flatMap((entry) => filesUnder(relative(ROOT, join(full, entry))));
}

const places = SCANNED.flatMap(filesUnder).flatMap((file) => versionPlaces(file, read(file)));
const describePlace = (p: Place): string => `${p.file}:${p.line} writes ${p.written}`;

describe('one version, package.json\'s', () => {
  test('src/ reads it from package.json', () => {
    expect(PACKAGE_JSON).toBe(join(ROOT, 'package.json'));
    expect(VERSION).toBe(PACKAGE_VERSION);
  });

  test('every file that cannot read package.json writes the same version', () => {
    const differing = places.filter((p) => p.written !== PACKAGE_VERSION).map(describePlace);
    expect({ packageJson: PACKAGE_VERSION, differing }).toEqual({ packageJson: PACKAGE_VERSION, differing: [] });
  });

  test.each(REQUIRED)('%s writes the version', (file) => {
    expect(places.filter((p) => p.file === file).map(describePlace)).not.toEqual([]);
  });

  test('a place that differs is found, with its file and line', () => {
    const deployment = read('k8s/webhook/deployment.yaml');
    const sidecarImageLine = deployment.split('\n').findIndex((l) => l.includes('WEBHOOK_SIDECAR_IMAGE')) + 1;
    const edited = deployment.replace(`WEBHOOK_SIDECAR_IMAGE, value: "ghcr.io/eureka-drainer/eureka-drainer:${PACKAGE_VERSION}"`, 'WEBHOOK_SIDECAR_IMAGE, value: "ghcr.io/eureka-drainer/eureka-drainer:0.0.9"');
    expect(edited).not.toBe(deployment);
    expect(versionPlaces('k8s/webhook/deployment.yaml', edited).filter((p) => p.written !== PACKAGE_VERSION)).toEqual([
      { file: 'k8s/webhook/deployment.yaml', line: sidecarImageLine, written: '0.0.9' },
    ]);
  });

  test.each([
    ['an image reference', 'image: ghcr.io/eureka-drainer/eureka-drainer:1.2.3', '1.2.3'],
    ['the OCI label', 'LABEL org.opencontainers.image.version="1.2.3-rc.1"', '1.2.3-rc.1'],
    ['the injected annotation', '    eureka-drainer/injected: "1.2.3"', '1.2.3'],
    ['a chart appVersion', 'appVersion: 1.2.3', '1.2.3'],
  ])('%s is a place', (_what, line, written) => {
    expect(versionPlaces('f', line)).toEqual([{ file: 'f', line: 1, written }]);
  });

  test('a mirror of the image is not this release\'s image', () => {
    expect(versionPlaces('f', 'image: registry.example.com/eureka-drainer:0.0.1')).toEqual([]);
  });
});

describe('what reading the version refuses', () => {
  test.each([
    ['not JSON', '{ "version": ', 'pkg.json is not JSON'],
    ['no version', '{ "name": "eureka-drainer" }', 'pkg.json must declare "version" as major.minor.patch[-pre-release], got undefined'],
    ['a version that is no release', '{ "version": "latest" }', 'pkg.json must declare "version" as major.minor.patch[-pre-release], got "latest"'],
    ['a number', '{ "version": 1 }', 'got 1'],
    ['not an object', '"0.1.0"', 'got undefined'],
  ])('%s', (_what, text, message) => {
    expect(() => versionOf(text, 'pkg.json')).toThrow(message);
    expect(() => versionOf(text, 'pkg.json')).toThrow(VersionError);
  });

  test('a pre-release is a version', () => {
    expect(versionOf('{ "version": "0.2.0-rc.1" }', 'pkg.json')).toBe('0.2.0-rc.1');
  });

  test('a missing package.json names the file', () => {
    const missing = join(ROOT, 'no-such-dir', 'package.json');
    expect(() => readVersion(missing)).toThrow(`cannot read the version from ${missing} (the package ships it beside dist/): ENOENT`);
  });

  test('the file read is the one given', () => {
    const asked: string[] = [];
    expect(readVersion('/app/package.json', (path) => (asked.push(path), '{ "version": "3.4.5" }'))).toBe('3.4.5');
    expect(asked).toEqual(['/app/package.json']);
  });
});
