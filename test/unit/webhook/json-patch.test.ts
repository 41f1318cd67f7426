/** diffJson's patches (rfc6902's createPatch, arrays replaced whole), applied by rfc6902's applyPatch, give the target. */
import { expect } from '@jest/globals';
import { applyPatch, type Operation } from 'rfc6902';
import { DEFAULTS } from '../../../src/inject/inject';
import { diffJson, escapePointerToken, jsonEqual } from '../../../src/webhook/json-patch';
import { answerReview } from '../../../src/webhook/review';
import { injectWorkload } from '../../../src/inject/inject';
import { admissionReview, patchOf, workload } from './fixtures';

function roundTrip(from: unknown, to: unknown): unknown {
  const patch = diffJson(from, to);
  const doc = { root: structuredClone(from) };
  // rfc6902 cannot replace the document root in place; nest it one level to apply a root replace too.
  const nested = patch.map((op) => ({ ...op, path: `/root${op.path}` }));
  const errors = applyPatch(doc, nested);
  expect(errors.filter((e) => e !== null)).toEqual([]);
  return doc.root;
}

test('pointer tokens escape ~ before /', () => {
  expect(escapePointerToken('eureka-drainer/injected')).toBe('eureka-drainer~1injected');
  expect(escapePointerToken('a~/b')).toBe('a~0~1b');
  expect(escapePointerToken('~1')).toBe('~01');
  expect(escapePointerToken('')).toBe('');
});

test('equal documents give no operations, whatever the key order', () => {
  expect(diffJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toEqual([]);
  expect(jsonEqual({ a: undefined }, {})).toBe(true);
});

test('add, remove and replace at the right paths, with escaped keys', () => {
  const from = { metadata: { annotations: { 'app.kubernetes.io/name': 'orders', 'a~b': 'x' } }, spec: { n: 1 } };
  const to = { metadata: { annotations: { 'app.kubernetes.io/name': 'orders', 'eureka-drainer/injected': '0.1.0' } }, spec: { n: 2 } };
  expect(diffJson(from, to)).toEqual([
    { op: 'remove', path: '/metadata/annotations/a~0b' },
    { op: 'add', path: '/metadata/annotations/eureka-drainer~1injected', value: '0.1.0' },
    { op: 'replace', path: '/spec/n', value: 2 },
  ]);
  expect(roundTrip(from, to)).toEqual(to);
});

test('an array that differs is replaced whole', () => {
  const from = { containers: [{ name: 'app' }] };
  const to = { containers: [{ name: 'app', lifecycle: {} }, { name: 'eureka-drainer' }] };
  expect(diffJson(from, to)).toEqual([{ op: 'replace', path: '/containers', value: to.containers }]);
  expect(roundTrip(from, to)).toEqual(to);
});

test('type changes, nulls and the root', () => {
  expect(roundTrip({ a: { b: 1 } }, { a: [1] })).toEqual({ a: [1] });
  expect(roundTrip({ a: null }, { a: { b: null } })).toEqual({ a: { b: null } });
  expect(roundTrip({ a: 1 }, [1, 2])).toEqual([1, 2]);
  expect(diffJson({ a: 1 }, 'x')).toEqual([{ op: 'replace', path: '', value: 'x' }]);
});

test('a key named __proto__ is an ordinary key, never the prototype', () => {
  const from: unknown = JSON.parse('{"labels":{"__proto__":"x","constructor":"y"}}');
  const to: unknown = JSON.parse('{"labels":{"toString":"z"}}');
  const patch = diffJson(from, to);
  expect(patch).toEqual([
    { op: 'remove', path: '/labels/__proto__' },
    { op: 'remove', path: '/labels/constructor' },
    { op: 'add', path: '/labels/toString', value: 'z' },
  ]);
  expect(diffJson(JSON.parse('{"__proto__":1}'), {})).toEqual([{ op: 'remove', path: '/__proto__' }]);
});

test('random documents: the patch always gives the target', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const keys = ['a', 'b/c', 'd~e', '~1', '', 'f'];
  const value = (depth: number): unknown => {
    const pick = rand(depth > 2 ? 4 : 6);
    if (pick === 0) return rand(3);
    if (pick === 1) return ['x', 'y', null][rand(3)];
    if (pick === 2) return rand(2) === 0;
    if (pick === 3) return null;
    if (pick === 4) return Array.from({ length: rand(3) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: rand(4) }, () => [keys[rand(keys.length)]!, value(depth + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const from = { doc: value(0) };
    const to = { doc: value(0) };
    expect(roundTrip(from, to)).toEqual(to);
  }
});

test('a pod with annotations of its own: the marker is added under an escaped key, the others kept', () => {
  const pod = workload('Pod', { annotations: { 'prometheus.io/scrape': 'true' } });
  const answer = answerReview(JSON.stringify(admissionReview(pod)), 'namespace', { inject: injectWorkload, defaults: DEFAULTS });
  const patch = patchOf(answer.body)!;
  expect(patch).toContainEqual({ op: 'add', path: '/metadata/annotations/eureka-drainer~1injected', value: expect.any(String) });
  const copy = structuredClone(pod);
  expect(applyPatch(copy, patch as Operation[]).filter((e) => e !== null)).toEqual([]);
  expect(copy.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'eureka-drainer/injected': expect.any(String) });
});
