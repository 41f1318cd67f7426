/**
 * The review handler with the real injectWorkload, at the contract the apiserver holds it to: a
 * real AdmissionReview in, the answer's patch applied with rfc6902 (a maintained RFC 6902
 * implementation, the one that builds it), the result validated against the Kubernetes schemas
 * and equal to what injectWorkload itself returns.
 */
import { expect } from '@jest/globals';
import { applyPatch, type Operation } from 'rfc6902';
import { DEFAULTS, injectWorkload, type InjectContext } from '../../../src/inject/inject';
import { answerOversized, answerReview, WARNING_MAX_CHARS, type InjectFunction, type ReviewAnswer, type ReviewDeps } from '../../../src/webhook/review';
import { admissionReview, appContainer, patchOf, requestShapeProblems, responseShapeProblems, validateObjects, workload, WORKLOAD_KINDS, type AnswerReview, type WorkloadKind } from './fixtures';
import { containerNamed, podTemplateOf, type Manifest, type Pod } from '../../helpers/manifest';

const deps: ReviewDeps = { inject: injectWorkload, defaults: DEFAULTS };
const NAMESPACE_OPT_IN: InjectContext = { defaults: DEFAULTS, namespaceAnnotations: { 'eureka-drainer/inject': 'enabled' } };

/** The answer, and its body read as the review it is (the tests of a Status body read it as one). */
function ask(review: unknown, route: 'namespace' | 'pod' = 'namespace', with_: ReviewDeps = deps): { answer: ReviewAnswer; body: AnswerReview } {
  const answer = answerReview(JSON.stringify(review), route, with_);
  return { answer, body: answer.body as AnswerReview };
}

function applied<T extends Manifest>(object: T, patch: unknown[]): T {
  const copy = structuredClone(object);
  const errors = applyPatch(copy, patch as Operation[]);
  expect(errors.filter((e) => e !== null)).toEqual([]);
  return copy;
}

/**
 * What in a patch the apiserver (evanphx/json-patch) would reject or apply somewhere else: an op
 * other than add, remove or replace (the webhook sends no others), a path that is not a JSON
 * Pointer with `~` escaped as `~0`/`~1`, or a path into an array (an index or `-`: arrays are
 * replaced whole, so every path names a member of an object in `original`, or the root).
 */
function pointerProblems(original: unknown, patch: unknown[]): string[] {
  return patch.flatMap((operation) => {
    const { op, path } = operation as { op: string; path: string };
    if (!['add', 'remove', 'replace'].includes(op)) return [`${path}: op ${op}`];
    if (path === '') return [];
    if (!/^(\/([^~/]|~[01])*)+$/.test(path)) return [`${path}: not an escaped JSON Pointer`];
    const tokens = path.slice(1).split('/').map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
    const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
    let node: unknown = original;
    for (const token of tokens.slice(0, -1)) {
      if (!isObject(node)) return [`${path}: goes through an array or a scalar`];
      node = node[token];
    }
    return isObject(node) ? [] : [`${path}: its parent is not an object`];
  });
}

// Every workload kind, opted in by its namespace: answered, patched, validated, idempotent.
const cases = WORKLOAD_KINDS.map((kind) => {
  const original = workload(kind);
  const review = admissionReview(original);
  const { answer, body } = ask(review);
  const patch = patchOf(body) ?? [];
  const patched = applied(original, patch);
  const again = ask(admissionReview(patched));
  return { kind, original, review, answer, body, patch, patched, again };
});

const validations = validateObjects(cases.flatMap((c) => [
  { label: `${c.kind} original`, object: c.original },
  { label: `${c.kind} patched`, object: c.patched },
]));

