import type { Clock } from '../../src/clock';
import type { EurekaServerConfig } from '../../src/config';
import { EurekaRequestError } from '../../src/errors';
import type { EurekaApi, Outcome } from '../../src/eureka/client';
import type { EurekaApplications, EurekaInstance } from '../../src/eureka/codec';

interface ServerModel {
  instances: Map<string, EurekaInstance>;
  /** Delay until the callers' (cached) view shows a change; Infinity = never. */
  cacheDelayMs: number;
  /** Cached view as of `changedAt + cacheDelayMs`. */
  cachedStatus: Map<string, { status: string; visibleAt: number; previous: string }>;
  down: boolean;
  /** Never answers; only the caller's signal ends the call. */
  hang: boolean;
  /** Per-operation latency in ms, on the injected clock. */
  latency: Partial<Record<string, number>>;
  /** Operations that never answer on this server (only the caller's signal ends them). */
  hangOps: Set<string>;
  /** Operations answered with HTTP 503 until this clock time. */
  refuseUntil: Partial<Record<string, number>>;
  /** Rewrites the cached views (the app's list and the delta) before they are returned (to serve false evidence). */
  deltaFilter?: (instances: EurekaInstance[]) => EurekaInstance[];
  /** The delta keeps serving the state before a change this much longer than the app's view (a lost invalidation); Infinity = until the test ends. */
  deltaLagMs: number;
  /** The full registry (`/apps/`) keeps serving the state before a change this much longer than the app's view; Infinity = until the test ends. */
  fullLagMs: number;
  /** Cancelled instances: the delta lists them as DELETED. */
  cancelled: Map<string, EurekaInstance>;
}

/**
 * An in-memory stand-in for several Eureka servers, for unit tests of the
 * drain logic only (the real-server suites prove the behaviour). It models
 * the override and a cached view that lags by a set delay.
 */
export class MemoryEureka implements EurekaApi {
  readonly calls: { op: string; server: string; id?: string; at: number }[] = [];
  private readonly servers = new Map<string, ServerModel>();

  constructor(private readonly clock: Clock, labels: string[]) {
    for (const label of labels) this.servers.set(label, { instances: new Map(), cacheDelayMs: 0, cachedStatus: new Map(), down: false, hang: false, latency: {}, hangOps: new Set(), refuseUntil: {}, deltaLagMs: 0, fullLagMs: 0, cancelled: new Map() });
  }

  static serverConfigs(count: number): EurekaServerConfig[] {
    return Array.from({ length: count }, (_, i) => ({ url: `http://eureka-${i}.test/eureka/`, label: `http://eureka-${i}.test/eureka/` }));
  }

  model(label: string): ServerModel {
    const model = this.servers.get(label);
    if (!model) throw new Error(`no server ${label}`);
    return model;
  }

  register(instance: Partial<EurekaInstance> & { instanceId: string }): void {
    for (const model of this.servers.values()) {
      model.instances.set(instance.instanceId, {
        app: 'DEMO',
        hostName: '10.0.0.1',
        ipAddr: '10.0.0.1',
        status: 'UP',
        overriddenStatus: 'UNKNOWN',
        port: 8080,
        registrationTimestamp: this.clock.now(),
        lastRenewalTimestamp: this.clock.now(),
        lastDirtyTimestamp: this.clock.now(),
        renewalIntervalInSecs: 30,
        actionType: 'ADDED',
        ...instance,
      });
    }
  }

  /** The app heartbeats: its lease mark advances on every server. */
  heartbeat(id: string): void {
    for (const model of this.servers.values()) {
      const current = model.instances.get(id);
      if (current) model.instances.set(id, { ...current, lastRenewalTimestamp: this.clock.now() + 90_000 });
    }
  }

  /**
   * The app's Eureka client registers again (a config refresh, or a restarted
   * process after a cancel): a new registration time, UP, and — because the
   * cancel before it dropped the override — no override.
   */
  reRegister(id: string): void {
    for (const model of this.servers.values()) {
      const current = model.instances.get(id);
      if (!current) continue;
      model.instances.set(id, { ...current, status: 'UP', overriddenStatus: 'UNKNOWN', registrationTimestamp: this.clock.now(), lastRenewalTimestamp: this.clock.now() + 90_000 });
      model.cachedStatus.set(id, { status: 'UP', previous: current.status, visibleAt: this.clock.now() + model.cacheDelayMs });
    }
  }

  /**
   * A peer registers the instance on this one server from its own copy: its
   * replicated heartbeat got 404 here (eureka-facts §5), e.g. a heartbeat the
   * app sent just before it stopped, landing after the cancel.
   */
  replicatedRegister(label: string, instance: EurekaInstance): void {
    this.model(label).instances.set(instance.instanceId, { ...instance, registrationTimestamp: this.clock.now() });
  }

