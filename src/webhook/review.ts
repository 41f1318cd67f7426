/**
 * One AdmissionReview (admission.k8s.io/v1) in, the answer out. Pure: the body is untrusted
 * text, the injection function is a dependency, and nothing here throws.
 *
 * The answer always allows the object: the webhook adds a sidecar, it never decides whether a
 * pod may exist. A failure to inject is a warning the client sees (`kubectl` prints it) and a
 * counted result, never a refused pod. The uid must be echoed for the apiserver to accept the
 * answer; a body without one cannot be answered as a review and gets a 400 with a
 * metav1.Status, whose message the apiserver puts into its own log of the failed call.
 */
import type { InjectContext, InjectDefaults, InjectResult } from '../inject/inject';
import { diffJson, type JsonPatchOperation } from './json-patch';
import { isObject } from '../json';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The label (selectors can only match labels) and annotation key that opts in or out. */
export const OPT_IN_KEY = 'eureka-drainer/inject';
export const OPT_IN_VALUE = 'enabled';

export type ReviewResult = 'injected' | 'unchanged' | 'refused' | 'error' | 'malformed';
export const REVIEW_RESULTS: readonly ReviewResult[] = ['injected', 'unchanged', 'refused', 'error', 'malformed'];

/**
 * Which webhook entry called. `namespace` (POST /inject): the namespaceSelector matched, so the
 * namespace has opted in. `pod` (POST /inject-pod): the objectSelector matched the object's own
 * label `eureka-drainer/inject: enabled`, and that label is the opt-in.
 */
export type ReviewRoute = 'namespace' | 'pod';

/** injectWorkload (src/inject/inject.ts); a dependency so a test can make it throw. */
export type InjectFunction = (object: unknown, context: InjectContext) => InjectResult;

export interface ReviewDeps {
  readonly inject: InjectFunction;
  readonly defaults: InjectDefaults;
}

/** What to log about the review, every string bounded. */
export interface ReviewFacts {
  readonly uid?: string;
  readonly operation?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly changes?: readonly string[];
  readonly patchOperations?: number;
}

export interface ReviewAnswer {
  /** 200 with an AdmissionReview; 400 with a metav1.Status when no uid could be read. */
  readonly status: 200 | 400;
  readonly body: unknown;
  readonly result: ReviewResult;
  /** Why it was not injected, for the log and the warning; absent when injected. */
  readonly reason?: string;
  readonly facts: ReviewFacts;
  /** What the injection function threw, for the log. */
  readonly error?: unknown;
}


function field(object: unknown, key: string): unknown {
  return isObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A string from the body, bounded for a log line; undefined for anything else. */
function text(value: unknown, max = 253): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined;
}

/** An apiserver uid is a UUID; accept any short token of printable non-space ASCII, nothing else. */
const UID = /^[\x21-\x7e]{1,128}$/;

function uidOf(review: unknown): string | undefined {
  const uid = field(field(review, 'request'), 'uid');
  return typeof uid === 'string' && UID.test(uid) ? uid : undefined;
}

/**
 * Warnings are shown to whoever created the object. Kubernetes asks for short, printable
 * text; control characters are replaced and the length is capped.
 */
export const WARNING_MAX_CHARS = 240;

export function warningText(message: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  const clean = `eureka-drainer: ${message}`.replace(/[\x00-\x1f\x7f]+/g, ' ');
  return clean.length > WARNING_MAX_CHARS ? `${clean.slice(0, WARNING_MAX_CHARS - 1)}…` : clean;
}

function allowed(uid: string, extra: { patch?: readonly JsonPatchOperation[]; warning?: string } = {}): unknown {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: true,
      ...(extra.patch ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(extra.patch), 'utf8').toString('base64') } : {}),
      ...(extra.warning ? { warnings: [warningText(extra.warning)] } : {}),
    },
  };
}

function badRequest(reason: string): ReviewAnswer {
  return {
    status: 400,
    body: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 400, reason: 'BadRequest', message: `eureka-drainer webhook: ${reason}` },
    result: 'malformed',
    reason,
    facts: {},
  };
}

function answer(uid: string, result: Exclude<ReviewResult, 'injected'>, reason: string, facts: ReviewFacts, warn: boolean, error?: unknown): ReviewAnswer {
  return { status: 200, body: allowed(uid, warn ? { warning: `not injected: ${reason}` } : {}), result, reason, facts, ...(error === undefined ? {} : { error }) };
}

