/**
 * Every relative link in the docs a user or contributor reads resolves: the file (or folder) exists, and an
 * #anchor names a heading of the Markdown file it points into, by GitHub's rules. A moved section or a renamed
 * heading fails here instead of leaving a reader at a dead link.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { anchorsOf, isExternal, linkTargetsOf } from '../helpers/markdown';

const ROOT = resolve(__dirname, '..', '..');

/** Generated or installed folders: their READMEs are not ours. */
const NOT_OURS = new Set(['node_modules', 'target', 'dist', 'build', '.git']);

function readmesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return NOT_OURS.has(entry.name) ? [] : readmesUnder(path);
    return entry.name === 'README.md' ? [path] : [];
  });
}

const CHECKED = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
  'bench/README.md',
  ...readmesUnder('test'),
].sort();

interface Broken {
  readonly file: string;
  readonly target: string;
  readonly why: string;
}

/** The relative links of `file` (a path from the root) that do not resolve in `exists`/`read`'s tree. */
export function brokenLinks(
  file: string,
  markdown: string,
  tree: { exists(path: string): boolean; isFile(path: string): boolean; read(path: string): string },
): Broken[] {
  return linkTargetsOf(markdown)
    .filter((target) => !isExternal(target))
    .flatMap((target): Broken[] => {
      const [pathPart = '', anchor] = target.split('#', 2);
      const path = pathPart === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), decodeURI(pathPart)));
      if (!tree.exists(path)) return [{ file, target, why: `${path} does not exist` }];
      if (anchor === undefined || anchor === '') return [];
      if (!tree.isFile(path) || !path.endsWith('.md')) return [{ file, target, why: `${path} has no headings to point into` }];
      return anchorsOf(tree.read(path)).has(anchor) ? [] : [{ file, target, why: `${path} has no heading whose anchor is #${anchor}` }];
    });
}

const disk = {
  exists: (path: string) => existsSync(join(ROOT, path)),
  isFile: (path: string) => statSync(join(ROOT, path)).isFile(),
  read: (path: string) => readFileSync(join(ROOT, path), 'utf8'),
};

describe('every relative link and anchor resolves', () => {
  test('the files checked include the README, docs/ and the test and bench READMEs', () => {
    expect(CHECKED).toEqual(expect.arrayContaining(['README.md', 'docs/troubleshooting.md', 'CONTRIBUTING.md', 'bench/README.md', 'test/e2e/stack/README.md']));
  });

  test.each(CHECKED)('%s', (file) => {
    const markdown = disk.read(file);
    expect(brokenLinks(file, markdown, disk)).toEqual([]);
  });

  test('the README links somewhere into docs/, with anchors (so the check above has work to do)', () => {
    const targets = linkTargetsOf(disk.read('README.md'));
    expect(targets.filter((t) => t.startsWith('docs/') && t.includes('#')).length).toBeGreaterThan(3);
  });
});

/** The files that point users into docs/ by text: messages and help in src/, alert and dashboard descriptions in k8s/. */
function pointerSources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return pointerSources(path);
    return /\.(ts|ya?ml|json)$/.test(entry.name) ? [path] : [];
  });
}

/** `docs/<page>.md` and `docs/<page>.md#<anchor>` written out in plain text. */
const pointersIn = (text: string): string[] => [...text.matchAll(/\bdocs\/[\w-]+\.md(?:#[a-z0-9_-]+)?/g)].map((m) => m[0]);

describe('every pointer into docs/ from src/ and k8s/ resolves', () => {
  const pointers = ['src', 'k8s'].flatMap(pointerSources).flatMap((file) => pointersIn(disk.read(file)).map((pointer) => [file, pointer] as const));
  test('the alerts, the webhook\'s hint and the help text point into docs/', () => {
    expect([...new Set(pointers.map(([file]) => file))]).toEqual(
      expect.arrayContaining(['k8s/prometheus-rule.yaml', 'k8s/webhook/monitoring.yaml', 'k8s/grafana-dashboard.json', 'src/webhook/handshake-failure.ts', 'src/http/routes.ts', 'src/main.ts']),
    );
  });
  test.each(pointers)('%s: %s', (_file, pointer) => {
    expect(brokenLinks('pointer', `[p](${pointer})`, disk)).toEqual([]);
  });
});

describe('what the check finds', () => {
  const files: Record<string, string> = {
    'README.md': '# Title\n\n## Set-up\n\n## Set-up\n\n## Reading the `/drain` report\n',
    'docs/a.md': '# A\n\n```yaml\n# not a heading\n```\n',
    docs: '',
  };
  const tree = {
    exists: (path: string) => path in files,
    isFile: (path: string) => path !== 'docs',
    read: (path: string) => files[path]!,
  };
  const check = (file: string, markdown: string) => brokenLinks(file, markdown, tree).map((b) => b.why);

  test('links that resolve pass: a file, a folder, anchors by GitHub rules (a repeated heading gets -1), same-file anchors', () => {
    expect(check('docs/b.md', '[r](../README.md) [d](../docs) [s](../README.md#set-up) [s1](../README.md#set-up-1) [t](../README.md#reading-the-drain-report) [a](a.md#a)')).toEqual([]);
    expect(check('README.md', '[up](#title) [url](https://example.com/x.md#nowhere) `[code](nowhere.md)`\n```\n[block](nowhere.md)\n```')).toEqual([]);
  });

  test('a missing file, a missing anchor, an anchor into a folder and a heading inside code are each found', () => {
    expect(check('README.md', '[x](docs/gone.md)')).toEqual(['docs/gone.md does not exist']);
    expect(check('README.md', '[x](#set-up-2)')).toEqual(['README.md has no heading whose anchor is #set-up-2']);
    expect(check('README.md', '![img](docs#a)')).toEqual(['docs has no headings to point into']);
    expect(check('README.md', '[x](docs/a.md#not-a-heading)')).toEqual(['docs/a.md has no heading whose anchor is #not-a-heading']);
  });

});
