import type { Clock } from '../../src/clock';
import type { EurekaServerConfig } from '../../src/config';
import { EurekaRequestError } from '../../src/errors';
import type { Outcome } from '../../src/eureka/client';
import type { OwnerEurekaApi } from '../../src/owner/eureka';

export interface StoredInstance {
  readonly status: string;
  readonly lastDirtyTimestamp: number;
  /** The `instance` object as POSTed. */
  readonly body: Record<string, unknown>;
}

interface ServerState {
  readonly instances: Map<string, StoredInstance>;
  /** Every request fails as a refused connection. */
  down: boolean;
  /** Milliseconds on the injected clock before an answer. */
  latencyMs: number;
  /** The text of a 400 answer to every register. */
  rejectRegister: string | undefined;
}

export interface Call {
  readonly op: 'register' | 'heartbeat' | 'cancel';
  readonly server: string;
  readonly at: number;
  readonly status?: string;
  readonly lastDirtyTimestamp?: number;
}

/**
 * Several Eureka servers in memory, for owner-mode unit tests: register,
 * heartbeat and cancel, with the server's rules that matter here (a
 * heartbeat for an unknown lease, or with a newer lastDirtyTimestamp than
 * the stored one, answers 404). No replication between the servers.
 */
export class OwnerEureka implements OwnerEurekaApi {
  readonly calls: Call[] = [];
  private readonly states = new Map<string, ServerState>();
  private held: { op: Call['op']; release: () => void; promise: Promise<void> } | undefined;

  constructor(private readonly clock: Clock, count = 2) {
    for (const server of OwnerEureka.servers(count)) this.states.set(server.label, { instances: new Map(), down: false, latencyMs: 0, rejectRegister: undefined });
  }

  static servers(count = 2): EurekaServerConfig[] {
    return Array.from({ length: count }, (_, i) => ({ url: `http://eureka-${i}.test/eureka/`, label: `http://eureka-${i}.test/eureka/` }));
  }

  state(index: number): ServerState {
    const state = this.states.get(OwnerEureka.servers(index + 1)[index]!.label);
    if (!state) throw new Error(`no server ${index}`);
    return state;
  }

  instance(index: number, id: string): StoredInstance | undefined {
    return this.state(index).instances.get(id);
  }

  of(op: Call['op'], server?: number): Call[] {
    const label = server === undefined ? undefined : OwnerEureka.servers(server + 1)[server]!.label;
    return this.calls.filter((c) => c.op === op && (label === undefined || c.server === label));
  }

  /**
   * The next `op` request is held, ignoring the caller's abort, until
   * release(): a request the server has already received, whose answer
   * arrives after the caller gave up.
   */
  hold(op: Call['op']): { release: () => void } {
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { op, release, promise };
    return { release: () => release() };
  }

  async registerDocument(server: EurekaServerConfig, _app: string, document: string, signal?: AbortSignal): Promise<void> {
    const body = (JSON.parse(document) as { instance: Record<string, unknown> }).instance;
    const state = await this.enter({ op: 'register', server: server.label, at: this.clock.now(), status: String(body.status) }, signal);
    if (state.rejectRegister !== undefined) throw new EurekaRequestError('register', server.label, 400, `answered HTTP 400: ${JSON.stringify(state.rejectRegister)}`);
    state.instances.set(String(body.instanceId), { status: String(body.status), lastDirtyTimestamp: Number(body.lastDirtyTimestamp), body });
  }

  async heartbeat(server: EurekaServerConfig, _app: string, id: string, status: 'UP' | 'DOWN' | 'STARTING', lastDirtyTimestamp: number, signal?: AbortSignal): Promise<Outcome> {
    const state = await this.enter({ op: 'heartbeat', server: server.label, at: this.clock.now(), status, lastDirtyTimestamp }, signal);
    const stored = state.instances.get(id);
    // InstanceResource.renewLease: no lease, or the caller's copy is newer → 404 (re-register).
    if (!stored || lastDirtyTimestamp > stored.lastDirtyTimestamp) return 'not_found';
    return 'ok';
  }

  async cancel(server: EurekaServerConfig, _app: string, id: string, signal?: AbortSignal): Promise<Outcome> {
    const state = await this.enter({ op: 'cancel', server: server.label, at: this.clock.now() }, signal);
    return state.instances.delete(id) ? 'ok' : 'not_found';
  }

  private async enter(call: Call, signal?: AbortSignal): Promise<ServerState> {
    this.calls.push(call);
    const state = this.states.get(call.server);
    if (!state) throw new Error(`no server ${call.server}`);
    if (this.held?.op === call.op) {
      const held = this.held;
      this.held = undefined;
      await held.promise;
    } else {
      signal?.throwIfAborted();
      if (state.latencyMs > 0) await this.clock.sleep(state.latencyMs, signal);
    }
    if (state.down) throw new EurekaRequestError(call.op, call.server, undefined, 'connection refused (ECONNREFUSED)');
    return state;
  }
}