  /** The app cancels its own lease, as a Spring app does at the end of its shutdown. */
  appCancelled(id: string): void {
    for (const model of this.servers.values()) {
      const gone = model.instances.get(id);
      if (gone) model.cancelled.set(id, gone);
      model.instances.delete(id);
    }
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  private async enter(op: string, server: EurekaServerConfig, id?: string, signal?: AbortSignal): Promise<ServerModel> {
    this.calls.push({ op, server: server.label, at: this.clock.now(), ...(id !== undefined ? { id } : {}) });
    const model = this.model(server.label);
    const latency = model.latency[op];
    if (latency !== undefined) await this.clock.sleep(latency, signal);
    if (model.down) throw new EurekaRequestError(op, server.label, undefined, 'connect ECONNREFUSED');
    if ((model.refuseUntil[op] ?? 0) > this.clock.now()) throw new EurekaRequestError(op, server.label, 503, 'answered HTTP 503');
    if (model.hang || model.hangOps.has(op)) {
      await new Promise((_resolve, reject) => {
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    return model;
  }

  /** The app's cached view: like the delta, it shows a change only `cacheDelayMs` after it. */
  async getApplication(server: EurekaServerConfig, app: string, signal?: AbortSignal): Promise<EurekaInstance[]> {
    const model = await this.enter('get_application', server, undefined, signal);
    const instances = this.cachedView(model).filter((i) => i.app === app);
    return model.deltaFilter ? model.deltaFilter(instances) : instances;
  }

  /** The registered instances as a cached view shows them: a change visible `cacheDelayMs` + `lagMs` after it (that view's own lag). */
  private cachedView(model: ServerModel, lagMs = 0): EurekaInstance[] {
    return [...model.instances.values()].map((i) => {
      const cached = model.cachedStatus.get(i.instanceId);
      const status = cached === undefined ? i.status : this.clock.now() >= cached.visibleAt + lagMs ? cached.status : cached.previous;
      return { ...i, status };
    });
  }

  async getDelta(server: EurekaServerConfig, signal?: AbortSignal): Promise<EurekaApplications> {
    const model = await this.enter('get_delta', server, undefined, signal);
    const instances = this.cachedView(model, model.deltaLagMs).map((i) => ({ ...i, actionType: 'MODIFIED' }));
    for (const gone of model.cancelled.values()) if (!model.instances.has(gone.instanceId)) instances.push({ ...gone, actionType: 'DELETED' });
    return { appsHashcode: undefined, instances: model.deltaFilter ? model.deltaFilter(instances) : instances };
  }

  /** The full registry, as a full-fetching caller reads it: cancelled instances are gone from it. */
  async getApplications(server: EurekaServerConfig, signal?: AbortSignal): Promise<EurekaApplications> {
    const model = await this.enter('get_applications', server, undefined, signal);
    const instances = this.cachedView(model, model.fullLagMs);
    return { appsHashcode: undefined, instances: model.deltaFilter ? model.deltaFilter(instances) : instances };
  }

  async getInstance(server: EurekaServerConfig, _app: string, id: string, signal?: AbortSignal): Promise<EurekaInstance | null> {
    const model = await this.enter('get_instance', server, id, signal);
    return model.instances.get(id) ?? null;
  }

  async setStatusOverride(server: EurekaServerConfig, _app: string, id: string, status: 'OUT_OF_SERVICE', _dirty?: number, signal?: AbortSignal): Promise<Outcome> {
    const model = await this.enter('put_status', server, id, signal);
    const current = model.instances.get(id);
    if (!current) return 'not_found';
    if (current.status !== status) {
      model.cachedStatus.set(id, { status, previous: current.status, visibleAt: this.clock.now() + model.cacheDelayMs });
    }
    model.instances.set(id, { ...current, status, overriddenStatus: status });
    return 'ok';
  }

  async removeStatusOverride(server: EurekaServerConfig, _app: string, id: string, _dirty?: number, signal?: AbortSignal): Promise<Outcome> {
    const model = await this.enter('remove_status', server, id, signal);
    const current = model.instances.get(id);
    if (!current) return 'not_found';
    model.instances.set(id, { ...current, status: 'UP', overriddenStatus: 'UNKNOWN' });
    model.cachedStatus.set(id, { status: 'UP', previous: current.status, visibleAt: this.clock.now() + model.cacheDelayMs });
    return 'ok';
  }

  async cancel(server: EurekaServerConfig, _app: string, id: string, signal?: AbortSignal): Promise<Outcome> {
    const model = await this.enter('cancel', server, id, signal);
    const gone = model.instances.get(id);
    if (gone) model.cancelled.set(id, gone);
    return model.instances.delete(id) ? 'ok' : 'not_found';
  }
}
