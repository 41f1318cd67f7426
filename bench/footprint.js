#!/usr/bin/env node
/**
 * Footprint benchmark (not a test): start-up time and memory of the built
 * drainer against a bare Node HTTP server measured in the same run, printed
 * as ratios. Used to size the container's resource requests.
 *   npm run build && node bench/footprint.js [--runs 5]
 */
'use strict';
const { spawn } = require('node:child_process');
const { writeFileSync, mkdirSync } = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const root = path.resolve(__dirname, '..');
const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => res.end('ok'));
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: s.address().port })));
process.on('SIGTERM', () => process.exit(0));`;

function start(kind) {
  const started = process.hrtime.bigint();
  const child =
    kind === 'drainer'
      ? spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
          env: {
            PATH: process.env.PATH,
            DRAINER_PORT: '0',
            DRAINER_HOST: '127.0.0.1',
            DRAINER_APP_NAME: 'demo',
            POD_IP: '127.0.0.1',
            DRAINER_APP_PORT: '1',
            DRAINER_EUREKA_URLS: 'http://127.0.0.1:1/eureka/',
            DRAINER_SIGTERM_PRESTOP_WAIT_SECONDS: '0',
            DRAINER_LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        })
      : spawn(process.execPath, ['-e', BARE], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve({ child, port: JSON.parse(line).port, startupMs: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before listening`)));
  });
}

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: keepAlive }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

function rssKiB(pid) {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function measure(kind) {
  const { child, port, startupMs } = await start(kind);
  await new Promise((r) => setTimeout(r, 300));
  const idleKiB = rssKiB(child.pid);
  const paths = kind === 'drainer' ? ['/metrics', '/drain', '/healthz', '/plan'] : ['/'];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) await get(port, paths[i % paths.length]);
  const requestMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const busyKiB = rssKiB(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { startupMs, idleKiB, busyKiB, requestMs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const results = { drainer: [], bare: [] };
  for (let i = 0; i < runs; i++) for (const kind of ['bare', 'drainer']) results[kind].push(await measure(kind));
  const summary = {};
  for (const kind of ['bare', 'drainer']) {
    summary[kind] = {
      startupMs: median(results[kind].map((r) => r.startupMs)),
      idleRssMiB: median(results[kind].map((r) => r.idleKiB)) / 1024,
      busyRssMiB: median(results[kind].map((r) => r.busyKiB)) / 1024,
      msPer2000Requests: median(results[kind].map((r) => r.requestMs)),
    };
  }
  const ratio = (k) => summary.drainer[k] / summary.bare[k];
  const row = (name, k, unit) =>
    `${name.padEnd(26)} ${summary.bare[k].toFixed(1).padStart(8)} ${summary.drainer[k].toFixed(1).padStart(9)} ${unit.padEnd(4)} ${ratio(k).toFixed(2).padStart(6)}`;
  console.log(`footprint, median of ${runs} runs (node ${process.version}, ${require('node:os').cpus().length} cores)`);
  console.log(`${''.padEnd(26)} ${'bare'.padStart(8)} ${'drainer'.padStart(9)}      ${'ratio'.padStart(6)}`);
  console.log(row('start-up to listening', 'startupMs', 'ms'));
  console.log(row('RSS idle', 'idleRssMiB', 'MiB'));
  console.log(row('RSS after 2000 requests', 'busyRssMiB', 'MiB'));
  console.log(row('2000 sequential requests', 'msPer2000Requests', 'ms'));
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', 'footprint.json'), `${JSON.stringify({ runs, node: process.version, summary, results }, null, 2)}\n`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
