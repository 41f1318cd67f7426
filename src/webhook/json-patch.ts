/**
 * RFC 6902 JSON Patch from one JSON document to another: what the webhook sends the
 * apiserver. Pure. Built by rfc6902's createPatch, the same library the tests apply patches
 * with, so building and applying have one implementation. Objects are compared key by key
 * (escaped per RFC 6901: `~` is `~0`, `/` is `~1`); an array that differs is replaced whole
 * at its path, where rfc6902 alone would edit it index by index: a container list is short,
 * index-wise edits of a list that another webhook may have reordered are where patches go
 * wrong, and rfc6902's array diff is quadratic in an untrusted object's list lengths.
 */
import { createPatch, type Operation, type Pointer } from 'rfc6902';

export type JsonPatchOperation = Operation;

export { escapeToken as escapePointerToken } from 'rfc6902/pointer';

/** The operations that turn `from` into `to`; empty when they are equal. */
export function diffJson(from: unknown, to: unknown): JsonPatchOperation[] {
  return createPatch(from, to, replaceDifferingArrays);
}

/** Structural equality of JSON values (key order ignored, array order not): no operation between them. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return diffJson(a, b).length === 0;
}

/** rfc6902 calls this for every pair of values; undefined leaves objects and scalars to its own diff. */
function replaceDifferingArrays(from: unknown, to: unknown, pointer: Pointer): JsonPatchOperation[] | undefined {
  if (!Array.isArray(from) || !Array.isArray(to)) return undefined;
  const same = from.length === to.length && from.every((item, i) => jsonEqual(item, to[i]));
  return same ? [] : [{ op: 'replace', path: pointer.toString(), value: to }];
}
