/**
 * The npm package as `npm pack` would make it: the built CLI (dist/), package.json (src/version.ts reads it
 * beside dist/ at run time), README.md and LICENSE, and nothing else: no sources, tests, manifests, image files
 * or benchmarks. The tree is copied to a scratch folder and built there, so the test never depends on (or
 * disturbs) this checkout's dist/, which other suites run.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
  keywords: string[];
  license: string;
  main?: string;
};

/** What is generated or installed, never part of the source tree the package is made from. */
const NOT_SOURCE = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', 'target']);

interface PackResult {
  readonly name: string;
  readonly version: string;
  readonly files: readonly { readonly path: string }[];
}

/** Copies the tree, builds it and asks npm what it would pack; the scratch folder is removed afterwards. */
function packedFiles(): { pack: PackResult; mainJs: string } {
  const scratch = mkdtempSync(join(tmpdir(), 'eureka-drainer-pack-'));
  try {
    cpSync(ROOT, scratch, { recursive: true, filter: (from) => !NOT_SOURCE.has(basename(from)) || from === ROOT });
    // The compiler and @types come from this checkout; npm never packs node_modules.
    symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
    const run = (command: string, args: string[]): string => {
      const result = spawnSync(command, args, { cwd: scratch, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${scratch} exited ${result.status}:\n${result.stderr}`);
      return result.stdout;
    };
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
    const [pack] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'])) as PackResult[];
    return { pack: pack!, mainJs: readFileSync(join(scratch, 'dist', 'main.js'), 'utf8') };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe('the npm package', () => {
  let pack: PackResult;
  let paths: string[];
  let mainJs: string;
  beforeAll(() => {
    ({ pack, mainJs } = packedFiles());
    paths = pack.files.map((f) => f.path).sort();
  }, 120_000);

  test('is this package at package.json\'s version', () => {
    expect({ name: pack.name, version: pack.version }).toEqual({ name: 'eureka-drainer', version: pkg.version });
  });

  test('holds the CLI, package.json beside dist/ (the version is read from it), README.md and LICENSE', () => {
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/main.js', 'dist/version.js']));
  });

  test('holds nothing but those: no sources, tests, manifests, image files, benchmarks, maps or declarations', () => {
    const unexpected = paths.filter((p) => !['LICENSE', 'README.md', 'package.json'].includes(p) && !/^dist\/[\w/-]+\.js$/.test(p));
    expect(unexpected).toEqual([]);
    for (const folder of ['src/', 'test/', 'k8s/', 'docker/', 'bench/', 'docs/', '.ci/', 'node_modules/']) {
      expect(paths.filter((p) => p.startsWith(folder))).toEqual([]);
    }
  });

  test('every compiled module of src/ is in it', () => {
    const compiled = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `dist/${f.split(sep).join('/').replace(/\.ts$/, '.js')}`);
    expect(compiled.length).toBeGreaterThan(50);
    expect(compiled.filter((f) => !paths.includes(f))).toEqual([]);
  });

  test('the eureka-drainer command is the packed dist/main.js, runnable by its shebang', () => {
    expect(pkg.bin).toEqual({ 'eureka-drainer': 'dist/main.js' });
    expect(paths).toContain(pkg.bin['eureka-drainer']);
    expect(mainJs.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('it is a command, not a library: no main to require (requiring dist/main.js would start the server)', () => {
    expect(pkg.main).toBeUndefined();
  });

  test('the metadata a registry shows: licence, Node.js line, keywords', () => {
    expect(pkg.license).toBe('Apache-2.0');
    // The Apache License 2.0 exactly as the ASF publishes it (LICENSE-2.0.txt), appendix left as is.
    expect(createHash('sha256').update(readFileSync(join(ROOT, 'LICENSE'))).digest('hex')).toBe('cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30');
    expect(pkg.engines.node).toMatch(/^\^\d+\.\d+\.\d+$/);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['eureka', 'kubernetes', 'sidecar', 'spring-cloud']));
  });
});
