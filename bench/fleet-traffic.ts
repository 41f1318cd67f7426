/**
 * The fleet benchmark's traffic (not shipped), in a worker thread of its own: every app instance's HTTP port and
 * the caller that calls them. On the bench's orchestrating event loop, which also heartbeats every instance, sends
 * the /prestop calls and reads the drainers' metrics, one call of the caller and its answer take several turns of
 * that loop (connect, accept, request, answer); at N = 200 a turn lagged up to 0.8 s and the caller's 2 s timeouts
 * fired at the instances that stay, every one "connected, no answer" (2026-12-07: 139 and 22 in two runs): failures
 * of the bench, not of a drain. Here the apps and the caller share a loop that does nothing else.
 *
 * - An app answers 200 on a real port of 127.0.0.1; closing it (what a Spring app does last on SIGTERM) refuses
 *   every later connection, which the caller counts as a failure.
 * - The caller fetches the full registry (`GET /eureka/apps`, JSON) from the first server every 1 s (the next when
 *   it fails), keeps the UP instances of the apps it calls, refreshes its load-balancer list from that copy every
 *   2 s (LB TTL), and sends `rate` requests/s round-robin, one new connection each.
 */
import { createServer, get as httpGet, type Server } from 'node:http';
import { join } from 'node:path';
import { parentPort, Worker } from 'node:worker_threads';

/** Which apps the caller calls: one by name, or every app whose name starts with a prefix. */
export type CalledApps = { readonly app: string } | { readonly prefix: string };

export interface CallerSpec {
  /** Eureka service URLs ending in `/eureka/`, in the order the caller tries them. */
  readonly servers: readonly string[];
  readonly rate: number;
  readonly calls: CalledApps;
}

export interface CallerFailure {
  readonly at: number;
  readonly id: string;
  readonly detail: string;
}

/** What the caller did so far (counters since it started). */
export interface CallerSnapshot {
  readonly sent: number;
  readonly ok: number;
  readonly fetchErrors: number;
  readonly failures: readonly CallerFailure[];
  /** The instance ids the caller's registry copy holds as UP. */
  readonly up: readonly string[];
}

type Command = { readonly op: 'app' } | { readonly op: 'close'; readonly port: number } | { readonly op: 'caller'; readonly spec: CallerSpec } | { readonly op: 'snapshot' } | { readonly op: 'stop_caller' };
type Reply = { readonly port: number } | { readonly closedAt: number } | { readonly snapshot: CallerSnapshot } | { readonly done: true } | { readonly error: string };

/** The bench's side: one worker, asked and answered by message. */
export class TrafficHost {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private next = 0;

  constructor() {
    // The worker loads this file through the bench's TypeScript hook, as bench/run.js does.
    this.worker = new Worker(`require(${JSON.stringify(join(__dirname, 'ts-hook.js'))}); require(${JSON.stringify(__filename)}).runTraffic();`, { eval: true });
    this.worker.on('message', ({ id, reply }: { id: number; reply: Reply }) => {
      const answer = this.waiting.get(id);
      this.waiting.delete(id);
      answer?.(reply);
    });
    this.worker.on('error', (error: Error) => {
      for (const answer of this.waiting.values()) answer({ error: error.message });
      this.waiting.clear();
    });
    this.worker.unref();
  }

