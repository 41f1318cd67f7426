#!/usr/bin/env node
/**
 * Garbage-body benchmark (not a test): peak RSS of the built Eureka client
 * (dist/eureka/client.js) reading a normal 2,000-instance /apps/delta, the
 * largest delta it accepts, a 100 MiB garbage body and a gzip bomb, printed
 * as ratios to the normal read. Each read runs in a fresh Node process, so one
 * read's leftovers do not hide the next one's cost, and the loopback fake
 * Eureka runs in this process, so its buffers are not counted.
 *   npm run build && node bench/garbage-body.js [--runs 3] [--dist dist] [--node-flags "--max-old-space-size=96"]
 * `--dist` points at another build, e.g. one of an older commit, to compare. `--node-flags` are given to each
 * reading process, e.g. a V8 heap cap to try: a read that runs out of heap shows as "child exited with 134".
 */
'use strict';
const { spawn } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const zlib = require('node:zlib');

const KiB = 1024;
const MiB = 1024 * KiB;
const root = path.resolve(__dirname, '..');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
};

/** A Spring Cloud instance as /apps/delta carries it: about 1 KB of JSON. */
function instance(i) {
  const ip = `10.1.${Math.floor(i / 250) % 256}.${i % 250}`;
  const base = `http://${ip}:8080/`;
  return {
    instanceId: `demo-${i}:demo:8080`,
    hostName: ip,
    app: `APP-${i % 40}`,
    ipAddr: ip,
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: {
      renewalIntervalInSecs: 30,
      durationInSecs: 90,
      registrationTimestamp: 1700000000000,
      lastRenewalTimestamp: 1700000090000,
      evictionTimestamp: 0,
      serviceUpTimestamp: 1700000000500,
    },
    metadata: { 'management.port': '8080', zone: 'zone-a', version: '1.4.2', 'k8s.namespace': 'shop', 'k8s.pod': `demo-7d9f8c6b5-${i}` },
    homePageUrl: base,
    statusPageUrl: `${base}actuator/info`,
    healthCheckUrl: `${base}actuator/health`,
    vipAddress: 'demo',
    secureVipAddress: 'demo',
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: '1700000000600',
    lastDirtyTimestamp: '1700000000000',
    actionType: 'MODIFIED',
  };
}

/** An /apps/delta document of `count` instances over 40 apps. */
function delta(count) {
  const apps = new Map();
  for (let i = 0; i < count; i++) {
    const one = instance(i);
    if (!apps.has(one.app)) apps.set(one.app, []);
    apps.get(one.app).push(one);
  }
  return Buffer.from(
    JSON.stringify({
      applications: {
        versions__delta: '42',
        apps__hashcode: `UP_${count}_`,
        application: [...apps].map(([name, list]) => ({ name, instance: list })),
      },
    }),
  );
}

/** The biggest delta under `limit`: what the client still reads and decodes. */
function largestDeltaUnder(limit) {
  const perInstance = delta(1_000).length / 1_000;
  let count = Math.floor(limit / perInstance);
  let body = delta(count);
  while (body.length > limit) body = delta((count = Math.floor(count * 0.99)));
  return { body, count };
}

/** Gzip of `size` zero bytes, fed from one reused chunk. */
function gzipOfZeros(size) {
  return new Promise((resolve, reject) => {
    const gzip = zlib.createGzip({ level: 9 });
    const parts = [];
    gzip.on('data', (part) => parts.push(part)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
    const zeros = Buffer.alloc(MiB);
    let written = 0;
    const pump = () => {
      while (written < size) {
        written += zeros.length;
        if (!gzip.write(zeros)) return gzip.once('drain', pump);
      }
      gzip.end();
    };
    pump();
  });
}

/** Streams `total` bytes of JSON-looking garbage in 64 KiB writes, with backpressure, until done or the client hangs up. */
function streamGarbage(res, total) {
  const chunk = Buffer.alloc(64 * KiB, '{"applications":{"application":[');
  let sent = 0;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const pump = () => {
    while (sent < total && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => res.off('drain', pump));
  pump();
}

/** The child: `parallel` reads through the built client (the drainer reads each server's delta at once), reporting its peak RSS. */
async function child(url, dist, parallel) {
  const { EurekaClient } = require(path.join(dist, 'eureka', 'client.js'));
  const { systemClock } = require(path.join(dist, 'clock.js'));
  // The drainer's defaults (DRAINER_EUREKA_TIMEOUT_MS, DRAINER_EUREKA_RETRIES), with a timeout long enough for the big reads.
  const client = new EurekaClient({ timeoutMs: 30_000, retries: 2, clock: systemClock, backoffMs: 100 });
  const server = { url, label: url };
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 1);
  const started = process.hrtime.bigint();
  let outcome;
  try {
    const answers = await Promise.all(Array.from({ length: parallel }, () => client.getDelta(server)));
    outcome = `ok: ${answers.map((a) => a.instances.length).join(' + ')} instances`;
  } catch (error) {
    outcome = String(error.message).replace(/^eureka get_delta on \S+ failed: /, '');
  }
  clearInterval(sampler);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // ru_maxrss is the kernel's peak, exact where the 1 ms sampler could miss one.
  peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * KiB);
  process.stdout.write(`${JSON.stringify({ before, peak, ms, outcome })}\n`);
}

