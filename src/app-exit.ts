import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import axios from 'axios';
import type { Config } from './config';
import { describeError } from './errors';

export interface AppExitResult {
  readonly strategy: Config['appExit'];
  readonly ok: boolean;
  readonly detail: string;
}

export type AppExit = (signal?: AbortSignal) => Promise<AppExitResult>;

/**
 * How the drainer lets the app go once the drain is over. `kubelet` does
 * nothing: returning from /prestop makes the kubelet send SIGTERM.
 */
export function createAppExit(config: Config, deps: { procRoot?: string; kill?: (pid: number, signal: NodeJS.Signals) => void } = {}): AppExit {
  switch (config.appExit) {
    case 'kubelet':
      return async () => ({ strategy: 'kubelet', ok: true, detail: 'returning from /prestop; the kubelet sends SIGTERM' });
    case 'http':
      return async (signal) => {
        const url = config.appExitUrl!;
        try {
          const response = await axios.post(url, undefined, {
            validateStatus: () => true,
            timeout: 5_000,
            ...(signal ? { signal } : {}),
          });
          const ok = response.status >= 200 && response.status < 300;
          return { strategy: 'http', ok, detail: `POST ${url} answered HTTP ${response.status}` };
        } catch (error) {
          return { strategy: 'http', ok: false, detail: `POST ${url} failed: ${describeError(error)}` };
        }
      };
    case 'signal':
      return async () => {
        const pattern = new RegExp(config.appExitProcess!);
        const pids = findProcesses(pattern, deps.procRoot ?? '/proc');
        if (pids.length === 0) return { strategy: 'signal', ok: false, detail: `no process matches ${pattern} (is shareProcessNamespace: true set?)` };
        const kill = deps.kill ?? ((pid, sig) => process.kill(pid, sig));
        const failed: string[] = [];
        for (const pid of pids) {
          try {
            kill(pid, 'SIGTERM');
          } catch (error) {
            failed.push(`${pid}: ${describeError(error)}`);
          }
        }
        return failed.length === 0
          ? { strategy: 'signal', ok: true, detail: `SIGTERM sent to pid ${pids.join(', ')}` }
          : { strategy: 'signal', ok: false, detail: `SIGTERM failed for ${failed.join('; ')}` };
      };
    case 'file':
      return async () => {
        const path = config.appExitFile!;
        try {
          writeFileSync(path, `${new Date().toISOString()} drained\n`);
          return { strategy: 'file', ok: true, detail: `wrote ${path}` };
        } catch (error) {
          return { strategy: 'file', ok: false, detail: `cannot write ${path}: ${describeError(error)}` };
        }
      };
  }
}

/** Pids whose command line matches, never our own. */
export function findProcesses(pattern: RegExp, procRoot: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`${procRoot}/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline && pattern.test(cmdline)) pids.push(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
