#!/usr/bin/env node
'use strict';
/**
 * `npm run release` (after `npm run build`, which it runs): every artifact of package.json's version, built into one
 * folder, build/release/<version>/:
 *
 * - <name>-<version>.oci.tar        the image for linux/amd64 and linux/arm64 under one tag (docker/build-image.js)
 * - <name>-<version>.tgz            the npm package (npm pack)
 * - <name>-chart-<version>.tgz      the Helm chart (helm package charts/eureka-drainer), its version and appVersion
 *                                   set to package.json's; "-chart" keeps it apart from npm's tarball of the same name
 * - <name>-<version>.cdx.json       the SBOM of the npm package's dependencies (npm sbom, CycloneDX)
 * - SHA256SUMS                      their SHA-256 checksums: `sha256sum -c SHA256SUMS` in the folder checks them
 *
 * Nothing is published: docs/releasing.md is the maintainer's one step that pushes these. The helm binary is $HELM,
 * else `helm` on PATH, else the CI's cache (~/.cache/eureka-drainer-ci/helm-<version>/helm). The chart and helm are
 * checked before anything is built, so a missing one fails at once. The folder is emptied first: no artifact of an
 * earlier run is checksummed with this one.
 *
 * Options: `--chart DIR` (default charts/eureka-drainer), `--out DIR` (default build/release/<version>). The folder's
 * path is the last line on stdout; progress goes to stderr.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { homedir, tmpdir } = require('node:os');
const path = require('node:path');
// The image build's way to run a tool: its output, or an error with the command, exit code and what it printed.
const { run } = require('../docker/build-image.js');

const ROOT = path.resolve(__dirname, '..');
/** The Helm the CI builds (go install helm.sh/helm/v4/cmd/helm@<version>) into its cache outside the clone. */
const HELM_VERSION = 'v4.3.2';

// ---- pure steps ---------------------------------------------------------------------------------------------

/** Command-line options; an unknown one is an error, not ignored. */
function parseArgs(argv) {
  const options = { chart: path.join(ROOT, 'charts', 'eureka-drainer'), out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--(chart|out)(?:=(.*))?$/s.exec(argv[i]);
    if (!flag) throw new Error(`unknown argument "${argv[i]}": use --chart DIR or --out DIR`);
    const value = flag[2] ?? argv[++i];
    if (!value) throw new Error(`--${flag[1]} needs a folder`);
    options[flag[1]] = path.resolve(value);
  }
  return options;
}

/** The file name of each artifact of a version. */
function artifactNames(name, version) {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`package.json name must be a plain npm name, got ${JSON.stringify(name)}`);
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`package.json version must be a semantic version, got ${JSON.stringify(version)}`);
  return {
    image: `${name}-${version}.oci.tar`,
    npm: `${name}-${version}.tgz`,
    chart: `${name}-chart-${version}.tgz`,
    sbom: `${name}-${version}.cdx.json`,
    checksums: 'SHA256SUMS',
  };
}

/**
 * SHA256SUMS as sha256sum writes it: "<hex>  <name>" (two spaces: text mode), one line each, sorted by name. A
 * name sha256sum would escape (a backslash or a line break) is refused rather than written wrong.
 */