  private async ask(command: Command): Promise<Reply> {
    const id = this.next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, command });
    });
    if ('error' in reply) throw new Error(`traffic worker, ${command.op}: ${reply.error}`);
    return reply;
  }

  /** A new app port that answers 200. */
  async startApp(): Promise<number> {
    return ((await this.ask({ op: 'app' })) as { port: number }).port;
  }

  /** Closes an app's port and every connection to it; resolves with when it was closed. */
  async closeApp(port: number): Promise<number> {
    return ((await this.ask({ op: 'close', port })) as { closedAt: number }).closedAt;
  }

  async startCaller(spec: CallerSpec): Promise<void> {
    await this.ask({ op: 'caller', spec });
  }

  async snapshot(): Promise<CallerSnapshot> {
    return ((await this.ask({ op: 'snapshot' })) as { snapshot: CallerSnapshot }).snapshot;
  }

  async stopCaller(): Promise<void> {
    await this.ask({ op: 'stop_caller' });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** In the worker: the apps and the caller, run as the bench asks. */
export function runTraffic(): void {
  const apps = new Map<number, Server>();
  let caller: Caller | undefined;
  const handle = async (command: Command): Promise<Reply> => {
    switch (command.op) {
      case 'app': {
        const server = createServer((_req, res) => res.end('ok'));
        server.keepAliveTimeout = 1;
        await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
        const port = (server.address() as { port: number }).port;
        apps.set(port, server);
        return { port };
      }
      case 'close': {
        const server = apps.get(command.port);
        apps.delete(command.port);
        if (server !== undefined) {
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeAllConnections();
          await closed;
        }
        return { closedAt: Date.now() };
      }
      case 'caller':
        caller?.stop();
        caller = new Caller(command.spec);
        await caller.start();
        return { done: true };
      case 'snapshot':
        return { snapshot: caller?.snapshot() ?? { sent: 0, ok: 0, fetchErrors: 0, failures: [], up: [] } };
      case 'stop_caller':
        caller?.stop();
        caller = undefined;
        return { done: true };
    }
  };
  parentPort!.on('message', ({ id, command }: { id: number; command: Command }) => {
    void handle(command).then(
      (reply) => parentPort!.postMessage({ id, reply }),
      (error: unknown) => parentPort!.postMessage({ id, reply: { error: error instanceof Error ? error.message : String(error) } }),
    );
  });
}

class Caller {
  private registry: { id: string; port: number }[] = [];
  private lb: { id: string; port: number }[] = [];
  private next = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private sent = 0;
  private ok = 0;
  private fetchErrors = 0;
  private readonly failures: CallerFailure[] = [];

  constructor(private readonly spec: CallerSpec) {}

  private calls(app: string): boolean {
    return 'app' in this.spec.calls ? app === this.spec.calls.app : app.startsWith(this.spec.calls.prefix);
  }

  snapshot(): CallerSnapshot {
    return { sent: this.sent, ok: this.ok, fetchErrors: this.fetchErrors, failures: [...this.failures], up: this.registry.map((r) => r.id) };
  }

  private async fetchRegistry(): Promise<void> {
    for (const url of this.spec.servers) {
      try {
        const res = await fetch(`${url}apps`, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(2_000) });
        const doc = (await res.json()) as { applications?: { application?: { name: string; instance: unknown }[] } };
        const list: { id: string; port: number }[] = [];
        for (const app of doc.applications?.application ?? []) {
          if (!this.calls(app.name)) continue;
          const instances = (Array.isArray(app.instance) ? app.instance : [app.instance]) as { instanceId: string; status: string; port: { $: number } }[];
          for (const i of instances) if (i.status === 'UP') list.push({ id: i.instanceId, port: Number(i.port.$) });
        }
        this.registry = list;
        return;
      } catch {
        this.fetchErrors++;
      }
    }
  }

  async start(): Promise<void> {
    await this.fetchRegistry();
    this.lb = this.registry;
    this.timers.push(setInterval(() => void this.fetchRegistry(), 1_000));
    this.timers.push(setInterval(() => (this.lb = this.registry), 2_000));
    const every = 1000 / this.spec.rate;
    let due = Date.now();
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        while (due <= now) {
          due += every;
          this.send();
        }
      }, 5),
    );
  }

  private send(): void {
    if (this.lb.length === 0) return;
    const target = this.lb[this.next++ % this.lb.length]!;
    this.sent++;
    let connected = false;
    const req = httpGet({ host: '127.0.0.1', port: target.port, path: '/', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? this.ok++ : this.failures.push({ at: Date.now(), id: target.id, detail: `HTTP ${res.statusCode}` })));
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    // A timeout says whether the connection was ever accepted: no connect is the server's accept queue, a connect
    // without an answer its handler.
    req.on('timeout', () => req.destroy(new Error(connected ? 'timeout (connected, no answer)' : 'timeout (never connected)')));
    req.on('error', (e: NodeJS.ErrnoException) => this.failures.push({ at: Date.now(), id: target.id, detail: e.code ?? e.message }));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}
