/**
 * A fake Eureka server holding one instance of one app: just enough of the REST API for a drainer to locate the
 * instance, put and remove its OUT_OF_SERVICE override, read it live and find it gone. Used by the footprint
 * benchmarks (bench/footprint.js on loopback, bench/cluster-footprint.ts on the cluster's node address), so the
 * drainer's own memory is measured, not a JVM's; it answers at once, so a drain cycle takes milliseconds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeInstance {
  /** The app's name (spring.application.name; Eureka upper-cases it): the drainer's DRAINER_APP_NAME. */
  readonly app: string;
  /** The app's address as it registers it (hostName, ipAddr): the drainer's POD_IP. */
  readonly ip: string;
  /** The app's port: the drainer's DRAINER_APP_PORT / SERVER_PORT. */
  readonly port: number;
}

export class FakeEureka {
  /** Requests served, for "Eureka requests per drain cycle". */
  requests = 0;
  private present = true;
  private alive = true;
  private status = 'UP';
  private overridden = 'UNKNOWN';
  private registeredAt = Date.now();
  private renewedAt = Date.now();
  private readonly server: http.Server;

  /** `instance` may come later (setInstance): a pod's IP is known only after the pod, which needs our URL, is made. */
  constructor(private instance?: FakeInstance) {
    this.server = http.createServer((req, res) => this.answer(req, res));
  }

  /** The app registers now as this instance. */
  setInstance(instance: FakeInstance): void {
    this.instance = instance;
    this.appRegistered();
  }

  /** Listens; resolves with the port. */
  listen(host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The app stopped: it cancelled its lease and renews no more. */
  appStopped(): void {
    this.alive = false;
    this.present = false;
  }

  /** The app started again and registered anew (UP, no override, a newer registration time). */
  appRegistered(): void {
    this.present = true;
    this.alive = true;
    this.status = 'UP';
    this.overridden = 'UNKNOWN';
    this.registeredAt = Date.now();
  }

  private instanceJson({ app, ip, port }: FakeInstance): Record<string, unknown> {
    if (this.alive) this.renewedAt = Date.now();
    return {
      instanceId: `${ip}:${app.toLowerCase()}:${port}`,
      app: app.toUpperCase(),
      hostName: ip,
      ipAddr: ip,
      status: this.status,
      overriddenStatus: this.overridden,
      port: { $: port, '@enabled': 'true' },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 5, registrationTimestamp: this.registeredAt, lastRenewalTimestamp: this.renewedAt },
      lastDirtyTimestamp: this.registeredAt,
      actionType: 'MODIFIED',
    };
  }

  /** Registered: the app is up and the fake knows which instance it is (until then it answers as if none were). */
  private registered(): FakeInstance | undefined {
    return this.present ? this.instance : undefined;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    const url = new URL(req.url ?? '/', 'http://fake-eureka');
    const parts = url.pathname.split('/').filter(Boolean); // eureka apps APP ID status
    const send = (status: number, body?: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    req.resume();
    if (parts[1] !== 'apps') return send(404);
    const instance = this.registered();
    if (parts.length === 2 || parts[2] === 'delta') {
      return send(200, { applications: { apps__hashcode: 'UP_1_', application: instance ? [{ name: instance.app.toUpperCase(), instance: [this.instanceJson(instance)] }] : [] } });
    }
    if (!instance) return send(404);
    if (parts.length === 3) return send(200, { application: { name: instance.app.toUpperCase(), instance: [this.instanceJson(instance)] } });
    if (parts.length === 4 && req.method === 'GET') return send(200, { instance: this.instanceJson(instance) });
    if (parts.length === 4 && req.method === 'DELETE') {
      this.present = false;
      return send(200);
    }
    if (parts[4] === 'status' && req.method === 'PUT') {
      this.overridden = url.searchParams.get('value') ?? 'UNKNOWN';
      this.status = this.overridden;
      return send(200);
    }
    if (parts[4] === 'status' && req.method === 'DELETE') {
      this.overridden = 'UNKNOWN';
      this.status = url.searchParams.get('value') ?? 'UP';
      return send(200);
    }
    return send(200);
  }
}
