/**
 * The app a footprint benchmark drains: a port that accepts connections (all the drainer probes) and an HTTP
 * control port on which the benchmark tells it to close that port (the app stopped) or open it again (the
 * container restarted). One program, run as `node -e FAKE_APP_SOURCE`: as a child process by bench/footprint.js,
 * as the app container of the drainer pod by bench/cluster-footprint.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';

/**
 * Env: APP_HOST (default 0.0.0.0), APP_PORT (0: any free port, kept across re-opens), CONTROL_PORT (0: any).
 * Prints {"msg":"listening","appPort":…,"controlPort":…} once both listen. GET /close, /open answer {"appPort":…}.
 */
export const FAKE_APP_SOURCE = `
const http = require('node:http');
const net = require('node:net');
const host = process.env.APP_HOST || '0.0.0.0';
let appPort = Number(process.env.APP_PORT || 0);
let app;
const open = () => new Promise((resolve) => {
  if (app) return resolve();
  app = net.createServer((socket) => socket.end());
  app.listen(appPort, host, () => { appPort = app.address().port; resolve(); });
});
const close = () => new Promise((resolve) => {
  if (!app) return resolve();
  app.close(() => resolve());
  app = undefined;
});
const control = http.createServer(async (req, res) => {
  if (req.url === '/close') await close();
  else if (req.url === '/open') await open();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ appPort, open: app !== undefined }));
});
open().then(() => control.listen(Number(process.env.CONTROL_PORT || 0), host, () =>
  console.log(JSON.stringify({ msg: 'listening', appPort, controlPort: control.address().port }))));
process.on('SIGTERM', () => process.exit(0));
`;

/** Tells a running fake app to close or open its port, over its control port. */
export class FakeAppControl {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly host: string,
    readonly controlPort: number,
  ) {}

  close(): Promise<void> {
    return this.call('/close');
  }

  open(): Promise<void> {
    return this.call('/open');
  }

  destroy(): void {
    this.agent.destroy();
  }

  private call(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: this.host, port: this.controlPort, path, agent: this.agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`fake app ${path} answered ${res.statusCode}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`fake app ${path} timed out`)));
      req.on('error', reject);
    });
  }
}

export interface LocalFakeApp {
  readonly child: ChildProcess;
  readonly appPort: number;
  readonly control: FakeAppControl;
}

/** Starts the fake app as a child process on loopback; resolves once it listens. */
export function startLocalFakeApp(nodePath: string): Promise<LocalFakeApp> {
  const child = spawn(nodePath, ['-e', FAKE_APP_SOURCE], { env: { APP_HOST: '127.0.0.1', APP_PORT: '0', CONTROL_PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      const { appPort, controlPort } = JSON.parse(line) as { appPort: number; controlPort: number };
      resolve({ child, appPort, control: new FakeAppControl('127.0.0.1', controlPort) });
    });
    child.once('exit', (code) => reject(new Error(`the fake app exited with ${code} before listening`)));
  });
}
