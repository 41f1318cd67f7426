/**
 * Launcher for the real Spring Boot fixture apps (test/e2e/spring) used by the real-stack jest suites.
 *
 * Build the jars first with `test/e2e/spring/build.sh`. Node built-ins only.
 *
 * Every JVM started here is tracked: `stopAll()` stops them (call it in `afterAll`), a `process.on('exit')`
 * hook SIGKILLs any that are left, and on Linux each JVM is started through `setpriv --pdeathsig SIGKILL`
 * (when available) so it dies with the test process even if that process is killed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { EurekaServerConfig } from '../../../src/config';

/**
 * The fixture apps. `zuul-gateway` is the optional legacy stack (Boot 2.3 / Hoxton, Zuul 1 + Ribbon); it is only
 * built by `build.sh --with-zuul`.
 */
export type SpringJar = 'eureka-server' | 'demo-service' | 'gateway' | 'zuul-gateway';

const SPRING_DIR = resolve(__dirname, '..', 'spring');
const BUILD_SCRIPT = 'test/e2e/spring/build.sh';
const MAIN_JARS: readonly SpringJar[] = ['eureka-server', 'demo-service', 'gateway'];

/** JVM flags for a fast start on a small (2-core) machine. */
const FAST_JVM_FLAGS: readonly string[] = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xshare:auto',
  '-Xss512k',
  '-Xmx256m',
];

const DEFAULT_HEALTH_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;
const OUTPUT_LINES = 200;
const HEALTH_POLL_MS = 250;

/** Absolute path of a fixture jar (`test/e2e/spring/<jar>/target/<jar>.jar`). */
export function jarPath(jar: SpringJar): string {
  return join(SPRING_DIR, jar, 'target', `${jar}.jar`);
}

