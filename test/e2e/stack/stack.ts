/**
 * Start/stop helpers for the real Spring Cloud stack the proof runs on:
 *
 *   Eureka server A (127.0.0.2) ⇄ Eureka server B (127.0.0.3)       a replicating pair (facts §16)
 *   demo-service × N (<podIp>:<port>), each registered to both      the service being rolled (podIp default 127.0.0.1)
 *   gateway (Spring Cloud Gateway, /demo/** → lb://demo)            the caller, with its Eureka + LB caches
 *   eureka-drainer × N (built dist/main.js), one per demo instance  env from a k8s/ manifest (manifest.ts), or drainerEnv()
 *
 * Every readiness wait polls (health, live registry, routing through the gateway); nothing sleeps a fixed time.
 * Timings are the scaled-down ones (server cache 1000 ms, fetch 1 s, LB TTL 2 s, tail 1 s) unless told otherwise;
 * `SPRING_DEFAULTS` gives the production defaults (30 s / 30 s / 35 s) for the benchmark.
 */
import { request } from 'node:http';
import { systemClock } from '../../../src/clock';
import { EurekaClient } from '../../../src/eureka/client';
import type { EurekaInstance } from '../../../src/eureka/codec';
import { startDrainer, type DrainerProcess } from '../support/drainer-process';
import { componentConfigMap, hookFrom, podFromManifest, type ManifestPod, type ManifestSource, type PortMap } from './manifest';
import { pollUntil } from '../support/poll';
import { freePort, startSpringApp, stopAll, type SpringApp } from '../support/spring-app';

export interface StackTimings {
  /** eureka.server.response-cache-update-interval-ms on both servers. */
  readonly serverCacheMs: number;
  /** eureka.client.registry-fetch-interval-seconds on the gateway. */
  readonly fetchSeconds: number;
  /** spring.cloud.loadbalancer.cache.ttl on the gateway, ms. */
  readonly lbTtlMs: number;
  /** DRAINER_TAIL_SECONDS (and the tail term of the fixed-sleep recipe). */
  readonly tailSeconds: number;
}

export const SCALED: StackTimings = { serverCacheMs: 1_000, fetchSeconds: 1, lbTtlMs: 2_000, tailSeconds: 1 };
export const SPRING_DEFAULTS: StackTimings = { serverCacheMs: 30_000, fetchSeconds: 30, lbTtlMs: 35_000, tailSeconds: 10 };

/** The seed's fixed-sleep formula: server cache + fetch + LB + tail. */
export function fixedSleepMs(t: StackTimings): number {
  return t.serverCacheMs + t.fetchSeconds * 1000 + t.lbTtlMs + t.tailSeconds * 1000;
}

/** Token the kubelet sends as an httpHeader on the preStop call (≥ 16 chars, see DRAINER_TOKEN). */
export const DRAINER_TOKEN = 'stack-test-token-0123456789';
/** terminationGracePeriodSeconds for the scaled stack: the plan needs 5 s + app shutdown 10 s + margin 2 s. */
export const SCALED_GRACE_SECONDS = 30;

export interface DemoInstance {
  readonly app: SpringApp;
  readonly port: number;
  /** `<podIp>:demo:<port>` */
  readonly instanceId: string;
  /** The "pod IP": the app listens and registers there; the drainer's hooks are called there. */
  readonly podIp: string;
  /** The "node" address the hook calls and probes come from. */
  readonly nodeIp: string;
  drainer?: DrainerProcess;
  /** The pod read from k8s/ (when the drainer was started from a manifest). */
  pod?: ManifestPod;
}

export interface StackOptions {
  /** Demo instances to start before the gateway. */
  readonly demos: number;
  /** Start a drainer next to each demo instance. Default true. */
  readonly drainers?: boolean;
  readonly timings?: StackTimings;
  /** Extra drainer environment (wins over the defaults). */
  readonly drainerEnv?: Readonly<Record<string, string>>;
  /** terminationGracePeriodSeconds the drainers are told (DRAINER_GRACE_PERIOD_SECONDS). */
  readonly gracePeriodSeconds?: number;
  /** Log progress lines to stderr (the benchmark does). */
  readonly log?: (line: string) => void;
  /**
   * Build each drainer from a shipped manifest (k8s/…): its env, hooks, probes and grace period, with only
   * addresses and scaled timings substituted (manifest.ts). One per demo instance, or one for all. Without it
   * the drainers get `drainerEnv()` (the benchmark's hand-made sidecar).
   */
  readonly manifest?: ManifestSource | readonly ManifestSource[];
  /** The demo instances' pod IP (default 127.0.0.1). */
  readonly podIp?: string;
  /** The node address hooks and probes come from (default 127.0.0.1). */
  readonly nodeIp?: string;
  /** Extra arguments for both Eureka servers (after the pair's, so they win), also on a restart. */
  readonly eurekaArgs?: readonly string[];
}

