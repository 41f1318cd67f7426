import { expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The YAML snippets of the README and docs/ are excerpts of the shipped manifests, never a second copy that can
 * drift: each ```yaml block is one or more fragments separated by elision lines (`# …`), and every fragment is a
 * run of consecutive lines found verbatim (indentation included), in order, in one file under k8s/.
 */
const root = resolve(__dirname, '..', '..');
const DOCS = ['README.md', ...readdirSync(resolve(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function manifests(dir: string): { file: string; lines: string[] }[] {
  return readdirSync(resolve(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? manifests(join(dir, e.name)) : e.name.endsWith('.yaml') ? [{ file: join(dir, e.name), lines: readFileSync(resolve(root, dir, e.name), 'utf8').split('\n') }] : [],
  );
}

const ELISION = /^\s*# …\s*$/;

export function fragmentsOf(block: string): string[][] {
  const fragments: string[][] = [[]];
  for (const line of block.split('\n')) {
    if (ELISION.test(line)) fragments.push([]);
    else fragments[fragments.length - 1]!.push(line);
  }
  return fragments.filter((f) => f.length > 0);
}

/** The first line index ≥ `from` where `fragment` starts in `lines`, or -1. */
function indexOfRun(lines: readonly string[], fragment: readonly string[], from: number): number {
  for (let i = from; i + fragment.length <= lines.length; i++) {
    if (fragment.every((l, j) => lines[i + j] === l)) return i;
  }
  return -1;
}

export function excerptOf(block: string, files: readonly { file: string; lines: string[] }[]): string | undefined {
  const fragments = fragmentsOf(block);
  return files.find(({ lines }) => {
    let at = 0;
    for (const fragment of fragments) {
      const found = indexOfRun(lines, fragment, at);
      if (found < 0) return false;
      at = found + fragment.length;
    }
    return true;
  })?.file;
}

const files = manifests('k8s');
const yamlBlocks = (file: string): string[] =>
  [...readFileSync(resolve(root, file), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\n$/, ''));
const blocks = DOCS.flatMap((file) => yamlBlocks(file).map((block, i) => ({ file, n: i + 1, block })));

test('the README, the Kubernetes page and owner mode\'s have YAML snippets to check', () => {
  expect([...new Set(blocks.map((b) => b.file))]).toEqual(expect.arrayContaining(['README.md', 'docs/kubernetes.md', 'docs/owner-mode.md']));
});

test.each(blocks.map(({ file, n, block }) => [file, n, block] as const))('%s yaml block %i is an excerpt of a manifest in k8s/', (_file, _n, block) => {
  expect({ block, file: excerptOf(block, files) }).toEqual({ block, file: expect.stringMatching(/^k8s\//) });
});

test('the check can fail: a changed value is not an excerpt', () => {
  const first = blocks[0]!.block;
  const changed = first.replace(/port: 8787/, 'port: 8788');
  expect(changed).not.toBe(first);
  expect(excerptOf(changed, files)).toBeUndefined();
  // …and fragments out of order are not one either.
  const reversed = fragmentsOf(first).reverse().map((f) => f.join('\n')).join('\n# …\n');
  if (fragmentsOf(first).length > 1) expect(excerptOf(reversed, files)).toBeUndefined();
});
