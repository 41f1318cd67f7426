/**
 * The image we ship, built here (docker/build-image.js, as `npm run image` runs it) and read back from the archive
 * itself: index.json → manifest → config → layer, as a runtime reads it. Then its root filesystem is run the way a
 * container runtime runs the image: a new mount and PID namespace, the layer bind-mounted read-only as the root
 * (readOnlyRootFilesystem: true), the config's user, working directory, env and entrypoint, nothing of the host's
 * environment. That needs root (CI runs as root); the content checks do not. The image is an index of two
 * platforms, linux/amd64 and linux/arm64: the arm64 root filesystem runs under qemu user-mode emulation
 * (qemu-aarch64-static -L <rootfs>). Built twice from the same inputs, the archive is the same bytes.
 */
import { expect } from '@jest/globals';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './support/spring-app';
import { pollUntil } from './support/poll';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string }; devDependencies: Record<string, string> };
const REFERENCE = `ghcr.io/eureka-drainer/eureka-drainer:${pkg.version}`;
const NODE_MAJOR = /^\^(\d+)\./.exec(pkg.engines.node)![1];
/** Tooling that must never ship, whether or not package.json lists it today. */
const DEV_TOOLS = ['typescript', 'jest', 'ts-jest', 'supertest', 'esbuild', '@types/node', '@types/jest', 'ts-node'];

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Platform {
  architecture: string;
  os: string;
}
interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd?: string[]; WorkingDir: string; ExposedPorts: Record<string, object>; Labels: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

const work = mkdtempSync(join(tmpdir(), 'eureka-drainer-image-'));
const layout = join(work, 'layout');
const rootfs = join(work, 'rootfs');
const arm64Rootfs = join(work, 'rootfs-arm64');
const dockerArchive = join(work, 'docker-archive.tar');
let archive = '';
let stdoutLines: string[] = [];
let index: { manifests: Descriptor[] };
let imageIndex: { mediaType: string; manifests: Array<Descriptor & { platform: Platform }> };
/** Each platform's manifest and config, by architecture. */
const images = new Map<string, { manifest: { config: Descriptor; layers: Descriptor[] }; config: ImageConfig }>();
/** linux/amd64's, the platform of this machine and of the checks below that do not name one. */
let manifest: { config: Descriptor; layers: Descriptor[] };
let config: ImageConfig;

/** A blob of the layout, after checking it is what its descriptor says. */
function blob(descriptor: Descriptor): Buffer {
  const [algorithm, hex] = descriptor.digest.split(':');
  const bytes = readFileSync(join(layout, 'blobs', algorithm!, hex!));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (algorithm !== 'sha256' || actual !== hex || bytes.length !== descriptor.size) {
    throw new Error(`blob ${descriptor.digest} (${descriptor.size} bytes) holds sha256:${actual} (${bytes.length} bytes)`);
  }
  return bytes;
}

