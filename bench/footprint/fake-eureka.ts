/**
 * A fake Eureka server holding one instance of one app: just enough of the REST API for a drainer to locate the
 * instance, put and remove its OUT_OF_SERVICE override, read it live and find it gone. Used by the footprint
 * benchmarks (bench/footprint.js on loopback, bench/cluster-footprint.ts on the cluster's node address), so the
 * drainer's own memory is measured, not a JVM's; it answers at once, so a drain cycle takes milliseconds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeInstanceAddress {
  /** The app's address as it registers it (hostName, ipAddr): the drainer's POD_IP. */
  readonly ip: string;
  /** The app's port: the drainer's DRAINER_APP_PORT / SERVER_PORT. */
  readonly port: number;
}

export class FakeEureka {
  readonly appName: string;
  /** Requests served, for "Eureka requests per drain cycle". */
  requests = 0;
  private present = true;
  private alive = true;
  private status = 'UP';
  private overridden = 'UNKNOWN';
  private registeredAt = Date.now();
  private renewedAt = Date.now();
  private readonly server: http.Server;

  constructor(
    appName: string,
    private readonly address: FakeInstanceAddress,
  ) {
    this.appName = appName.toUpperCase();
    this.server = http.createServer((req, res) => this.answer(req, res));
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

  private instanceJson(): Record<string, unknown> {
    if (this.alive) this.renewedAt = Date.now();
    const { ip, port } = this.address;
    return {
      instanceId: `${ip}:${this.appName.toLowerCase()}:${port}`,
      app: this.appName,
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
    if (parts.length === 2 || parts[2] === 'delta') {
      return send(200, { applications: { apps__hashcode: 'UP_1_', application: this.present ? [{ name: this.appName, instance: [this.instanceJson()] }] : [] } });
    }
    if (parts.length === 3) return this.present ? send(200, { application: { name: this.appName, instance: [this.instanceJson()] } }) : send(404);
    if (!this.present) return send(404);
    if (parts.length === 4 && req.method === 'GET') return send(200, { instance: this.instanceJson() });
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