export const eurekaPairArgs = (self: string, peer: string, peerPort: number, t: StackTimings): string[] => [
  `--eureka.instance.hostname=${self}`,
  `--eureka.client.service-url.defaultZone=http://${peer}:${peerPort}/eureka/`,
  '--eureka.client.register-with-eureka=true',
  '--eureka.client.fetch-registry=true',
  `--eureka.server.response-cache-update-interval-ms=${t.serverCacheMs}`,
];

export { pollUntil };

export class Stack {
  readonly instances: DemoInstance[] = [];
  private readonly drainers = new Set<DrainerProcess>();
  private readonly log: (line: string) => void;

  private constructor(
    readonly eurekaA: SpringApp,
    readonly eurekaB: SpringApp,
    readonly gateway: SpringApp,
    readonly timings: StackTimings,
    private readonly options: StackOptions,
  ) {
    this.log = options.log ?? (() => undefined);
  }

  /** `http://127.0.0.2:<p>/eureka/,http://127.0.0.3:<p>/eureka/` */
  get serviceUrls(): string[] {
    return [this.eurekaA, this.eurekaB].map((s) => `${s.url}/eureka/`);
  }

  /** The gateway route every test calls. */
  get helloUrl(): string {
    return `${this.gateway.url}/demo/hello`;
  }

  /**
   * Starts the pair, `demos` instances (+ drainers), then the gateway, and waits until the gateway routes to
   * every instance. On any failure everything started so far is stopped before the error is rethrown.
   */
  static async start(options: StackOptions): Promise<Stack> {
    const timings = options.timings ?? SCALED;
    const log = options.log ?? (() => undefined);
    let stack: Stack | undefined;
    try {
      const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
      log('starting the Eureka pair');
      const extra = options.eurekaArgs ?? [];
      const [a, b] = await Promise.all([
        startSpringApp({ jar: 'eureka-server', host: '127.0.0.2', port: portA, name: 'eureka-A', args: [...eurekaPairArgs('127.0.0.2', '127.0.0.3', portB, timings), ...extra] }),
        startSpringApp({ jar: 'eureka-server', host: '127.0.0.3', port: portB, name: 'eureka-B', args: [...eurekaPairArgs('127.0.0.3', '127.0.0.2', portA, timings), ...extra] }),
      ]);
      const serviceUrls = [a, b].map((s) => `${s.url}/eureka/`).join(',');
      log(`starting ${options.demos} demo instance(s)`);
      const podIp = options.podIp ?? '127.0.0.1';
      const demos = await Promise.all(Array.from({ length: options.demos }, () => startDemo(serviceUrls, podIp)));
      // The gateway starts once every instance is registered, so its first full fetch already has them all
      // (with the Spring defaults a later registration would take up to 95 s to reach it).
      for (const demo of demos) await waitRegisteredOn([a, b], instanceIdOf(demo));
      log('starting the gateway');
      const gateway = await startSpringApp({
        jar: 'gateway',
        name: 'gateway',
        args: [
          `--eureka.client.service-url.defaultZone=${serviceUrls}`,
          `--eureka.client.registry-fetch-interval-seconds=${timings.fetchSeconds}`,
          `--spring.cloud.loadbalancer.cache.ttl=${timings.lbTtlMs}ms`,
        ],
      });
      stack = new Stack(a, b, gateway, timings, options);
      for (const demo of demos) stack.instances.push(stack.newInstance(demo));
      const manifests = options.manifest;
      const manifestOf = (index: number): ManifestSource | undefined => (typeof manifests === 'string' ? manifests : manifests?.[index]);
      if (options.drainers ?? true) await Promise.all(stack.instances.map((i, index) => stack!.attachDrainer(i, {}, manifestOf(index))));
      log('waiting until the gateway routes to every instance');
      await stack.waitRouted(stack.instances.map((i) => i.instanceId), routingTimeoutMs(timings));
      log('stack ready');
      return stack;
    } catch (error) {
      if (stack) await stack.stop();
      else await stopAll();
      throw error;
    }
  }

