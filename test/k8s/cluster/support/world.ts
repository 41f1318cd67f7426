/**
 * What lives outside the cluster in the cluster tests, as it does for our users: a replicating Eureka pair on
 * the node's two addresses (pods reach them through their bridge), a Spring Cloud Gateway (the caller, on the
 * namespace's loopback, where the load is sent), and one demo-service instance running as a plain process (the
 * instance that survives when every pod of the service on the node is drained). All real Spring Boot fixtures
 * (test/e2e/spring); the stack helpers of test/e2e/stack start them.
 *
 * One world serves every file of a run: global-setup.ts starts it (4 JVMs, about 40 s on 2 cores) and writes
 * where it listens; each file attaches to it (`useCluster`). A file that needs other timings starts its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { EurekaInstance } from '../../../../src/eureka/codec';
import { freePort, startSpringApp, stopAll } from '../../../e2e/support/spring-app';
import { pollUntil } from '../../../e2e/support/poll';
import { eurekaPairArgs, liveInstance, routingTimeoutMs, SCALED, waitRoutedThrough, type StackTimings } from '../../../e2e/stack/stack';
import { NODE_IP, NODE_IP2 } from './kube';

/** A process of the world: where it listens and its PID (to freeze it, as a test of a hung server does). */
export interface WorldProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
}

export interface WorldInfo {
  readonly eurekaA: WorldProcess;
  readonly eurekaB: WorldProcess;
  readonly gateway: WorldProcess;
  /** The instance outside the cluster, `<node ip>:demo:<port>`. */
  readonly outsideId: string;
  readonly timings: StackTimings;
}

/** Where global-setup.ts writes the shared world's addresses. */
export function worldFile(): string {
  return `${process.env['EUREKA_DRAINER_CLUSTER_DIR'] ?? '/tmp/eureka-drainer-cluster'}/world.json`;
}

const processOf = (app: { name: string; url: string; pid: number }): WorldProcess => ({ name: app.name, url: app.url, pid: app.pid });

export class World {
  private constructor(
    readonly info: WorldInfo,
    /** True when this process started the JVMs (and so stops them). */
    private readonly owner: boolean,
  ) {}

  static async start(timings: StackTimings = SCALED): Promise<World> {
    try {
      const [portA, portB] = [await freePort(NODE_IP), await freePort(NODE_IP2)];
      const [a, b] = await Promise.all([
        startSpringApp({ jar: 'eureka-server', host: NODE_IP, port: portA, name: 'eureka-A', args: eurekaPairArgs(NODE_IP, NODE_IP2, portB, timings) }),
        startSpringApp({ jar: 'eureka-server', host: NODE_IP2, port: portB, name: 'eureka-B', args: eurekaPairArgs(NODE_IP2, NODE_IP, portA, timings) }),
      ]);
      const urls = [a, b].map((s) => `${s.url}/eureka/`).join(',');
      const outside = await startSpringApp({
        jar: 'demo-service',
        host: NODE_IP,
        name: 'demo-outside',
        args: [`--eureka.client.service-url.defaultZone=${urls}`, `--eureka.instance.ip-address=${NODE_IP}`],
      });
      const outsideId = `${NODE_IP}:demo:${outside.port}`;
      await waitUp([a, b], outsideId);
      const gateway = await startSpringApp({
        jar: 'gateway',
        name: 'gateway',
        args: [
          `--eureka.client.service-url.defaultZone=${urls}`,
          `--eureka.client.registry-fetch-interval-seconds=${timings.fetchSeconds}`,
          `--spring.cloud.loadbalancer.cache.ttl=${timings.lbTtlMs}ms`,
        ],
      });
      return new World({ eurekaA: processOf(a), eurekaB: processOf(b), gateway: processOf(gateway), outsideId, timings }, true);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /** The world global-setup.ts started for this run. */
  static attach(): World {
    return new World(JSON.parse(readFileSync(worldFile(), 'utf8')) as WorldInfo, false);
  }

  /** For global-setup.ts: where this world listens, for the files to attach to. */
  publish(): void {
    writeFileSync(worldFile(), JSON.stringify(this.info));
  }

  get eurekaA(): WorldProcess {
    return this.info.eurekaA;
  }

  get eurekaB(): WorldProcess {
    return this.info.eurekaB;
  }

  get servers(): readonly WorldProcess[] {
    return [this.info.eurekaA, this.info.eurekaB];
  }

  get timings(): StackTimings {
    return this.info.timings;
  }

  /** DRAINER_EUREKA_URLS / the app's defaultZone: both servers, per-server URLs. */
  get eurekaUrls(): string {
    return this.servers.map((s) => `${s.url}/eureka/`).join(',');
  }

  get helloUrl(): string {
    return `${this.info.gateway.url}/demo/hello`;
  }

  get outsideId(): string {
    return this.info.outsideId;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) both Eureka servers: a server that accepts connections and never answers. */
  signalServers(signal: 'SIGSTOP' | 'SIGCONT'): void {
    for (const s of this.servers) process.kill(s.pid, signal);
  }

  /** The live view (`/apps/DEMO/{id}`) of every server. */
  async live(instanceId: string): Promise<(EurekaInstance | null)[]> {
    return Promise.all(this.servers.map((s) => liveInstance(s, instanceId)));
  }

  waitUp(instanceId: string, timeoutMs = 60_000): Promise<void> {
    return waitUp(this.servers, instanceId, timeoutMs);
  }

  /** Polls the gateway until each instance has answered through it. */
  waitRouted(instanceIds: readonly string[]): Promise<void> {
    return waitRoutedThrough(this.helloUrl, instanceIds, routingTimeoutMs(this.timings));
  }

  /** Polls until the instance is gone (404) from every server's live view. */
  waitGone(instanceId: string, timeoutMs = 30_000): Promise<true> {
    return pollUntil(`${instanceId} gone from both servers`, async () => ((await this.live(instanceId)).every((i) => i === null) ? true : undefined), timeoutMs, 200);
  }

  /** Stops the JVMs this process started (an attached world leaves them to global-teardown.ts). */
  async stop(): Promise<void> {
    if (this.owner) await stopAll();
  }
}

async function waitUp(servers: readonly Pick<WorldProcess, 'url' | 'name'>[], instanceId: string, timeoutMs = 60_000): Promise<void> {
  for (const server of servers) {
    await pollUntil(`${instanceId} UP on ${server.name}`, async () => ((await liveInstance(server, instanceId))?.status === 'UP' ? true : undefined), timeoutMs, 200);
  }
}
