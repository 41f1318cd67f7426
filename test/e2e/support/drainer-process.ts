import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const MAIN = resolve(__dirname, '..', '..', '..', 'dist', 'main.js');

export interface DrainerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first log line matching, waiting up to `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the built drainer (dist/main.js) on a free port and waits for its "listening" line. */
export async function startDrainer(env: Record<string, string>, timeoutMs = 15_000): Promise<DrainerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DRAINER_PORT: '0', DRAINER_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
      newline = buffer.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      running.delete(child);
      for (const wake of waiters) wake();
      done(code);
    }),
  );
  const waitForLog = (match: (line: Record<string, unknown>) => boolean, wait = 10_000): Promise<Record<string, unknown>> =>
    new Promise((done, fail) => {
      const check = (): boolean => {
        const found = logs.find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          done(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        fail(new Error(`log line not seen within ${wait}ms; stderr: ${stderr.slice(-500)}; last logs: ${JSON.stringify(logs.slice(-5))}`));
      }, wait);
      if (!check()) waiters.add(check);
    });
  const listening = await waitForLog((l) => l.msg === 'listening', timeoutMs);
  const port = Number(listening.port);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}