  /** The environment a drainer next to `instance` gets. */
  drainerEnv(instance: DemoInstance, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    const t = this.timings;
    return {
      DRAINER_APP_NAME: 'demo',
      POD_IP: instance.podIp,
      SERVER_PORT: String(instance.port),
      DRAINER_EUREKA_URLS: this.serviceUrls.join(','),
      EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(t.serverCacheMs),
      EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: String(t.fetchSeconds),
      SPRING_CLOUD_LOADBALANCER_CACHE_TTL: `${t.lbTtlMs}ms`,
      DRAINER_TAIL_SECONDS: String(t.tailSeconds),
      DRAINER_APP_SHUTDOWN_SECONDS: '10',
      DRAINER_GRACE_PERIOD_SECONDS: String(this.options.gracePeriodSeconds ?? defaultGraceSeconds(t)),
      DRAINER_VERIFY_POLL_MS: '100',
      DRAINER_TOKEN,
      DRAINER_LOG_LEVEL: 'info',
      ...(this.options.drainerEnv ?? {}),
      ...extra,
    };
  }

  private newInstance(app: SpringApp): DemoInstance {
    return { app, port: app.port, instanceId: instanceIdOf(app), podIp: app.host, nodeIp: this.options.nodeIp ?? '127.0.0.1' };
  }

  /**
   * The pod of `instance` as k8s/`manifest` describes it, with this stack's addresses and scaled timings
   * substituted (see manifest.ts for the list).
   */
  podOf(instance: DemoInstance, manifest: ManifestSource): ManifestPod {
    const t = this.timings;
    const graceSeconds = this.options.gracePeriodSeconds ?? defaultGraceSeconds(t);
    return podFromManifest(manifest, {
      podIp: instance.podIp,
      nodeIp: instance.nodeIp,
      podName: `demo-${instance.port}`,
      eurekaUrls: this.serviceUrls.join(','),
      appPort: instance.port,
      appName: 'demo',
      graceSeconds,
      env: {
        // Scaled timings (the fleet's Spring settings; the manifests leave them at Spring's defaults).
        EUREKA_SERVER_RESPONSECACHEUPDATEINTERVALMS: String(t.serverCacheMs),
        EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS: String(t.fetchSeconds),
        SPRING_CLOUD_LOADBALANCER_CACHE_TTL: `${t.lbTtlMs}ms`,
        DRAINER_TAIL_SECONDS: String(t.tailSeconds),
        DRAINER_APP_SHUTDOWN_SECONDS: '10',
        DRAINER_VERIFY_POLL_MS: '100',
        // Address: every drainer here shares loopback, so each takes a free port (mapped to containerPort 8787).
        DRAINER_PORT: '0',
        ...(this.options.drainerEnv ?? {}),
      },
      // What the user provides outside the manifest: the component's ConfigMap, and for the native example the
      // Secret defined in classic-sidecar.yaml (same name, same value as the hooks' header).
      configMaps: { 'eureka-drainer': componentConfigMap() },
      secrets: { 'orders-drainer': { token: MANIFEST_TOKEN }, 'eureka-drainer': { token: MANIFEST_TOKEN } },
    });
  }

  /** The manifest's container ports → the ports the processes of `instance` listen on here. */
  portsOf(instance: DemoInstance): PortMap {
    const pod = instance.pod;
    if (!pod || !instance.drainer) throw new Error(`${instance.instanceId} has no drainer from a manifest`);
    const ports: Record<number, number> = {};
    for (const p of pod.drainer.ports) ports[p.containerPort] = instance.drainer.port;
    for (const p of pod.app.ports) ports[p.containerPort] = instance.port;
    return ports;
  }

  /**
   * Starts a drainer sidecar for `instance` (replacing none: call once per instance). With `manifest`, its env
   * is the manifest's (plus `extraEnv`, reported in `pod.substituted`), and it is ready once its readinessProbe
   * answers 200 from the node address, as the kubelet's prober would see it.
   */
  async attachDrainer(instance: DemoInstance, extraEnv: Readonly<Record<string, string>> = {}, manifest?: ManifestSource): Promise<DrainerProcess> {
    if (instance.drainer) throw new Error(`${instance.instanceId} already has a drainer`);
    let env: Record<string, string>;
    if (manifest) {
      const pod = this.podOf(instance, manifest);
      const substituted = { ...pod.substituted } as Record<string, readonly [string | undefined, string]>;
      for (const [k, v] of Object.entries(extraEnv)) substituted[k] = [pod.drainer.env[k], v];
      instance.pod = { ...pod, drainer: { ...pod.drainer, env: { ...pod.drainer.env, ...extraEnv } }, substituted };
      // The manifest does not set DRAINER_HOST: the drainer listens on its default address (not the launcher's 127.0.0.1).
      env = { ...(pod.drainer.env.DRAINER_HOST === undefined ? { DRAINER_HOST: '' } : {}), ...instance.pod.drainer.env };
    } else {
      env = this.drainerEnv(instance, extraEnv);
    }
    const drainer = await startDrainer(env);
    this.drainers.add(drainer);
    void drainer.exited.then(() => this.drainers.delete(drainer));
    instance.drainer = drainer;
    if (instance.pod?.drainer.readinessProbe) await waitProbe(instance, hookFrom(instance.pod.drainer.readinessProbe, this.portsOf(instance)), 15_000);
    return drainer;
  }

