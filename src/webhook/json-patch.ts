/**
 * RFC 6902 JSON Patch from one JSON document to another: what the webhook sends the
 * apiserver. Pure. Objects are compared key by key; an array that differs is replaced
 * whole at its path (a container list is short, and index-wise edits of a list that
 * another webhook may have reordered are where patches go wrong).
 */
import { isObject, type Json } from '../json';

export type JsonPatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

/** One reference token of a JSON Pointer (RFC 6901): `~` is `~0`, `/` is `~1`, in that order. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** An own property only: a key such as `__proto__` must not read the prototype. */
function own(object: Json, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Keys JSON.stringify would write: own, enumerable, and not undefined. */
function keysOf(object: Json): string[] {
  return Object.keys(object).filter((key) => object[key] !== undefined);
}

/** Structural equality of JSON values (key order ignored, array order not). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = keysOf(a);
    if (keys.length !== keysOf(b).length) return false;
    return keys.every((key) => own(b, key) !== undefined && jsonEqual(a[key], own(b, key)));
  }
  return false;
}

/** The operations that turn `from` into `to`; empty when they are equal. */
export function diffJson(from: unknown, to: unknown): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  diffAt(from, to, '', ops);
  return ops;
}

function diffAt(from: unknown, to: unknown, path: string, ops: JsonPatchOperation[]): void {
  if (jsonEqual(from, to)) return;
  if (!isObject(from) || !isObject(to)) {
    ops.push({ op: 'replace', path, value: to });
    return;
  }
  for (const key of keysOf(from)) {
    if (own(to, key) === undefined) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
  }
  for (const key of keysOf(to)) {
    const child = `${path}/${escapePointerToken(key)}`;
    if (own(from, key) === undefined) ops.push({ op: 'add', path: child, value: to[key] });
    else diffAt(from[key], to[key], child, ops);
  }
}
