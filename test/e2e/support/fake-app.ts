import { createServer, type Server } from 'node:net';
import { systemClock } from '../../../src/clock';
import type { EurekaServerConfig } from '../../../src/config';
import { EurekaClient } from '../../../src/eureka/client';
import { buildInstanceInfo, encodeInstanceDocument } from '../../../src/owner/instance';

/** What the fake app registers (bench/fleet.ts changes the lease). */
export interface FakeRegistration {
  readonly instanceId: string;
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number;
  readonly status: 'UP';
  readonly vipAddress: string;
  readonly leaseRenewalIntervalSecs: number;
  readonly leaseDurationSecs: number;
  readonly lastDirtyTimestamp: number;
}

/** The register POST's body, built as owner mode builds its own (src/owner/instance.ts). */
export function registrationDocument(r: FakeRegistration): string {
  const base = `http://${r.ipAddr}:${r.port}/`;
  const identity = {
    instanceId: r.instanceId,
    app: r.app,
    vipAddress: r.vipAddress,
    hostName: r.hostName,
    ipAddr: r.ipAddr,
    port: r.port,
    homePageUrl: base,
    statusPageUrl: `${base}actuator/info`,
    healthCheckUrl: `${base}actuator/health`,
    leaseRenewalSeconds: r.leaseRenewalIntervalSecs,
    leaseDurationSeconds: r.leaseDurationSecs,
    metadata: {},
  };
  return encodeInstanceDocument(buildInstanceInfo(identity, r.status, r.lastDirtyTimestamp));
}

/** Registers an instance that needs no heartbeats for a test's length (a 1 h lease) on one server; returns its id. */
export async function registerForAnHour(client: EurekaClient, server: EurekaServerConfig, app: string, port: number): Promise<string> {
  const instanceId = `127.0.0.1:${app.toLowerCase()}:${port}`;
  const document = registrationDocument({
    instanceId,
    app,
    hostName: '127.0.0.1',
    ipAddr: '127.0.0.1',
    port,
    status: 'UP',
    vipAddress: app.toLowerCase(),
    leaseRenewalIntervalSecs: 30,
    leaseDurationSecs: 3_600,
    lastDirtyTimestamp: Date.now(),
  });
  await client.registerDocument(server, app, document);
  return instanceId;
}

/**
 * A stand-in for a non-Spring app process: a listening port plus a Eureka
 * registration heartbeated exactly as the Java DiscoveryClient does (PUT with
 * status=UP, re-register on 404) against the REAL Eureka server. Used where
 * a test needs to control the app's port and heartbeats precisely.
 */
export class HeartbeatingApp {
  readonly eureka = new EurekaClient({ timeoutMs: 2_000, retries: 0, clock: systemClock });
  readonly instanceId: string;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = Date.now();
  reRegistrations = 0;

  constructor(
    readonly servers: readonly EurekaServerConfig[],
    readonly ip: string,
    readonly port: number,
    readonly app = 'DEMO',
  ) {
    this.instanceId = `${ip}:${app.toLowerCase()}:${port}`;
  }

  async listen(): Promise<void> {
    this.server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => this.server!.listen(this.port, this.ip, resolve));
  }

  async register(): Promise<void> {
    await Promise.all(this.servers.map((s) => this.eureka.registerDocument(s, this.app, registrationDocument(this.registration()))));
  }

  registration(): FakeRegistration {
    return {
      instanceId: this.instanceId,
      app: this.app,
      hostName: this.ip,
      ipAddr: this.ip,
      port: this.port,
      status: 'UP' as const,
      vipAddress: this.app.toLowerCase(),
      leaseRenewalIntervalSecs: 1,
      leaseDurationSecs: 5,
      lastDirtyTimestamp: this.dirty,
    };
  }

  /** One heartbeat to every server, re-registering on 404 like DiscoveryClient.renew(). */
  async beat(): Promise<void> {
    await Promise.all(
      this.servers.map(async (s) => {
        const outcome = await this.eureka.heartbeat(s, this.app, this.instanceId, 'UP', this.dirty).catch(() => 'error');
        if (outcome === 'not_found') {
          this.reRegistrations++;
          this.dirty = Date.now();
          await this.eureka.registerDocument(s, this.app, registrationDocument(this.registration())).catch(() => undefined);
        }
      }),
    );
  }

  startHeartbeats(intervalMs = 1_000): void {
    this.timer = setInterval(() => void this.beat(), intervalMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.timer);
  }

  async closePort(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    await new Promise((resolve) => server.close(resolve));
  }

  async stop(): Promise<void> {
    this.stopHeartbeats();
    await this.closePort();
  }
}