describe.each(cases.map((c) => [c.kind, c] as const))('%s, namespace opted in', (kind: WorkloadKind, c) => {
  test('the request is a well-formed AdmissionReview v1 and its object a valid ' + kind, () => {
    expect(requestShapeProblems(c.review)).toEqual([]);
    expect(validations.find((v) => v.label === `${kind} original`)).toMatchObject({ ok: true });
  });

  test('the answer echoes the uid, allows, and carries a JSONPatch', () => {
    expect(c.answer.status).toBe(200);
    expect(c.answer.result).toBe('injected');
    expect(responseShapeProblems(c.body, c.review.request.uid)).toEqual([]);
    expect(c.body.response).toMatchObject({ uid: c.review.request.uid, allowed: true, patchType: 'JSONPatch' });
    expect(c.body.response.warnings).toBeUndefined();
    expect(c.patch.length).toBeGreaterThan(0);
  });

  test('the patch applied by rfc6902 gives exactly what injectWorkload returns, and it is a valid ' + kind, () => {
    const expected = injectWorkload(c.original, NAMESPACE_OPT_IN);
    expect(expected.kind).toBe('injected');
    expect(c.patched).toEqual((expected as { object: unknown }).object);
    expect(validations.find((v) => v.label === `${kind} patched`)).toMatchObject({ ok: true });
  });

  test('the patch is one the apiserver applies: object members only (arrays replaced whole), keys escaped', () => {
    expect(pointerProblems(c.original, c.patch)).toEqual([]);
  });

  test('the patch leaves the original alone and adds the drainer', () => {
    expect(c.original).toEqual(workload(kind));
    expect(JSON.stringify(c.patched)).toContain('"name":"eureka-drainer"');
  });

  test('idempotent: a review of the patched object is allowed with no patch and no warning', () => {
    expect(c.again.answer.result).toBe('unchanged');
    expect(c.again.answer.reason).toMatch(/already injected/);
    expect(c.again.body.response).toEqual({ uid: expect.any(String), allowed: true });
  });
});

test('the patched objects were validated (the validator ran and can fail)', () => {
  expect(validations).toHaveLength(WORKLOAD_KINDS.length * 2);
  const broken = workload('Deployment');
  podTemplateOf(broken).spec.containers[0]!.ports![0]!.containerPort = 'eighty' as unknown as number;
  expect(validateObjects([{ label: 'broken', object: broken }])[0]).toMatchObject({ ok: false });
});

test('the shape checks of a request and an answer can fail', () => {
  const review = admissionReview(workload('Pod'));
  const wrongRequest = { ...review, request: { ...review.request, operation: 'PATCH', kind: { group: '', version: 'v1', kind: 'Deployment' } } };
  expect(requestShapeProblems(wrongRequest)).toEqual(['request.operation', 'request.object.kind differs from request.kind.kind']);
  const wrongAnswer = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'another', allowed: 'yes', patch: '!' } };
  expect(responseShapeProblems(wrongAnswer, review.request.uid)).toEqual(['response.uid is not the request uid', 'response.allowed', 'patch and patchType go together', 'response.patch is not base64']);
});

