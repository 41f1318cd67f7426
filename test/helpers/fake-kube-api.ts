/**
 * A loopback HTTPS stand-in for the Kubernetes API server, for src/kube/pod-deadline.ts: a throwaway CA and a
 * server certificate for 127.0.0.1 / ::1 made with the openssl CLI, a service-account directory (token, ca.crt,
 * namespace) the drainer is pointed at with DRAINER_SERVICEACCOUNT_DIR, and answers taken from the fixtures in
 * test/fixtures/k8s-api/ (written after `kubectl get pod -o json` and the API's Status objects), which a test
 * switches while the drainer polls. Every request is recorded (path, Authorization header, time).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '..', 'fixtures', 'k8s-api');
export const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** The fixture pod (its name and namespace are the fixture's: orders-7c9d5b8f6d-x2k4p in shop). */
export const FIXTURE_POD = { name: 'orders-7c9d5b8f6d-x2k4p', namespace: 'shop' } as const;

/** RFC 3339 with second precision, as the API serialises metav1.Time (fractions dropped, so truncated). */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The running fixture pod, deleted at `deletedAt` with `graceSeconds` (BeforeDelete: timestamp = now + grace). */
export function terminatingPod(deletionTimestampMs: number, graceSeconds: number, base = 'pod-running.json'): string {
  const pod = JSON.parse(fixture(base)) as { metadata: Record<string, unknown> };
  pod.metadata.deletionTimestamp = rfc3339Seconds(deletionTimestampMs);
  pod.metadata.deletionGracePeriodSeconds = graceSeconds;
  return JSON.stringify(pod);
}

export type Answer =
  | { readonly status: number; readonly body: string; readonly contentType?: string }
  | { readonly hang: true }
  /** Streams `bytes` of JSON-looking data. */
  | { readonly huge: number };

export interface SeenRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly at: number;
}

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

/** A throwaway CA and a server certificate signed by it for 127.0.0.1 and ::1. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-pki-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fake-kubernetes-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:kubernetes.default.svc\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  return {
    dir,
    caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    serverKey: readFileSync(join(dir, 'server.key'), 'utf8'),
    serverCert: readFileSync(join(dir, 'server.crt'), 'utf8'),
  };
}

export class FakeKubeApi {
  answer: Answer = { status: 200, body: fixture('pod-running.json') };
  readonly requests: SeenRequest[] = [];
  /** The service-account directory: token, ca.crt, namespace. */
  readonly serviceAccountDir: string;
  private readonly hung = new Set<import('node:http').ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly pki: Pki,
  ) {
    this.serviceAccountDir = mkdtempSync(join(tmpdir(), 'fake-serviceaccount-'));
    writeFileSync(join(this.serviceAccountDir, 'ca.crt'), pki.caCert);
    writeFileSync(join(this.serviceAccountDir, 'namespace'), FIXTURE_POD.namespace);
    this.setToken('token-one.first-projected-service-account-token');
  }

  static async start(pki: Pki = makePki(), host = '127.0.0.1'): Promise<FakeKubeApi> {
    let api: FakeKubeApi | undefined;
    const server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => api!.handle(req, res));
    await new Promise<void>((done) => server.listen(0, host, done));
    api = new FakeKubeApi(server, (server.address() as AddressInfo).port, pki);
    return api;
  }

  /** Rotates the projected token (the kubelet rewrites the file). */
  setToken(token: string): void {
    writeFileSync(join(this.serviceAccountDir, 'token'), token);
  }

  /** The drainer environment that points it here. */
  env(podName: string = FIXTURE_POD.name): Record<string, string> {
    return { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(this.port), DRAINER_SERVICEACCOUNT_DIR: this.serviceAccountDir, POD_NAME: podName };
  }

  private handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, at: Date.now() });
    const answer = this.answer;
    if ('hang' in answer) {
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return;
    }
    if ('huge' in answer) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const push = (): void => {
        while (sent < answer.huge) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', push);
        }
        res.end();
      };
      res.on('error', () => undefined);
      push();
      return;
    }
    res.writeHead(answer.status, { 'Content-Type': answer.contentType ?? 'application/json' });
    res.end(answer.body);
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
    rmSync(this.serviceAccountDir, { recursive: true, force: true });
    rmSync(this.pki.dir, { recursive: true, force: true });
  }
}