function checksumLines(files) {
  return files
    .map(({ name, sha256 }) => {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 in hex for ${name}: ${JSON.stringify(sha256)}`);
      if (name === '' || /[\\\n\r/]/.test(name)) throw new Error(`an artifact name must be a plain file name, got ${JSON.stringify(name)}`);
      return { name, line: `${sha256}  ${name}\n` };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ line }) => line)
    .join('');
}

/** Where helm may be, in the order tried: $HELM, helm on PATH, the CI's cache. */
function helmCandidates(env, home) {
  const cache = path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'eureka-drainer-ci', `helm-${HELM_VERSION}`, 'helm');
  const onPath = (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'helm'));
  return env.HELM ? [env.HELM] : [...onPath, cache];
}

/**
 * npm sbom names the root component after the folder it ran in (the checkout's, e.g. "wt-release2"), not the
 * package; the SBOM of a release names the package.
 */
function sbomOfPackage(sbom, pkg) {
  const component = sbom?.metadata?.component;
  if (sbom?.bomFormat !== 'CycloneDX' || component?.['bom-ref'] !== `${pkg.name}@${pkg.version}`) {
    throw new Error(`npm sbom did not describe ${pkg.name}@${pkg.version} in CycloneDX: ${JSON.stringify(component ?? sbom?.bomFormat)}`);
  }
  return { ...sbom, metadata: { ...sbom.metadata, component: { ...component, name: pkg.name } } };
}

// ---- I/O ----------------------------------------------------------------------------------------------------

const log = (message) => process.stderr.write(`release: ${message}\n`);

function findHelm() {
  const tried = helmCandidates(process.env, homedir());
  const helm = tried.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return fs.statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
  if (!helm) throw new Error(`helm not found (tried ${tried.join(', ')}): install Helm v4 (go install helm.sh/helm/v4/cmd/helm@${HELM_VERSION}) or set HELM to its path`);
  return helm;
}

/** Empties the release folder; one that holds anything but this version's artifacts (a mistyped --out) is refused. */
function emptyReleaseFolder(out, names) {
  const foreign = fs.existsSync(out) ? fs.readdirSync(out).filter((entry) => !Object.values(names).includes(entry)) : [];
  if (foreign.length > 0) throw new Error(`will not empty ${out}: it holds ${foreign.slice(0, 5).join(', ')}, not only release artifacts; pass an empty or new --out`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
}

function requireChart(chart) {
  if (!fs.existsSync(path.join(chart, 'Chart.yaml'))) {
    throw new Error(`no Helm chart at ${chart} (no Chart.yaml): the chart is charts/eureka-drainer; pass --chart DIR for another`);
  }
}

/** The image archive docker/build-image.js builds (reused when nothing changed), copied in. */
function buildImage(out, name) {
  log('image: node docker/build-image.js');
  const stdout = run(process.execPath, [path.join(ROOT, 'docker', 'build-image.js')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  fs.copyFileSync(stdout.trimEnd().split('\n').pop(), path.join(out, name));
}

function packNpm(out, name) {
  log('npm pack');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: ROOT }));
  if (packed?.filename !== name) throw new Error(`npm pack wrote ${packed?.filename}, expected ${name}`);
}

/** helm package into a scratch folder (its file name is npm's), then moved in under the chart's name. */
function packageChart(helm, chart, out, name, version) {
  log(`helm package ${chart} --version ${version} --app-version ${version}`);
  const scratch = fs.mkdtempSync(path.join(tmpdir(), 'eureka-drainer-chart-'));
  try {
    run(helm, ['package', chart, '--version', version, '--app-version', version, '--destination', scratch]);
    const [packaged, ...others] = fs.readdirSync(scratch);
    if (!packaged || others.length > 0) throw new Error(`helm package wrote ${JSON.stringify(fs.readdirSync(scratch))}, expected one chart archive`);
    fs.copyFileSync(path.join(scratch, packaged), path.join(out, name));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function writeSbom(out, name, pkg) {
  log('npm sbom --sbom-format cyclonedx --omit dev');
  const sbom = JSON.parse(run('npm', ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application', '--omit', 'dev'], { cwd: ROOT }));
  fs.writeFileSync(path.join(out, name), `${JSON.stringify(sbomOfPackage(sbom, pkg), null, 2)}\n`);
}

function writeChecksums(out, names) {
  const files = names.map((name) => ({ name, sha256: createHash('sha256').update(fs.readFileSync(path.join(out, name))).digest('hex') }));
  fs.writeFileSync(path.join(out, 'SHA256SUMS'), checksumLines(files));
}

function main(argv) {
  const options = parseArgs(argv);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const names = artifactNames(pkg.name, pkg.version);
  requireChart(options.chart);
  const helm = findHelm();
  const mainJs = path.join(ROOT, 'dist', 'main.js');
  if (!fs.existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build first (npm run release does)`);

  const out = options.out ?? path.join(ROOT, 'build', 'release', pkg.version);
  emptyReleaseFolder(out, names);
  buildImage(out, names.image);
  packNpm(out, names.npm);
  packageChart(helm, options.chart, out, names.chart, pkg.version);
  writeSbom(out, names.sbom, pkg);
  writeChecksums(out, [names.image, names.npm, names.chart, names.sbom]);
  log(`${pkg.name} ${pkg.version}: ${fs.readdirSync(out).join(', ')}`);
  return out;
}

if (require.main === module) {
  try {
    process.stdout.write(`${main(process.argv.slice(2))}\n`);
  } catch (error) {
    process.stderr.write(`release: ${error.message}\n`);
    process.exit(1);
  }
}

module.exports = { parseArgs, artifactNames, checksumLines, helmCandidates, sbomOfPackage };