describe('opt-in and opt-out', () => {
  test('/inject-pod: the pod label eureka-drainer/inject=enabled is the opt-in', () => {
    const pod = workload('Pod', { labels: { 'eureka-drainer/inject': 'enabled' } });
    const { answer, body } = ask(admissionReview(pod), 'pod');
    expect(answer.result).toBe('injected');
    const patched = applied(pod, patchOf(body)!);
    expect(patched).toEqual((injectWorkload(pod, NAMESPACE_OPT_IN) as { object: unknown }).object);
  });

  test('/inject-pod: the annotation alone opts in too (the injector reads it)', () => {
    const pod = workload('Pod', { annotations: { 'eureka-drainer/inject': 'enabled' } });
    expect(ask(admissionReview(pod), 'pod').answer.result).toBe('injected');
  });

  test('/inject-pod without the label or the annotation: allowed, no patch, no warning', () => {
    const { answer, body } = ask(admissionReview(workload('Pod')), 'pod');
    expect(answer.result).toBe('unchanged');
    expect(answer.reason).toMatch(/not opted in/);
    expect(body.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  test('a workload on /inject-pod: its own label (what the objectSelector saw) opts in', () => {
    const deployment = workload('Deployment', { ownLabels: { 'eureka-drainer/inject': 'enabled' } });
    expect(ask(admissionReview(deployment), 'pod').answer.result).toBe('injected');
    expect(ask(admissionReview(workload('Deployment')), 'pod').answer.result).toBe('unchanged');
  });

  test.each([
    ['namespace', {}],
    ['pod', { labels: { 'eureka-drainer/inject': 'enabled' } }],
  ] as const)('the pod annotation eureka-drainer/inject=disabled opts out (route %s)', (route, extra) => {
    const pod = workload('Pod', { ...extra, annotations: { 'eureka-drainer/inject': 'disabled' } });
    const { answer, body } = ask(admissionReview(pod), route);
    expect(answer.result).toBe('unchanged');
    expect(answer.reason).toMatch(/opted out/);
    expect(body.response.patch).toBeUndefined();
  });
});

describe('the adaptive tail', () => {
  const drainerEnv = (pod: Manifest): Record<string, unknown> => {
    const drainer = containerNamed((pod as Pod).spec, 'eureka-drainer');
    return Object.fromEntries(drainer.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
  };

  test("a pod whose prometheus.io annotations point at the actuator: the patch turns it on, and the log line's changes say so", () => {
    const pod = workload('Pod', { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/actuator/prometheus', 'prometheus.io/port': '8080' } });
    const { answer, body } = ask(admissionReview(pod));
    expect(answer.result).toBe('injected');
    expect(drainerEnv(applied(pod, patchOf(body)!))).toMatchObject({
      DRAINER_INJECTED_TAIL_MODE: 'adaptive',
      DRAINER_INJECTED_TAIL_METRICS_URL: 'http://127.0.0.1:8080/actuator/prometheus',
    });
    expect(answer.facts.changes).toContainEqual(expect.stringMatching(/^adaptive tail on, found from annotation prometheus\.io\/path: \/actuator\/prometheus on the pod, port 8080: /));
  });

  test('eureka-drainer/tail: fixed on the pod: no tail settings in the patch', () => {
    const pod = workload('Pod', { annotations: { 'eureka-drainer/tail': 'fixed', 'prometheus.io/path': '/actuator/prometheus' } });
    const { answer, body } = ask(admissionReview(pod));
    expect(Object.keys(drainerEnv(applied(pod, patchOf(body)!))).filter((n) => n.includes('TAIL'))).toEqual([]);
    expect(answer.facts.changes).toContain('adaptive tail not turned on: eureka-drainer/tail: fixed on the pod');
  });
});

describe('refused: allowed, with a warning and no patch', () => {
  test('the app already has a preStop hook', () => {
    const pod = workload('Pod', { app: appContainer({ lifecycle: { preStop: { exec: { command: ['sleep', '20'] } } } }) });
    const review = admissionReview(pod);
    const { answer, body } = ask(review);
    expect(answer.result).toBe('refused');
    expect(responseShapeProblems(body, review.request.uid)).toEqual([]);
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.patchType).toBeUndefined();
    expect(body.response.warnings).toHaveLength(1);
    expect(body.response.warnings![0]).toMatch(/^eureka-drainer: not injected: app container app already has a preStop hook/);
    expect(body.response.warnings![0]!.length).toBeLessThanOrEqual(WARNING_MAX_CHARS);
  });
});

describe('operations', () => {
  test('a pod UPDATE is never mutated (its containers are fixed once created)', () => {
    const pod = workload('Pod');
    const { answer, body } = ask(admissionReview(pod, { operation: 'UPDATE', oldObject: pod }));
    expect(answer.result).toBe('unchanged');
    expect(body.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  test('a Deployment UPDATE is mutated (its template may change)', () => {
    const deployment = workload('Deployment');
    const review = admissionReview(deployment, { operation: 'UPDATE', oldObject: deployment });
    expect(requestShapeProblems(review)).toEqual([]);
    expect(ask(review).answer.result).toBe('injected');
  });

  test.each(['DELETE', 'CONNECT'] as const)('%s: allowed, nothing else', (operation) => {
    const review = admissionReview(workload('Pod'), { operation });
    const { answer, body } = ask(review);
    expect(answer.result).toBe('unchanged');
    expect(body.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  test('a subresource (pods/status and the like) is not mutated', () => {
    const review = admissionReview(workload('Pod'));
    review.request.subResource = 'status';
    expect(ask(review).answer.result).toBe('unchanged');
  });
});

describe('malformed input never throws', () => {
  const uid = 'b7e0c7a2-1111-4222-8333-444455556666';
  /** A 400's body: a meta/v1 Status. */
  const statusOf = (answer: ReviewAnswer): { message: string } => answer.body as { message: string };

  test.each([
    ['not JSON', '{"kind":"AdmissionReview",'],
    ['empty', ''],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['no request', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'],
    ['no uid', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}'],
    ['a uid that is not a string', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":42}}'],
    ['a uid with spaces', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a b"}}'],
  ])('%s: no uid to echo, so 400 with a metav1.Status', (_label, body) => {
    const answer = answerReview(body, 'namespace', deps);
    expect(answer.status).toBe(400);
    expect(answer.result).toBe('malformed');
    expect(statusOf(answer)).toMatchObject({ apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 400, reason: 'BadRequest' });
    expect(statusOf(answer).message).toMatch(/^eureka-drainer webhook: /);
  });

  test.each([
    ['apiVersion v1beta1', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: workload('Pod') } }],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'TokenReview', request: { uid, operation: 'CREATE', object: workload('Pod') } }],
    ['no operation', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, object: workload('Pod') } }],
    ['object a string', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: 'pod' } }],
    ['object null on CREATE', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: null } }],
    ['object an array', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: [] } }],
  ])('%s: allowed with a warning, counted malformed', (_label, review) => {
    const { answer, body } = ask(review);
    expect(answer.status).toBe(200);
    expect(answer.result).toBe('malformed');
    expect(responseShapeProblems(body, uid)).toEqual([]);
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings).toEqual([expect.stringMatching(/^eureka-drainer: not injected: /)]);
  });

  test('an object the injector does not know (a ConfigMap, garbage fields): allowed, unchanged', () => {
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: { kind: 'ConfigMap', spec: 7, metadata: 'x' } } };
    const { answer } = ask(review);
    expect(answer.result).toBe('unchanged');
  });

  test('a Deployment with a broken template, opted in: refused with a warning', () => {
    const broken = workload('Deployment');
    (broken.spec as { template: unknown }).template = 'nope';
    const { answer, body } = ask(admissionReview(broken));
    expect(answer.result).toBe('refused');
    expect(body.response.warnings).toHaveLength(1);
  });

  test('the injection throwing: allowed with a warning, counted error, the error kept for the log', () => {
    const boom = new Error('boom');
    const throwing: InjectFunction = () => {
      throw boom;
    };
    const review = admissionReview(workload('Pod'));
    const { answer, body } = ask(review, 'namespace', { ...deps, inject: throwing });
    expect(answer.result).toBe('error');
    expect(answer.error).toBe(boom);
    expect(responseShapeProblems(body, review.request.uid)).toEqual([]);
    expect(body.response).toEqual({ uid: review.request.uid, allowed: true, warnings: ['eureka-drainer: not injected: the injection failed'] });
  });

  test('an injection result of an unknown kind: an error, not a crash', () => {
    const odd = (() => ({ kind: 'maybe' })) as unknown as InjectFunction;
    expect(ask(admissionReview(workload('Pod')), 'namespace', { ...deps, inject: odd }).answer.result).toBe('error');
  });

  test('"injected" with an identical object (a fake: the real one never does this): no empty patch', () => {
    const same: InjectFunction = (object) => ({ kind: 'injected', object, changes: [] });
    const { answer, body } = ask(admissionReview(workload('Pod')), 'namespace', { ...deps, inject: same });
    expect(answer.result).toBe('unchanged');
    expect(body.response.patch).toBeUndefined();
  });

  test('a refusal reason with control characters and great length becomes one short printable warning', () => {
    const loud: InjectFunction = () => ({ kind: 'refused', reason: `line1\nline2\u0007${'x'.repeat(5000)}` });
    const { body } = ask(admissionReview(workload('Pod')), 'namespace', { ...deps, inject: loud });
    const [warning] = body.response.warnings!;
    expect(warning).toMatch(/^eureka-drainer: not injected: line1 line2 x+…$/);
    expect(warning!.length).toBe(WARNING_MAX_CHARS);
  });

  test('log facts are bounded strings', () => {
    const pod = workload('Pod');
    pod.metadata.generateName = 'n'.repeat(10_000);
    const { answer } = ask(admissionReview(pod));
    expect(answer.facts.name!.length).toBeLessThanOrEqual(253);
    expect(answer.facts).toMatchObject({ kind: 'Pod', namespace: 'shop', operation: 'CREATE' });
  });
});

describe('oversized reviews (only their first bytes were kept)', () => {
  test('the uid right after kind and apiVersion, as the apiserver writes it: allowed with a warning', () => {
    const text = JSON.stringify(admissionReview(workload('Pod'), { uid: '6a2f7c1e-9d3b-4e8a-b1c2-d3e4f5a6b7c8' })).slice(0, 300);
    const answer = answerOversized(text, 4 * 1024 * 1024);
    expect(answer.status).toBe(200);
    expect(answer.result).toBe('malformed');
    const body = answer.body as AnswerReview;
    expect(responseShapeProblems(body, '6a2f7c1e-9d3b-4e8a-b1c2-d3e4f5a6b7c8')).toEqual([]);
    expect(body.response.warnings).toEqual(['eureka-drainer: not injected: the review is larger than 4194304 bytes']);
  });

  test.each([
    ['no uid where the apiserver puts it', '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"kind":{"group":""},"uid":"x"'],
    ['a uid nested in the object', '{"request":{"object":{"metadata":{"uid":"x"}}}'],
    ['garbage', 'AAAA'],
  ])('%s: 400', (_label, text) => {
    expect(answerOversized(text, 1024).status).toBe(400);
  });
});
