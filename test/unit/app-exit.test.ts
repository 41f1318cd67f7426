import { expect } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppExit, findProcesses } from '../../src/app-exit';
import { testConfig } from '../helpers/config';

describe('app exit strategies', () => {
  test('kubelet: nothing to do, the kubelet sends SIGTERM after /prestop returns', async () => {
    expect(await createAppExit(testConfig())()).toMatchObject({ strategy: 'kubelet', ok: true });
  });

  test('http: POSTs the configured URL and reports its status', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200).end('{"message":"Shutting down, bye..."}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/actuator/shutdown`;
    const result = await createAppExit(testConfig({ DRAINER_APP_EXIT: 'http', DRAINER_APP_EXIT_URL: url }))();
    server.close();
    expect(seen).toEqual(['POST /actuator/shutdown']);
    expect(result).toMatchObject({ strategy: 'http', ok: true, detail: expect.stringContaining('HTTP 200') });
  });

  test('http: an unreachable app is reported, not thrown', async () => {
    const result = await createAppExit(testConfig({ DRAINER_APP_EXIT: 'http', DRAINER_APP_EXIT_URL: 'http://127.0.0.1:1/actuator/shutdown' }))();
    expect(result).toMatchObject({ ok: false, detail: expect.stringContaining('failed') });
  });

  test('signal: SIGTERM to every process whose command line matches, never ourselves', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    const fake = (pid: number, cmdline: string): void => {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'cmdline'), cmdline.split(' ').join('\0'));
    };
    fake(101, 'java -jar /app/orders.jar');
    fake(102, 'node dist/main.js');
    fake(process.pid, 'java -jar /app/orders.jar');
    const killed: [number, string][] = [];
    const exit = createAppExit(testConfig({ DRAINER_APP_EXIT: 'signal', DRAINER_APP_EXIT_PROCESS: 'orders\\.jar' }), {
      procRoot: proc,
      kill: (pid, signal) => killed.push([pid, signal]),
    });
    expect(await exit()).toMatchObject({ ok: true, detail: 'SIGTERM sent to pid 101' });
    expect(killed).toEqual([[101, 'SIGTERM']]);
    expect(findProcesses(/nothing-matches/, proc)).toEqual([]);
  });

  test('signal: no match says to check shareProcessNamespace', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    const result = await createAppExit(testConfig({ DRAINER_APP_EXIT: 'signal', DRAINER_APP_EXIT_PROCESS: 'orders' }), { procRoot: proc })();
    expect(result).toMatchObject({ ok: false, detail: expect.stringContaining('shareProcessNamespace') });
  });

  test('file: writes the file in the shared volume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exit-'));
    const path = join(dir, 'drained');
    expect(await createAppExit(testConfig({ DRAINER_APP_EXIT: 'file', DRAINER_APP_EXIT_FILE: path }))()).toMatchObject({ ok: true });
    expect(readFileSync(path, 'utf8')).toContain('drained');
    const bad = await createAppExit(testConfig({ DRAINER_APP_EXIT: 'file', DRAINER_APP_EXIT_FILE: join(dir, 'missing', 'x') }))();
    expect(bad.ok).toBe(false);
  });
});