/** Every path under dir, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const relative = join(prefix, name);
    return lstatSync(join(dir, relative)).isDirectory() ? [relative, ...walk(dir, relative)] : [relative];
  });
}

beforeAll(() => {
  // The script, as `npm run image` runs it once dist/ is built (npm test builds it first); a second run in the same
  // checkout reuses the archive.
  const built = spawnSync(process.execPath, [join(ROOT, 'docker', 'build-image.js'), '--docker-archive', dockerArchive], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`docker/build-image.js failed (exit ${built.status}):\n${built.stderr}`);
  stdoutLines = built.stdout.trimEnd().split('\n');
  archive = stdoutLines[stdoutLines.length - 1]!;
  // Read back as a runtime reads it: index.json → image index → each platform's manifest → config and layers.
  mkdirSync(layout);
  execFileSync('tar', ['-xf', archive, '-C', layout]);
  index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  imageIndex = JSON.parse(blob(index.manifests[0]!).toString('utf8')) as typeof imageIndex;
  for (const descriptor of imageIndex.manifests) {
    const platformManifest = JSON.parse(blob(descriptor).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    images.set(descriptor.platform.architecture, { manifest: platformManifest, config: JSON.parse(blob(platformManifest.config).toString('utf8')) as ImageConfig });
  }
  ({ manifest, config } = images.get('amd64')!);
  for (const [architecture, into] of [['amd64', rootfs], ['arm64', arm64Rootfs]] as const) {
    mkdirSync(into);
    for (const layer of images.get(architecture)!.manifest.layers) execFileSync('tar', ['-xz', '--numeric-owner', '-C', into], { input: blob(layer) });
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the archive', () => {
  test('is build/image/<name>-<version>.oci.tar, the last line the script prints', () => {
    expect(archive).toBe(join(ROOT, 'build', 'image', `${pkg.name}-${pkg.version}.oci.tar`));
    expect(statSync(archive).isFile()).toBe(true);
  });

  test('holds one image index, named with the reference the manifests use, of linux/amd64 and linux/arm64', () => {
    expect(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name']).toBe(REFERENCE);
    expect(imageIndex.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(imageIndex.manifests.map((m) => [m.mediaType, m.platform])).toEqual([
      ['application/vnd.oci.image.manifest.v1+json', { architecture: 'amd64', os: 'linux' }],
      ['application/vnd.oci.image.manifest.v1+json', { architecture: 'arm64', os: 'linux' }],
    ]);
    // Each image's config says the platform the index lists it under, and both run the same way.
    for (const { platform } of imageIndex.manifests) expect(images.get(platform.architecture)!.config).toMatchObject(platform);
    expect(images.get('arm64')!.config.config).toEqual(config.config);
  });

  test('each platform\'s image says how it runs', () => {
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(config.config).toEqual({
      User: '1000:1000',
      Entrypoint: ['/usr/local/bin/node', '/app/dist/main.js'],
      Env: ['NODE_ENV=production', 'NODE_OPTIONS=--max-semi-space-size=1 --max-old-space-size=96'],
      WorkingDir: '/app',
      ExposedPorts: { '8787/tcp': {} },
      Labels: expect.objectContaining({ 'org.opencontainers.image.version': pkg.version, 'org.opencontainers.image.title': pkg.name }),
    });
    // One layer, no base: the whole root filesystem.
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
  });

  test('converts to a docker-archive of this machine\'s platform with that name (what `ctr images import` and `docker load` take)', () => {
    const [entry, ...others] = JSON.parse(execFileSync('tar', ['-xOf', dockerArchive, 'manifest.json'], { encoding: 'utf8' })) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    expect(others).toEqual([]);
    expect(entry!.RepoTags).toEqual([REFERENCE]);
    expect(entry!.Layers).toHaveLength(1);
    expect(JSON.parse(execFileSync('tar', ['-xOf', dockerArchive, entry!.Config], { encoding: 'utf8' }))).toMatchObject({ architecture: 'amd64', os: 'linux' });
  });
});

describe('the layer', () => {
  const inLayer = (path: string): string => join(rootfs, path);

  test(`holds Node.js ${NODE_MAJOR}, the libraries it links and the compiled app`, () => {
    const node = inLayer('usr/local/bin/node');
    expect(statSync(node).mode & 0o111).not.toBe(0);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${NODE_MAJOR}\\.`));
    // Every library ldd finds for the image's node is in the layer, at the same path.
    const linked = execFileSync('ldd', [node], { encoding: 'utf8' }).split('\n').map((l) => /=>\s+(\/\S+)|^\s*(\/\S+)/.exec(l)).filter((m) => m !== null).map((m) => m[1] ?? m[2]!);
    expect(linked.map((l) => l.replace(/.*\//, ''))).toEqual(expect.arrayContaining(['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2']));
    for (const library of linked) expect(existsSync(inLayer(library))).toBe(true);
    for (const file of ['app/dist/main.js', 'app/package.json', 'app/node_modules/express/package.json', 'app/node_modules/pino/package.json']) {
      expect(existsSync(inLayer(file))).toBe(true);
    }
    expect(readFileSync(inLayer('etc/passwd'), 'utf8')).toMatch(/^drainer:x:1000:1000:/m);
    expect(readFileSync(inLayer('etc/group'), 'utf8')).toMatch(/^drainer:x:1000:$/m);
  });

  test('holds no dev dependency, at any depth', () => {
    const packages = walk(inLayer('app/node_modules'))
      .map((path) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/@.][^/]*)$|^((?:@[^/]+\/)?[^/@.][^/]*)$/.exec(path))
      .filter((m) => m !== null)
      .map((m) => m[1] ?? m[2]!);
    expect(packages).toEqual(expect.arrayContaining(['express', 'axios', 'pino', 'prom-client', 'yaml']));
    const devOnly = [...new Set([...Object.keys(pkg.devDependencies), ...DEV_TOOLS])];
    expect(packages.filter((name) => devOnly.includes(name))).toEqual([]);
  });

  test('holds no shell and no package manager; root owns every file and no one else may write', () => {
    const paths = walk(rootfs);
    expect(paths.filter((path) => /^(usr\/)?s?bin\/|(^|\/)(sh|bash|dash|ash|busybox|npm|npx|apt|apt-get|dpkg|apk)$/.test(path))).toEqual([]);
    expect(existsSync(inLayer('bin/sh'))).toBe(false);
    for (const path of paths) {
      const stat = lstatSync(inLayer(path));
      expect([path, stat.uid, stat.gid]).toEqual([path, 0, 0]);
      if (!stat.isSymbolicLink()) expect([path, stat.mode & 0o022]).toEqual([path, 0]);
    }
  });
});

describe('the image runs', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    const running = children.filter((child) => child.exitCode === null);
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((child) => new Promise((done) => child.once('exit', done))));
  });

  /**
   * The config's entrypoint (or `entrypoint`) with args, as a runtime starts it: PID 1 of a new PID namespace, the
   * layer as a read-only root, the config's user, working directory and env plus `env`, the host's /dev and a /proc
   * of its own.
   */
  function runImage(args: string[], env: Record<string, string>, entrypoint = config.config.Entrypoint): ChildProcess {
    if (process.getuid?.() !== 0) {
      throw new Error(`running the image needs root (unshare --mount --pid, a read-only bind mount, nsenter --root): run this test as root, as CI does (uid is ${process.getuid?.()})`);
    }
    const [uid, gid] = config.config.User.split(':');
    const mounts = 'R=$1; shift; mount --bind "$R" "$R" && mount -o remount,bind,ro "$R" && mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && exec /usr/bin/env -i "$@"';
    const environment = [...config.config.Env, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
    const command = ['/usr/bin/nsenter', `--root=${rootfs}`, `--wd=${join(rootfs, config.config.WorkingDir)}`, `--setuid=${uid}`, `--setgid=${gid}`, '--', ...entrypoint, ...args];
    // --kill-child: if unshare dies (a failed test kills it), so does the image's PID 1 and its namespace.
    const child = spawn('unshare', ['--mount', '--pid', '--fork', '--kill-child', '--', 'sh', '-c', mounts, 'sh', rootfs, ...environment, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  }

  const output = (child: ChildProcess): { text: () => string } => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return { text: () => text };
  };
  const exited = (child: ChildProcess): Promise<number | null> => new Promise((done) => child.once('exit', (code) => done(code)));

  test(`its own node (Node.js ${NODE_MAJOR}) runs on the layer's libraries alone`, async () => {
    const child = runImage(['--version'], {}, ['/usr/local/bin/node']);
    const out = output(child);
    expect(await exited(child)).toBe(0);
    expect(out.text()).toMatch(new RegExp(`^v${NODE_MAJOR}\\.\\d+\\.\\d+\\n$`));
  });

  test('as PID 1, user 1000 on a read-only root: /healthz answers, SIGTERM exits 0', async () => {
    const port = await freePort();
    const child = runImage([], {
      DRAINER_PORT: String(port),
      DRAINER_HOST: '127.0.0.1',
      DRAINER_APP_NAME: 'demo',
      POD_IP: '127.0.0.1',
      DRAINER_EUREKA_URLS: 'http://127.0.0.1:1/eureka/',
      DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '0',
      DRAINER_GRACE_PERIOD_SECONDS: '5',
      DRAINER_APP_PORT: '1',
    });
    const out = output(child);
    const exit = exited(child);
    const health = await Promise.race([
      pollUntil('/healthz of the image', async () => {
        const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return answer?.status === 200 ? (await answer.json()) : undefined;
      }),
      exit.then((code) => {
        throw new Error(`the image exited ${code} before /healthz answered:\n${out.text()}`);
      }),
    ]);
    expect(health).toEqual({ status: 'ok' });

    // The drainer: unshare's only child (sh, env and nsenter exec'd into it).
    const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^NSpid:\s+\d+\s+(\d+)$/m.exec(status)?.[1]).toBe('1');
    expect(/^Uid:\s+(.*)$/m.exec(status)?.[1]!.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    expect(/^Gid:\s+(.*)$/m.exec(status)?.[1]!.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual(config.config.Entrypoint);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((line) => line.split(' ')).find((fields) => fields[4] === '/');
    expect(rootMount?.[5]?.split(',')).toContain('ro');
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)).toEqual(expect.arrayContaining(config.config.Env));

    process.kill(pid, 'SIGTERM');
    expect(await exit).toBe(0);
    expect(out.text()).toContain('"msg":"exiting"');
  });
});