  /** Forgets the drainer of `instance` (it exited: a container restart) so a replacement can be attached. */
  detachDrainer(instance: DemoInstance): void {
    delete instance.drainer;
  }

  /**
   * A new demo instance (the replacement pod of a rolling update), with a drainer unless told not to; resolves
   * once it is registered on both servers and the gateway has routed at least one request to it.
   */
  async addInstance(options: { drainer?: boolean; drainerEnv?: Readonly<Record<string, string>>; manifest?: ManifestSource } = {}): Promise<DemoInstance> {
    const app = await startDemo(this.serviceUrls.join(','), this.options.podIp ?? '127.0.0.1');
    const instance = this.newInstance(app);
    this.instances.push(instance);
    await waitRegisteredOn([this.eurekaA, this.eurekaB], instance.instanceId);
    const fallback = typeof this.options.manifest === 'string' ? this.options.manifest : undefined;
    if (options.drainer ?? true) await this.attachDrainer(instance, options.drainerEnv ?? {}, options.manifest ?? fallback);
    await this.waitRouted([instance.instanceId], routingTimeoutMs(this.timings));
    this.log(`replacement ${instance.instanceId} routed`);
    return instance;
  }

  /** Polls the gateway until every id in `instanceIds` has answered through it (`waitRoutedThrough`). */
  waitRouted(instanceIds: readonly string[], timeoutMs: number): Promise<void> {
    return waitRoutedThrough(this.helloUrl, instanceIds, timeoutMs);
  }

  /** Live view of an instance on one server (`GET /eureka/apps/DEMO/{id}`, not cached); null on 404. */
  async liveInstance(server: SpringApp, instanceId: string): Promise<EurekaInstance | null> {
    return liveInstance(server, instanceId);
  }

  /** The live view on both servers, [A, B]. */
  async liveOnBoth(instanceId: string): Promise<[EurekaInstance | null, EurekaInstance | null]> {
    const [a, b] = await Promise.all([liveInstance(this.eurekaA, instanceId), liveInstance(this.eurekaB, instanceId)]);
    return [a, b];
  }

  /**
   * The kubelet's new app container after a single-container restart (kubelet.ts R8): a new demo JVM on the
   * same pod address and port (so the same instance id), next to the same drainer. The old process must have
   * exited. Returns the instance that replaces `old` in `instances`; resolves once the JVM is healthy.
   */
  async restartApp(old: DemoInstance): Promise<DemoInstance> {
    if (!old.app.exited) throw new Error(`${old.instanceId}: the old app process is still running`);
    const app = await startDemo(this.serviceUrls.join(','), old.podIp, old.port);
    const instance: DemoInstance = { ...old, app };
    this.instances[this.instances.indexOf(old)] = instance;
    return instance;
  }

  /**
   * A Eureka server of the pair started again on the same address and port (after `stop()` or a SIGKILL), with
   * the pair's arguments plus `extraArgs` (e.g. `--eureka.server.registry-sync-retries=5` so it copies its
   * peer's registry at startup). Replaces `eurekaA` / `eurekaB`.
   */
  async restartEureka(which: 'A' | 'B', extraArgs: readonly string[] = []): Promise<SpringApp> {
    const [old, peer] = which === 'A' ? [this.eurekaA, this.eurekaB] : [this.eurekaB, this.eurekaA];
    if (!old.exited) throw new Error(`${old.name} is still running`);
    const app = await startSpringApp({
      jar: 'eureka-server',
      host: old.host,
      port: old.port,
      name: old.name,
      args: [...eurekaPairArgs(old.host, peer.host, peer.port, this.timings), ...(this.options.eurekaArgs ?? []), ...extraArgs],
    });
    Object.assign(this, which === 'A' ? { eurekaA: app } : { eurekaB: app });
    return app;
  }

  /** Kills every drainer (SIGKILL: they are test sidecars) and stops every JVM. Safe to call twice. */
  async stop(): Promise<void> {
    for (const drainer of this.drainers) drainer.kill('SIGKILL');
    await Promise.all([...this.drainers].map((d) => d.exited));
    this.drainers.clear();
    await stopAll();
  }
}

