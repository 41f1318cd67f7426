/**
 * What lives outside the cluster in the cluster tests, as it does for our users: a replicating Eureka pair on
 * the node's two addresses (pods reach them through their bridge), a Spring Cloud Gateway (the caller, on the
 * namespace's loopback, where the load is sent), and one demo-service instance running as a plain process (the
 * instance that survives when every pod of the service on the node is drained). All real Spring Boot fixtures
 * (test/e2e/spring); the stack helpers of test/e2e/stack start them.
 */
import type { EurekaInstance } from '../../../../src/eureka/codec';
import { freePort, startSpringApp, stopAll, type SpringApp } from '../../../e2e/support/spring-app';
import { pollUntil } from '../../../e2e/support/poll';
import { eurekaPairArgs, liveInstance, routingTimeoutMs, SCALED, type StackTimings } from '../../../e2e/stack/stack';
import { NODE_IP, NODE_IP2 } from './kube';

export class World {
  private constructor(
    readonly eurekaA: SpringApp,
    readonly eurekaB: SpringApp,
    readonly gateway: SpringApp,
    /** The instance outside the cluster. */
    readonly outside: SpringApp,
    readonly timings: StackTimings,
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
      const world0 = { eurekaA: a, eurekaB: b };
      await waitUp(world0, `${NODE_IP}:demo:${outside.port}`);
      const gateway = await startSpringApp({
        jar: 'gateway',
        name: 'gateway',
        args: [
          `--eureka.client.service-url.defaultZone=${urls}`,
          `--eureka.client.registry-fetch-interval-seconds=${timings.fetchSeconds}`,
          `--spring.cloud.loadbalancer.cache.ttl=${timings.lbTtlMs}ms`,
        ],
      });
      return new World(a, b, gateway, outside, timings);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  get servers(): readonly SpringApp[] {
    return [this.eurekaA, this.eurekaB];
  }

  /** DRAINER_EUREKA_URLS / the app's defaultZone: both servers, per-server URLs. */
  get eurekaUrls(): string {
    return this.servers.map((s) => `${s.url}/eureka/`).join(',');
  }

  get helloUrl(): string {
    return `${this.gateway.url}/demo/hello`;
  }

  get outsideId(): string {
    return `${NODE_IP}:demo:${this.outside.port}`;
  }

  /** The live view (`/apps/DEMO/{id}`) of every server. */
  async live(instanceId: string): Promise<(EurekaInstance | null)[]> {
    return Promise.all(this.servers.map((s) => liveInstance(s, instanceId)));
  }

  waitUp(instanceId: string, timeoutMs = 60_000): Promise<void> {
    return waitUp(this, instanceId, timeoutMs);
  }

  /** Polls the gateway until each instance has answered through it. */
  async waitRouted(instanceIds: readonly string[]): Promise<void> {
    const missing = new Set(instanceIds);
    await pollUntil(`the gateway to route to ${[...missing].join(', ')}`, async () => {
      for (let i = 0; i < 6 && missing.size > 0; i++) {
        const response = await fetch(this.helloUrl, { signal: AbortSignal.timeout(3_000) });
        if (response.ok) {
          const body = (await response.json()) as { instanceId?: string };
          if (body.instanceId) missing.delete(body.instanceId);
        } else {
          await response.body?.cancel();
        }
      }
      return missing.size === 0 ? true : undefined;
    }, routingTimeoutMs(this.timings), 200);
  }

  /** Polls until the instance is gone (404) from every server's live view. */
  waitGone(instanceId: string, timeoutMs = 30_000): Promise<true> {
    return pollUntil(`${instanceId} gone from both servers`, async () => ((await this.live(instanceId)).every((i) => i === null) ? true : undefined), timeoutMs, 200);
  }

  stop(): Promise<void> {
    return stopAll();
  }
}

async function waitUp(world: { eurekaA: SpringApp; eurekaB: SpringApp }, instanceId: string, timeoutMs = 60_000): Promise<void> {
  for (const server of [world.eurekaA, world.eurekaB]) {
    await pollUntil(`${instanceId} UP on ${server.name}`, async () => ((await liveInstance(server, instanceId))?.status === 'UP' ? true : undefined), timeoutMs, 200);
  }
}