/** The answer to one review body. */
export function answerReview(body: string, route: ReviewRoute, deps: ReviewDeps): ReviewAnswer {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch {
    return badRequest('the body is not JSON');
  }
  if (!isObject(review)) return badRequest('the body is not a JSON object');
  const request = field(review, 'request');
  if (!isObject(request)) return badRequest('the review has no request');
  const uid = uidOf(review);
  if (uid === undefined) return badRequest('the review has no request.uid');

  const object = field(request, 'object');
  const metadata = field(object, 'metadata');
  const facts: ReviewFacts = {
    uid,
    ...optional('operation', text(field(request, 'operation'), 16)),
    ...optional('kind', text(field(object, 'kind'), 63) ?? text(field(field(request, 'kind'), 'kind'), 63)),
    ...optional('namespace', text(field(request, 'namespace'))),
    ...optional('name', text(field(request, 'name')) ?? text(field(metadata, 'name')) ?? text(field(metadata, 'generateName'))),
  };

  if (field(review, 'apiVersion') !== ADMISSION_API_VERSION || field(review, 'kind') !== 'AdmissionReview') {
    return answer(uid, 'malformed', `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview`, facts, true);
  }
  const operation = field(request, 'operation');
  if (typeof operation !== 'string') return answer(uid, 'malformed', 'the review has no request.operation', facts, true);
  if (operation !== 'CREATE' && operation !== 'UPDATE') return answer(uid, 'unchanged', `operation ${facts.operation} is not mutated`, facts, false);
  if (text(field(request, 'subResource')) !== undefined) return answer(uid, 'unchanged', 'subresources are not mutated', facts, false);
  if (!isObject(object)) return answer(uid, 'malformed', 'request.object is not an object', facts, true);
  // A pod's containers are fixed once it exists: a patch on UPDATE would make the apiserver refuse the update.
  if (operation === 'UPDATE' && (field(object, 'kind') === 'Pod' || field(field(request, 'kind'), 'kind') === 'Pod')) {
    return answer(uid, 'unchanged', 'a pod is only mutated when it is created', facts, false);
  }

  let result: InjectResult;
  try {
    result = deps.inject(object, {
      defaults: deps.defaults,
      ...(route === 'namespace' || field(field(metadata, 'labels'), OPT_IN_KEY) === OPT_IN_VALUE ? { namespaceAnnotations: { [OPT_IN_KEY]: OPT_IN_VALUE } } : {}),
    });
  } catch (error) {
    return answer(uid, 'error', 'the injection failed', facts, true, error);
  }

  switch (result.kind) {
    case 'unchanged':
      return answer(uid, 'unchanged', result.reason, facts, false);
    case 'refused':
      return answer(uid, 'refused', result.reason, facts, true);
    case 'injected': {
      let patch: JsonPatchOperation[];
      try {
        patch = diffJson(object, result.object);
      } catch (error) {
        return answer(uid, 'error', 'the patch could not be computed', facts, true, error);
      }
      if (patch.length === 0) return answer(uid, 'unchanged', 'the injection changed nothing', facts, false);
      return { status: 200, body: allowed(uid, { patch }), result: 'injected', facts: { ...facts, changes: result.changes.slice(0, 20), patchOperations: patch.length } };
    }
    default:
      return answer(uid, 'error', 'the injection returned an unknown result', facts, true);
  }
}

/**
 * A body over the limit: only its first bytes were kept. The apiserver writes the uid right
 * after kind and apiVersion, so it is read from there when the prefix has exactly that shape;
 * otherwise the answer is a 400.
 */
const OVERSIZED_PREFIX =
  /^\s*\{\s*(?:"(?:kind|apiVersion)"\s*:\s*"[^"\\]{0,64}"\s*,\s*){0,2}"request"\s*:\s*\{\s*"uid"\s*:\s*"([\x21\x23-\x5b\x5d-\x7e]{1,128})"/;

export function answerOversized(prefix: string, limitBytes: number): ReviewAnswer {
  const reason = `the review is larger than ${limitBytes} bytes`;
  const uid = OVERSIZED_PREFIX.exec(prefix)?.[1];
  if (uid === undefined) return badRequest(reason);
  return answer(uid, 'malformed', reason, { uid }, true);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