describe('the linux/arm64 image', () => {
  const inLayer = (path: string): string => join(arm64Rootfs, path);
  const arm64Config = (): ImageConfig => images.get('arm64')!.config;
  /** The image's node with args under qemu, its libraries from the image (-L): the config's env and working directory, nothing of the host's environment. */
  const qemuArgs = (args: string[]): string[] => ['-L', arm64Rootfs, inLayer('usr/local/bin/node'), ...args];
  const imageEnv = (env: Record<string, string>): Record<string, string> => ({
    ...Object.fromEntries(arm64Config().config.Env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
    ...env,
  });
  // qemu opens the guest's own paths under -L, but Node resolves its main module itself: it is given as the host path.
  const main = (): string => inLayer(arm64Config().config.Entrypoint[1]!);
  const planEnv = { DRAINER_APP_NAME: 'demo', POD_IP: '127.0.0.1', DRAINER_EUREKA_URLS: 'http://127.0.0.1:1/eureka/', DRAINER_APP_PORT: '1' };

  test('holds an aarch64 Node.js, the arm64 libraries it links, and the same app as linux/amd64', () => {
    // ELF header: e_machine (bytes 18-19, little-endian) 183 is EM_AARCH64.
    expect(readFileSync(inLayer('usr/local/bin/node')).readUInt16LE(18)).toBe(183);
    for (const library of ['lib/ld-linux-aarch64.so.1', ...['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libatomic.so.1'].map((l) => `lib/aarch64-linux-gnu/${l}`)]) {
      expect([library, existsSync(inLayer(library))]).toEqual([library, true]);
    }
    expect(existsSync(inLayer('lib64/ld-linux-x86-64.so.2'))).toBe(false);
    expect(walk(inLayer('app'))).toEqual(walk(join(rootfs, 'app')));
  });

  test(`its node is Node.js ${NODE_MAJOR} for arm64 (under qemu)`, () => {
    const result = spawnSync('qemu-aarch64-static', qemuArgs(['-p', 'process.version + " " + process.arch']), { env: imageEnv({}), encoding: 'utf8' });
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(new RegExp(`^v${NODE_MAJOR}\\.\\d+\\.\\d+ arm64\\n$`));
  });

  test('`plan` prints the drain plan and exits 0 when it fits', () => {
    const result = spawnSync('qemu-aarch64-static', qemuArgs([main(), 'plan']), { cwd: inLayer('app'), env: imageEnv({ ...planEnv, DRAINER_GRACE_PERIOD_SECONDS: '140' }), encoding: 'utf8' });
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^drain \(\/prestop\)\s+105\.5s\s+server_cache \+ registry_fetch \+ load_balancer \+ tail$/m);
    expect(result.stdout).toMatch(/^grace period\s+140s\s+DRAINER_GRACE_PERIOD_SECONDS$/m);
  });

  test('serves: /healthz answers from the image\'s own libraries, SIGTERM exits 0', async () => {
    const port = await freePort();
    const env = imageEnv({ ...planEnv, DRAINER_PORT: String(port), DRAINER_HOST: '127.0.0.1', DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '0', DRAINER_GRACE_PERIOD_SECONDS: '5' });
    const child = spawn('qemu-aarch64-static', qemuArgs([main()]), { cwd: inLayer('app'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const health = await Promise.race([
        pollUntil(
          '/healthz of the arm64 image',
          async () => {
            const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
            return answer?.status === 200 ? (await answer.json()) : undefined;
          },
          60_000,
        ),
        exit.then((code) => {
          throw new Error(`the arm64 image exited ${code} before /healthz answered:\n${text}`);
        }),
      ]);
      expect(health).toEqual({ status: 'ok' });
      // qemu maps the guest's libraries from the files it opened: the image's, not the build machine's.
      const mapped = readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((file) => /\/lib(c|stdc\+\+)\.so\.6$/.test(file));
      expect([...new Set(mapped)].sort()).toEqual([inLayer('lib/aarch64-linux-gnu/libc.so.6'), inLayer('lib/aarch64-linux-gnu/libstdc++.so.6')]);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(text).toContain('"msg":"exiting"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('reproducible', () => {
  test('built again from the same inputs, the archive is the same bytes', () => {
    const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
    const first = sha256(archive);
    // Without the record of its inputs the script cannot reuse the archive: it builds it again.
    rmSync(`${archive}.inputs-sha256`);
    const rebuilt = spawnSync(process.execPath, [join(ROOT, 'docker', 'build-image.js')], { cwd: ROOT, encoding: 'utf8' });
    expect([rebuilt.status, rebuilt.stderr]).toEqual([0, expect.stringContaining('umoci: ')]);
    expect(rebuilt.stdout.trimEnd().split('\n').pop()).toBe(archive);
    expect(sha256(archive)).toBe(first);
  });
});