function javaCommand(): string {
  const home = process.env['JAVA_HOME'];
  if (home) {
    const candidate = join(home, 'bin', 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

function commandWorks(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return { ok: false, output: String(result.error.message) };
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/**
 * Throws an Error that says what to install or run when the fixtures cannot be started:
 * no `java` (JDK 17+), a too-old java, or missing jars (run build.sh; needs Maven).
 * Checks the three main jars unless `jars` names others (e.g. `['zuul-gateway']`).
 */
export function assertJavaToolchain(jars: readonly SpringJar[] = MAIN_JARS): void {
  const java = javaCommand();
  const version = commandWorks(java, ['-version']);
  if (!version.ok) {
    throw new Error(
      `Java not found (${java}: ${version.output.trim()}). The real-stack tests need a JDK 17 or newer ` +
        '(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven), then run ' +
        `${BUILD_SCRIPT}.`,
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(version.output);
  if (match) {
    let major = Number(match[1]);
    if (major === 1 && match[2] !== undefined) major = Number(match[2]);
    if (major < 17) {
      throw new Error(
        `Java ${major} found (${java}), but the Spring Boot 4 fixtures need a JDK 17 or newer ` +
          '(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless).',
      );
    }
  }
  const missing = jars.filter((jar) => !existsSync(jarPath(jar)));
  if (missing.length > 0) {
    const mvn = commandWorks('mvn', ['-v']);
    const build = missing.includes('zuul-gateway') ? `${BUILD_SCRIPT} --with-zuul` : BUILD_SCRIPT;
    const hint = mvn.ok
      ? `Run ${build} to build them.`
      : `Install Apache Maven (Debian/Ubuntu: apt-get install maven), then run ${build}.`;
    throw new Error(`Spring fixture jar(s) missing: ${missing.map(jarPath).join(', ')}. ${hint}`);
  }
}

/** Binds port 0 on `host`, closes it again and returns the port the OS picked. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolvePort(port)));
    });
  });
}

export interface SpringAppOptions {
  jar: SpringJar;
  /** Address to bind (`--server.address`). Default 127.0.0.1. */
  host?: string;
  /** `--server.port`. Default: a free port on `host`. */
  port?: number;
  /** Extra Spring arguments, e.g. `--eureka.client.service-url.defaultZone=...`. They come after the defaults, so they win. */
  args?: string[];
  /** Extra environment variables (added to this process's environment). */
  env?: Record<string, string>;
  /** How long to wait for GET /actuator/health to say UP. Default 120000 ms. */
  healthTimeoutMs?: number;
  /** Name used in messages. Default `<jar>@<host>:<port>`. */
  name?: string;
  /** Extra JVM flags, appended after the fast-start flags (so e.g. `-Xmx512m` wins). */
  jvmArgs?: string[];
}

export interface SpringApp {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn until /actuator/health first said UP. */
  readonly startupMs: number;
  /** Sends a signal to the JVM (no-op once it has exited). */
  signal(sig: NodeJS.Signals): void;
  /**
   * Resolves with the JVM's exit code once it has exited (null if a signal ended it without an exit code;
   * a JVM that ran its shutdown hooks after SIGTERM exits with 143). Rejects if it is still running after
   * `timeoutMs` (default: wait forever).
   */
  waitForExit(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM, wait up to 15 s, then SIGKILL. Resolves once the process has exited. */
  stop(): Promise<void>;
  /** The last ~200 lines of stdout+stderr, for failure messages. */
  output(): string;
  readonly exited: boolean;
}

/** Every JVM started by this module that has not exited yet. */
const running = new Set<ChildProcess>();
const started = new Set<SpringAppImpl>();

function killAllNow(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    process.on('exit', killAllNow);
    exitHookInstalled = true;
  }
}
function untrackChild(child: ChildProcess): void {
  running.delete(child);
  if (running.size === 0 && exitHookInstalled) {
    process.removeListener('exit', killAllNow);
    exitHookInstalled = false;
  }
}

let setprivPath: string | null | undefined;
/** `setpriv --pdeathsig` (util-linux) makes the kernel SIGKILL the JVM when this process dies. It execs, so the pid stays the JVM's. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform === 'linux') {
    for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
      if (existsSync(candidate) && commandWorks(candidate, ['--pdeathsig', 'SIGKILL', 'true']).ok) {
        setprivPath = candidate;
        break;
      }
    }
  }
  return setprivPath;
}

class OutputBuffer {
  private readonly lines: string[] = [];
  private partial = '';

  push(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > OUTPUT_LINES) this.lines.shift();
    }
    if (this.partial.length > 64_000) {
      this.lines.push(this.partial);
      this.partial = '';
      if (this.lines.length > OUTPUT_LINES) this.lines.shift();
    }
  }

  text(): string {
    return this.partial ? [...this.lines, this.partial].join('\n') : this.lines.join('\n');
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

class SpringAppImpl implements SpringApp {
  readonly url: string;
  readonly pid: number;
  startupMs = -1;
  private readonly buffer = new OutputBuffer();
  private exitCode: number | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private hasExited = false;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    readonly host: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.url = `http://${urlHost(host)}:${port}`;
    if (child.pid === undefined) throw new Error(`${name}: spawn returned no pid`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.buffer.push(chunk));
    child.stderr?.on('data', (chunk: string) => this.buffer.push(chunk));
    this.exitPromise = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.hasExited = true;
        untrackChild(child);
        started.delete(this);
        resolveExit();
      });
    });
  }

  get exited(): boolean {
    return this.hasExited;
  }

  /** How the process ended, for messages. */
  describeExit(): string {
    if (!this.hasExited) return 'still running';
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with code ${String(this.exitCode)}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.hasExited) return;
    try {
      this.child.kill(sig);
    } catch {
      // raced with exit
    }
  }

  async waitForExit(timeoutMs?: number): Promise<number | null> {
    if (!this.hasExited) {
      if (timeoutMs === undefined) {
        await this.exitPromise;
      } else {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolveTimeout) => {
          timer = setTimeout(() => resolveTimeout('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([this.exitPromise.then(() => 'exited' as const), timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          throw new Error(`${this.name} (pid ${this.pid}) still running after ${timeoutMs} ms\n${this.output()}`);
        }
      }
    }
    return this.exitCode;
  }

  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.signal('SIGTERM');
    try {
      await this.waitForExit(STOP_GRACE_MS);
    } catch {
      this.signal('SIGKILL');
      await this.exitPromise;
    }
  }

  output(): string {
    return this.buffer.text();
  }
}

type HealthResult = { up: true } | { up: false; detail: string };

function checkHealth(host: string, port: number): Promise<HealthResult> {
  return new Promise((resolveHealth) => {
    const request = httpGet(
      { host: urlHost(host).replace(/^\[|\]$/g, ''), port, path: '/actuator/health', agent: false, timeout: 2_000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          try {
            const parsed = JSON.parse(body) as { status?: unknown };
            if (parsed.status === 'UP') {
              resolveHealth({ up: true });
              return;
            }
          } catch {
            // not JSON yet
          }
          resolveHealth({ up: false, detail: `HTTP ${String(response.statusCode)} ${body.slice(0, 200)}` });
        });
        response.on('error', (err) => resolveHealth({ up: false, detail: err.message }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('health request timed out')));
    request.on('error', (err) => resolveHealth({ up: false, detail: err.message }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Starts `java <fast flags> -jar <jar> --server.port=<port> --server.address=<host> ...args` and resolves once
 * GET /actuator/health answers {"status":"UP"}. Rejects with the app's output if the JVM exits first or the
 * health timeout passes (the JVM is then killed).
 */
export async function startSpringApp(options: SpringAppOptions): Promise<SpringApp> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host === '0.0.0.0' ? '127.0.0.1' : host));
  const name = options.name ?? `${options.jar}@${host}:${port}`;
  const jar = jarPath(options.jar);
  if (!existsSync(jar)) {
    const build = options.jar === 'zuul-gateway' ? `${BUILD_SCRIPT} --with-zuul` : BUILD_SCRIPT;
    throw new Error(`${name}: ${jar} is missing; run ${build} (needs a JDK 17+ and Maven).`);
  }
  const javaArgs = [
    ...FAST_JVM_FLAGS,
    ...(options.jvmArgs ?? []),
    '-jar',
    jar,
    `--server.port=${port}`,
    `--server.address=${host}`,
    ...(options.args ?? []),
  ];
  const setpriv = findSetpriv();
  const [command, args] = setpriv
    ? [setpriv, ['--pdeathsig', 'SIGKILL', javaCommand(), ...javaArgs]]
    : [javaCommand(), javaArgs];

  const spawnedAt = Date.now();
  const child = spawn(command, args, {
    cwd: SPRING_DIR,
    env: { ...process.env, ...(options.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<Error>((resolveError) => child.on('error', resolveError));
  if (child.pid === undefined) {
    const err = await spawnError;
    throw new Error(`${name}: could not start ${command}: ${err.message}`);
  }
  trackChild(child);
  const app = new SpringAppImpl(name, host, port, child);
  started.add(app);

  const timeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const deadline = spawnedAt + timeoutMs;
  for (;;) {
    if (app.exited) {
      throw new Error(`${name} ${app.describeExit()} before it was healthy.\n--- output ---\n${app.output()}`);
    }
    const health = await checkHealth(host, port);
    if (health.up) {
      app.startupMs = Date.now() - spawnedAt;
      return app;
    }
    if (Date.now() >= deadline) {
      app.signal('SIGKILL');
      await app.waitForExit(5_000).catch(() => undefined);
      throw new Error(
        `${name} not healthy within ${timeoutMs} ms (last: ${health.detail}).\n--- output ---\n${app.output()}`,
      );
    }
    await sleep(HEALTH_POLL_MS);
  }
}

/** Stops every app started by this module that is still running (SIGTERM, then SIGKILL after 15 s). For afterAll. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((app) => app.stop()));
}

/** One Eureka server (the fixture jar) with this response-cache interval, and how the drainer's client addresses it. */
export async function startEurekaServer(cacheMs: number): Promise<{ eureka: SpringApp; server: EurekaServerConfig }> {
  assertJavaToolchain();
  const eureka = await startSpringApp({ jar: 'eureka-server', args: [`--eureka.server.response-cache-update-interval-ms=${cacheMs}`] });
  return { eureka, server: { url: `${eureka.url}/eureka/`, label: `${eureka.url}/eureka/` } };
}