function defaultGraceSeconds(t: StackTimings): number {
  // drain (cache + fetch + LB + tail) + app shutdown (10 s) + margin (2 s), rounded up, at least the scaled 30 s.
  return Math.max(SCALED_GRACE_SECONDS, Math.ceil((fixedSleepMs(t) + 12_000) / 1000) + 5);
}

/**
 * Polls GET <gateway>/demo/hello until every id in `instanceIds` has answered at least once. The gateway
 * round-robins, so a few calls per round suffice once its caches include the instance.
 */
export async function waitRoutedThrough(helloUrl: string, instanceIds: readonly string[], timeoutMs: number): Promise<void> {
  const missing = new Set(instanceIds);
  await pollUntil(
    `the gateway to route to ${[...missing].join(', ')}`,
    async () => {
      for (let i = 0; i < 4 && missing.size > 0; i++) {
        const response = await fetch(helloUrl, { signal: AbortSignal.timeout(3_000) });
        if (response.ok) {
          const body = (await response.json()) as { instanceId?: string };
          if (body.instanceId) missing.delete(body.instanceId);
        } else {
          await response.body?.cancel();
        }
      }
      return missing.size === 0 ? true : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Worst case for a new instance to reach the gateway: server cache + fetch + LB, plus generous slack. */
export function routingTimeoutMs(t: StackTimings): number {
  return t.serverCacheMs + t.fetchSeconds * 1000 + t.lbTtlMs + 30_000;
}

/** A demo instance listening on, and registered with, the pod IP `host`. */
async function startDemo(serviceUrls: string, host: string, port?: number): Promise<SpringApp> {
  return startSpringApp({
    jar: 'demo-service',
    host,
    port: port ?? (await freePort(host)),
    args: [`--eureka.client.service-url.defaultZone=${serviceUrls}`, `--eureka.instance.ip-address=${host}`],
  });
}

/** The fixture's id: `${eureka.instance.ip-address}:demo:${server.port}` (test/e2e/spring/README.md). */
function instanceIdOf(app: SpringApp): string {
  return `${app.host}:demo:${app.port}`;
}

/** The token of the shipped manifests (the Secret's value and the hooks' header must be the same string). */
export const MANIFEST_TOKEN = 'change-me-to-a-long-random-token';

/** An httpGet probe as the kubelet's prober sends it: from the node address to the pod IP; 200–399 is success. */
export async function probeOnce(instance: DemoInstance, get: { path: string; port: number }, timeoutMs = 1_000): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      { host: instance.podIp, port: get.port, path: get.path, method: 'GET', agent: false, localAddress: instance.nodeIp, timeout: timeoutMs, headers: { 'User-Agent': 'kube-probe/1.33' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

async function waitProbe(instance: DemoInstance, get: { path: string; port: number }, timeoutMs: number): Promise<void> {
  await pollUntil(
    `${instance.instanceId}: the drainer's readinessProbe ${get.path} from ${instance.nodeIp}`,
    async () => {
      const status = await probeOnce(instance, get);
      return typeof status === 'number' && status >= 200 && status < 400 ? true : undefined;
    },
    timeoutMs,
    100,
  );
}

/** The drainer's own Eureka client (proven by the contract tests) reads the live view; no retries, a test polls. */
const eureka = new EurekaClient({ timeoutMs: 3_000, retries: 0, clock: systemClock });

export async function liveInstance(server: Pick<SpringApp, 'url' | 'name'>, instanceId: string): Promise<EurekaInstance | null> {
  const url = `${server.url}/eureka/`;
  return eureka.getInstance({ url, label: server.name }, 'DEMO', instanceId);
}

/** Polls the live view on every server until the instance is there and UP. */
export async function waitRegisteredOn(servers: readonly SpringApp[], instanceId: string, timeoutMs = 30_000): Promise<void> {
  for (const server of servers) {
    await pollUntil(`${instanceId} UP on ${server.name}`, async () => ((await liveInstance(server, instanceId))?.status === 'UP' ? true : undefined), timeoutMs);
  }
}

/**
 * The Eureka REST calls of the shell recipes (what `curl` in a preStop would send), deliberately not the
 * drainer's own client. JSON, no replication header.
 */
export async function eurekaRest(server: SpringApp, method: 'PUT' | 'DELETE', path: string): Promise<number> {
  const response = await fetch(`${server.url}/eureka/${path}`, { method, headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(3_000) });
  await response.body?.cancel();
  return response.status;
}