function runChild(url, dist, parallel) {
  return new Promise((resolve, reject) => {
    const nodeFlags = option('--node-flags', '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...nodeFlags, __filename, '--child', url, '--dist', dist, '--parallel', String(parallel)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`child exited with ${code}`))));
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mib = (bytes) => (bytes / MiB).toFixed(1);

async function main() {
  const runs = Number(option('--runs', '3')) || 3;
  const dist = path.resolve(option('--dist', path.join(root, 'dist')));
  const normal = delta(2_000);
  // The build's own delta limit; a build from before the limits buffered up to axios' maxContentLength, 64 MiB.
  const { DEFAULT_BODY_LIMITS } = require(path.join(dist, 'eureka', 'client.js'));
  const deltaLimit = Number(option('--largest-mib', '0')) * MiB || (DEFAULT_BODY_LIMITS ? DEFAULT_BODY_LIMITS.get_delta : 64 * MiB);
  const largest = largestDeltaUnder(deltaLimit - 1);
  const bomb = await gzipOfZeros(200 * MiB);
  const scenarios = [
    { name: `normal delta, 2,000 instances (${mib(normal.length)} MiB JSON)`, key: 'normal', send: (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(normal) },
    { name: `largest accepted delta, ${largest.count.toLocaleString('en')} instances (${mib(largest.body.length)} MiB)`, key: 'largest', send: (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(largest.body) },
    { name: 'the same from 2 servers at once', key: 'largest-x2', parallel: 2, send: (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(largest.body) },
    { name: '100 MiB garbage body, streamed', key: 'garbage', send: (res) => streamGarbage(res, 100 * MiB) },
    { name: `gzip bomb (${Math.round(bomb.length / KiB)} KiB, inflates to 200 MiB)`, key: 'bomb', send: (res) => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb) },
  ];
  let current;
  const server = http.createServer((_req, res) => current.send(res));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/eureka/`;

  const rows = [];
  for (const scenario of scenarios) {
    current = scenario;
    const samples = [];
    for (let i = 0; i < runs; i++) {
      // A process that dies (a heap cap too small: V8 aborts, exit 134) is a result, not a crash of the bench.
      samples.push(await runChild(url, dist, scenario.parallel ?? 1).catch((error) => ({ peak: NaN, before: NaN, ms: NaN, outcome: `died: ${error.message}` })));
    }
    rows.push({
      scenario: scenario.name,
      key: scenario.key,
      runs,
      peakRss: median(samples.map((s) => s.peak)),
      growth: median(samples.map((s) => s.peak - s.before)),
      ms: median(samples.map((s) => s.ms)),
      outcome: samples[samples.length - 1].outcome,
    });
    process.stderr.write(`${scenario.key}: done\n`);
  }
  server.close();

  const base = rows[0];
  const lines = [
    `client build: ${dist.startsWith(root) ? path.relative(root, dist) : dist}; Node ${process.version} ${option('--node-flags', '')}; median of ${runs} fresh processes each`,
    '',
    '| read | peak RSS MiB | ratio | growth MiB | ratio | ms | outcome |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${mib(r.peakRss)} | ${(r.peakRss / base.peakRss).toFixed(2)} | ${mib(r.growth)} | ${(r.growth / base.growth).toFixed(2)} | ${Math.round(r.ms)} | ${r.outcome.slice(0, 90)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    path.join(__dirname, 'results', `garbage-body${option('--label', '') ? `-${option('--label', '')}` : ''}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, nodeFlags: option('--node-flags', ''), dist: path.relative(root, dist), rows }, null, 2)}\n`,
  );
}

if (process.argv.includes('--child')) {
  child(process.argv[process.argv.indexOf('--child') + 1], path.resolve(option('--dist', path.join(root, 'dist'))), Number(option('--parallel', '1'))).catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
