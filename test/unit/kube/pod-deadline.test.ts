/**
 * src/kube/pod-deadline.ts against a loopback HTTPS stand-in for the API server (test/helpers/fake-kube-api.ts:
 * a throwaway CA made with openssl, answers from test/fixtures/k8s-api/): the request it sends, the token re-read
 * on every call, what it derives from deletionTimestamp / deletionGracePeriodSeconds, every failure turned into
 * a clear PodReadError (403 → RBAC, 401, 404, garbage, too large, a hang, a foreign CA, no token), and the watch:
 * a 60 → 5 s shrink reported once, the normal delete not reported, failures logged once and never thrown.
 */
import { join } from 'node:path';
import { systemClock } from '../../../src/clock';
import { DEFAULT_SERVICEACCOUNT_DIR, podDeadlineSettings, podDeletion, readOwnPod, watchPodDeadline, PodReadError, type PodDeadlineSettings } from '../../../src/kube/pod-deadline';
import { captureLogs } from '../../helpers/capture-logs';
import { FakeKubeApi, FIXTURE_POD, fixture, makePki, terminatingPod } from '../../helpers/fake-kube-api';

jest.setTimeout(20_000);

let api: FakeKubeApi;
beforeAll(async () => {
  api = await FakeKubeApi.start();
});
afterAll(() => api.stop());
beforeEach(() => {
  api.answer = { status: 200, body: fixture('pod-running.json') };
  api.requests.length = 0;
});

const settings = (over: Partial<PodDeadlineSettings> = {}): PodDeadlineSettings => ({
  ...podDeadlineSettings({ DRAINER_POD_DEADLINE: 'true', DRAINER_GRACE_PERIOD_SECONDS: '60', ...api.env() }).settings,
  timeoutMs: 500,
  ...over,
});

async function failure(promise: Promise<unknown>): Promise<PodReadError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PodReadError) return error;
    throw error;
  }
  throw new Error('expected a PodReadError');
}

describe('settings', () => {
  test('off by default; defaults for the rest', () => {
    const { settings: s, problems } = podDeadlineSettings({});
    expect(problems).toEqual([]);
    expect(s).toMatchObject({ enabled: false, serviceAccountDir: DEFAULT_SERVICEACCOUNT_DIR, apiPort: 443, pollMs: 1_000, timeoutMs: 2_000, configuredGraceSeconds: 30 });
  });
  test('on without the pod environment: every problem named', () => {
    const { problems } = podDeadlineSettings({ DRAINER_POD_DEADLINE: 'true', DRAINER_POD_DEADLINE_POLL_MS: 'fast' });
    expect(problems.join('\n')).toMatch(/KUBERNETES_SERVICE_HOST/);
    expect(problems.join('\n')).toMatch(/POD_NAME/);
    expect(problems.join('\n')).toMatch(/DRAINER_POD_DEADLINE_POLL_MS/);
    expect(podDeadlineSettings({ DRAINER_POD_DEADLINE: 'maybe' }).problems[0]).toMatch(/true or false/);
  });
});

describe('podDeletion (pure)', () => {
  test('a running pod has no deletion; a terminating one ends at deletionTimestamp', () => {
    expect(podDeletion(JSON.parse(fixture('pod-running.json')))).toEqual({ deleting: false });
    expect(podDeletion(JSON.parse(fixture('pod-terminating-60s.json')))).toEqual({ deleting: true, endsAt: Date.parse('2026-05-04T10:02:17Z'), graceSeconds: 60, deletionTimestamp: '2026-05-04T10:02:17Z' });
    // The second delete (--grace-period=5) moved the timestamp back by 60 − 5 s (BeforeDelete).
    const shrunk = podDeletion(JSON.parse(fixture('pod-terminating-shrunk-5s.json')));
    expect(shrunk).toMatchObject({ graceSeconds: 5, endsAt: Date.parse('2026-05-04T10:02:17Z') - 55_000 });
  });
  test('not a Pod, or a malformed deletion field, is garbage', () => {
    expect(() => podDeletion(JSON.parse(fixture('status-403-forbidden.json')))).toThrow(/not a Pod/);
    expect(() => podDeletion([])).toThrow(/not a Pod/);
    const pod = JSON.parse(fixture('pod-running.json')) as { metadata: Record<string, unknown> };
    pod.metadata.deletionTimestamp = 'tomorrow';
    expect(() => podDeletion(pod)).toThrow(/RFC 3339/);
    pod.metadata.deletionTimestamp = '2026-05-04T10:02:17Z';
    pod.metadata.deletionGracePeriodSeconds = -3;
    expect(() => podDeletion(pod)).toThrow(/whole number/);
  });
});

describe('readOwnPod over HTTPS', () => {
  test('GET /api/v1/namespaces/{ns}/pods/{name} with the bearer token, CA pinned; the token is re-read on every call', async () => {
    expect(await readOwnPod(settings())).toEqual({ deleting: false });
    api.setToken('token-two.rotated-by-the-kubelet');
    api.answer = { status: 200, body: fixture('pod-terminating-60s.json') };
    expect(await readOwnPod(settings())).toMatchObject({ deleting: true, graceSeconds: 60 });
    expect(api.requests.map((r) => r.path)).toEqual([`/api/v1/namespaces/${FIXTURE_POD.namespace}/pods/${FIXTURE_POD.name}`, `/api/v1/namespaces/${FIXTURE_POD.namespace}/pods/${FIXTURE_POD.name}`]);
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer token-one.first-projected-service-account-token', 'Bearer token-two.rotated-by-the-kubelet']);
    api.setToken('token-one.first-projected-service-account-token');
  });
  test('POD_NAMESPACE wins over the namespace file', async () => {
    await readOwnPod(settings({ namespace: 'other' }));
    expect(api.requests[0]!.path).toBe(`/api/v1/namespaces/other/pods/${FIXTURE_POD.name}`);
  });
  test('403 Forbidden Status → RBAC, with the API’s message', async () => {
    api.answer = { status: 403, body: fixture('status-403-forbidden.json') };
    const e = await failure(readOwnPod(settings()));
    expect(e.kind).toBe('forbidden');
    expect(e.message).toMatch(/^RBAC: the drainer's service account needs get on pods/);
    expect(e.message).toContain('cannot get resource "pods" in API group "" in the namespace "shop"');
  });
  test('401, 404, 500', async () => {
    api.answer = { status: 401, body: fixture('status-401-unauthorized.json') };
    expect((await failure(readOwnPod(settings()))).message).toMatch(/refused the service account token \(401\): Unauthorized/);
    api.answer = { status: 404, body: '{"kind":"Status","message":"pods \\"x\\" not found","code":404}' };
    expect((await failure(readOwnPod(settings()))).kind).toBe('not_found');
    api.answer = { status: 500, body: 'oops' };
    expect((await failure(readOwnPod(settings()))).message).toMatch(/answered 500/);
  });
  test('garbage: an HTML proxy page with 200, a JSON that is not a Pod', async () => {
    api.answer = { status: 200, body: fixture('garbage-proxy-error.html'), contentType: 'text/html' };
    expect((await failure(readOwnPod(settings()))).message).toMatch(/not JSON/);
    api.answer = { status: 200, body: '{"kind":"PodList","items":[]}' };
    expect((await failure(readOwnPod(settings()))).message).toMatch(/not a Pod/);
  });
  test('an answer over 1 MiB is cut off', async () => {
    api.answer = { huge: 3 * 1024 * 1024 };
    const e = await failure(readOwnPod(settings({ timeoutMs: 5_000 })));
    expect(e.kind).toBe('too_large');
  });
  test('a hang ends at the timeout', async () => {
    api.answer = { hang: true };
    const started = Date.now();
    const e = await failure(readOwnPod(settings({ timeoutMs: 400 })));
    expect(e.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_500);
  });
  test('a server certificate from another CA is refused (TLS), never read', async () => {
    const other = await FakeKubeApi.start(makePki());
    try {
      const e = await failure(readOwnPod(settings({ apiPort: other.port })));
      expect(e.kind).toBe('tls');
      expect(e.message).toMatch(/ca\.crt/);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });
  test('no token file (automountServiceAccountToken: false)', async () => {
    const e = await failure(readOwnPod(settings({ serviceAccountDir: join(api.serviceAccountDir, 'missing') })));
    expect(e.kind).toBe('no_token');
    expect(e.message).toMatch(/ENOENT/);
  });
  test('nothing listening', async () => {
    const e = await failure(readOwnPod(settings({ apiPort: 1 })));
    expect(e.kind).toBe('network');
  });
});

describe('watchPodDeadline', () => {
  const watch = (s: PodDeadlineSettings, active?: () => boolean) => {
    const { logger, lines } = captureLogs('info');
    const calls: { at: number; source: string }[] = [];
    const stop = new AbortController();
    const w = watchPodDeadline({ env: {}, settings: s, clock: systemClock, logger, signal: stop.signal, onGraceEnd: (at, source) => calls.push({ at, source }), ...(active ? { active, checkMs: 50 } : {}) });
    return { w, calls, lines, stop };
  };
  const waitFor = async (what: string, ok: () => boolean, ms = 5_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test('off: no request, nothing reported', async () => {
    const { w, stop } = watch({ ...settings(), enabled: false });
    w.start('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(w.enabled).toBe(false);
    expect(api.requests).toHaveLength(0);
    stop.abort();
    await w.done;
  });

  test('a shrink from 60 to 5 s mid-termination: the normal 60 s delete is not reported, the shrink is, once', async () => {
    const { w, calls, lines, stop } = watch(settings({ pollMs: 100 }));
    await waitFor('the startup read', () => api.requests.length >= 1);
    expect(calls).toEqual([]);
    const deletedAt = Date.now();
    api.answer = { status: 200, body: terminatingPod(deletedAt + 60_000, 60) };
    w.start('SIGTERM');
    await waitFor('two polls of the terminating pod', () => api.requests.length >= 3);
    expect(calls).toEqual([]); // grace 60 = DRAINER_GRACE_PERIOD_SECONDS: nothing to cut
    // kubectl delete --grace-period=5: BeforeDelete moves the timestamp to deletion start + 5 s.
    api.answer = { status: 200, body: terminatingPod(deletedAt + 5_000, 5) };
    await waitFor('the shrink reported', () => calls.length === 1);
    const seen = api.requests.length;
    await waitFor('more polls', () => api.requests.length >= seen + 3);
    expect(calls).toHaveLength(1); // the same end is not reported again
    expect(calls[0]!.at).toBe(Math.floor((deletedAt + 5_000) / 1000) * 1000);
    expect(calls[0]!.source).toMatch(/deletionGracePeriodSeconds=5, deletionTimestamp=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    // Polled about every pollMs while terminating.
    const gaps = api.requests.slice(-3).map((r, i, a) => (i === 0 ? 0 : r.at - a[i - 1]!.at)).slice(1);
    for (const gap of gaps) expect(gap).toBeLessThan(400);
    expect(lines.filter((l) => l.msg === 'the pod is being deleted').map((l) => l.deletionGracePeriodSeconds)).toEqual([60, 5]);
    stop.abort();
    await w.done;
  });

  test('a first delete already shorter (eviction DeleteOptions / --grace-period=20) is reported at once', async () => {
    api.answer = { status: 200, body: terminatingPod(Date.now() + 20_000, 20) };
    const { w, calls, stop } = watch(settings({ pollMs: 100 }));
    await waitFor('the report', () => calls.length === 1);
    expect(calls[0]!.source).toMatch(/deletionGracePeriodSeconds=20/);
    stop.abort();
    await w.done;
  });

  test('with `active`, polling starts when the drainer becomes active and stops when it is idle again', async () => {
    let active = false;
    const { w, stop } = watch(settings({ pollMs: 100 }), () => active);
    await waitFor('the startup read', () => api.requests.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(api.requests).toHaveLength(1);
    active = true;
    await waitFor('polls while active', () => api.requests.length >= 4);
    active = false;
    await new Promise((r) => setTimeout(r, 250));
    const n = api.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(api.requests.length).toBe(n);
    stop.abort();
    await w.done;
  });

  test('403 at startup and on every poll: one warning naming RBAC, never thrown, nothing reported; recovery logged', async () => {
    api.answer = { status: 403, body: fixture('status-403-forbidden.json') };
    const { w, calls, lines, stop } = watch(settings({ pollMs: 100 }));
    w.start('/prestop');
    await waitFor('several polls', () => api.requests.length >= 5);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect((warnings[0]!.err as { message: string }).message).toMatch(/^RBAC: the drainer's service account needs get on pods/);
    expect(calls).toEqual([]);
    api.answer = { status: 200, body: fixture('pod-running.json') };
    await waitFor('recovery', () => lines.some((l) => l.msg === 'reading the pod works again'));
    stop.abort();
    await w.done;
  });

  test('a hanging API does not stop the watch: each read ends at its timeout', async () => {
    api.answer = { hang: true };
    const { w, lines, stop } = watch(settings({ pollMs: 100, timeoutMs: 200 }));
    w.start('SIGTERM');
    await waitFor('three timed-out reads', () => api.requests.length >= 3, 5_000);
    expect(lines.filter((l) => l.kind === 'timeout')).toHaveLength(1);
    stop.abort();
    await w.done;
  });

  test('enabled with missing settings: a warning, no crash, off', async () => {
    const { logger, lines } = captureLogs('info');
    const w = watchPodDeadline({ env: { DRAINER_POD_DEADLINE: 'true' }, clock: systemClock, logger, signal: new AbortController().signal, onGraceEnd: () => undefined });
    expect(w.enabled).toBe(false);
    expect(String(JSON.stringify(lines[0]))).toMatch(/KUBERNETES_SERVICE_HOST/);
  });
});
