#!/usr/bin/env node
/**
 * Footprint benchmark (not a test): the built drainer against a bare node:http server started the same way
 * (same node binary, same flags), in the same run, printed as ratios. Used to size the container's resources.
 *
 *   npm run build && node bench/footprint.js [--runs 3] [--idle-seconds 60] [--drains 100] [--scrapes 10000]
 *        [--main dist/main.js] [--node-flags "--max-old-space-size=32 --max-semi-space-size=1"] [--label NAME]
 *        [--compile-cache DIR]   (the drainer runs with NODE_COMPILE_CACHE=DIR, as the image does)
 *        [--heap-snapshots DIR [--snapshot-at 10,100,300]]   (leak hunting: the drainer runs with
 *        --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR; after each listed drain it is sent SIGUSR2, which
 *        collects garbage and writes DIR/Heap-*.heapsnapshot; compare them with bench/heap-diff.js)
 *        [--sample-every N]   (every N drains: RSS (and by mapping: brk heap, other anonymous, files), V8 heap used/total, open fds)
 *
 * Per run and process:
 * - ready: spawn → the first 200 answer (/healthz; the bare server's /), polled every 2 ms after its "listening" line.
 * - RSS idle: VmRSS 2 s after ready.
 * - RSS after N sequential /metrics scrapes on one keep-alive connection (the bare server: N GETs of /).
 * - RSS after M full drains against a loopback fake Eureka in this process and the fake app in a child process
 *   (bench/footprint/: the same ones bench/cluster-footprint.ts uses) (drainer only): /prestop, then the app
 *   "stops" (port closed, lease cancelled), the drainer cleans up, the app "restarts" (port open, registered
 *   again) and the drainer returns to idle, as after a container restart. growth = after drains − after scrapes.
 * - idle CPU: utime+stime from /proc/<pid>/stat over --idle-seconds, first run only (both processes idle at once).
 * Medians over the runs; everything per run in bench/results/footprint[-label].json.
 */
'use strict';
const { spawn } = require('node:child_process');
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');
require('./ts-hook');
const { FakeEureka } = require('./footprint/fake-eureka.ts');
const { startLocalFakeApp } = require('./footprint/fake-app.ts');
const { HttpTarget } = require('./footprint/http-target.ts');
const { drainOnce, FASTEST_DRAIN_ENV } = require('./footprint/drain-cycle.ts');

const arg = (flag, fallback) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('--runs', 3));
const idleSeconds = Number(arg('--idle-seconds', 60));
const drains = Number(arg('--drains', 100));
const scrapes = Number(arg('--scrapes', 10_000));
const label = arg('--label', '');
const nodeFlags = arg('--node-flags', '').split(' ').filter(Boolean);
const root = path.resolve(__dirname, '..');
const main = path.resolve(arg('--main', path.join(root, 'dist', 'main.js')));
const compileCache = arg('--compile-cache', '');
const snapshotDir = arg('--heap-snapshots', '');
const sampleEvery = Number(arg('--sample-every', 0));
const snapshotAt = new Set(arg('--snapshot-at', '10,100,300').split(',').map(Number));
const TOKEN = 'footprint-token-0123456789';
const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => res.end('ok'));
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: s.address().port })));
process.on('SIGTERM', () => process.exit(0));`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- the fake app (a child process) and a loopback fake Eureka holding its one instance ----------
let app; // startLocalFakeApp()
let eureka; // FakeEureka

// ---------- processes ----------
function start(kind, eurekaPort) {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  const child =
    kind === 'drainer'
      ? spawn(process.execPath, [...nodeFlags, ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : []), main], {
          env: {
            PATH: process.env.PATH,
            DRAINER_PORT: '0',
            DRAINER_HOST: '127.0.0.1',
            DRAINER_APP_NAME: 'demo',
            POD_IP: '127.0.0.1',
            SERVER_PORT: String(app.appPort),
            DRAINER_EUREKA_URLS: `http://127.0.0.1:${eurekaPort}/eureka/`,
            // The smallest plan the configuration accepts, so 100 drains take seconds.
            ...FASTEST_DRAIN_ENV,
            DRAINER_TOKEN: TOKEN,
            DRAINER_LOG_LEVEL: 'info',
            // The image's on-disk compile cache, when the bench is given one (--compile-cache DIR).
            ...(compileCache ? { NODE_COMPILE_CACHE: compileCache } : {}),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        })
      : spawn(process.execPath, [...nodeFlags, '-e', BARE], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = async (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      child.stdout.off('data', onData);
      child.stdout.resume();
      const listeningMs = elapsed();
      const port = JSON.parse(line).port;
      const target = new HttpTarget('127.0.0.1', port, { 'X-Drainer-Token': TOKEN });
      const probe = kind === 'drainer' ? '/healthz' : '/';
      for (;;) {
        const { status } = await target.get(probe, { fresh: true }).catch(() => ({ status: 0 }));
        if (status === 200) break;
        if (elapsed() > 30_000) return reject(new Error(`${kind} not answering ${probe}`));
        await sleep(2);
      }
      resolve({ child, target, listeningMs, readyMs: elapsed() });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before ready`)));
  });
}

/** SIGUSR2 → a heap snapshot (V8 collects garbage first); resolves with its path once it is written. */
async function heapSnapshot(child, target) {
  const { readdirSync, statSync } = require('node:fs');
  const list = () => new Set(readdirSync(snapshotDir).filter((f) => f.endsWith('.heapsnapshot')));
  const before = list();
  child.kill('SIGUSR2');
  let file;
  while (!(file = [...list()].find((f) => !before.has(f)))) await sleep(20);
  // The snapshot is written on the main thread: once /healthz answers again it is complete.
  await target.get('/healthz', { fresh: true });
  let size = -1;
  while (statSync(path.join(snapshotDir, file)).size !== size) {
    size = statSync(path.join(snapshotDir, file)).size;
    await sleep(100);
  }
  return path.join(snapshotDir, file);
}

function rssMiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
/** RSS by kind of mapping: the brk heap (glibc's main arena), other anonymous memory (V8's pages, thread arenas, …), files. */
function rssByMapping(pid) {
  const out = { brkMiB: 0, anonMiB: 0, fileMiB: 0 };
  let kind = 'anonMiB';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) kind = head[1] === '[heap]' ? 'brkMiB' : head[1] === '' || head[1].startsWith('[') ? 'anonMiB' : 'fileMiB';
    else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) / 1024;
  }
  return out;
}
async function sample(pid, target, drain) {
  const { body } = await target.get('/metrics');
  const m = (name) => Number((new RegExp(`^${name} (\\S+)`, 'm').exec(body) ?? [])[1]) / 2 ** 20;
  const s = { drain, rssMiB: rssMiB(pid), ...rssByMapping(pid), heapUsedMiB: m('nodejs_heap_size_used_bytes'), heapTotalMiB: m('nodejs_heap_size_total_bytes'), openFds: m('process_open_fds') * 2 ** 20 };
  console.log(`drain ${drain}: RSS ${s.rssMiB.toFixed(1)} MiB ([heap] ${s.brkMiB.toFixed(1)}, other anonymous ${s.anonMiB.toFixed(1)}, files ${s.fileMiB.toFixed(1)}), heap used ${s.heapUsedMiB.toFixed(2)} / total ${s.heapTotalMiB.toFixed(2)} MiB, fds ${s.openFds}`);
  return s;
}
async function heapUsedMiB(target) {
  const { body } = await target.get('/metrics');
  const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(body);
  return m ? Number(m[1]) / 2 ** 20 : NaN;
}

async function measure(kind, eurekaPort) {
  const { child, target, listeningMs, readyMs } = await start(kind, eurekaPort);
  await sleep(2_000);
  const r = { listeningMs, readyMs, idleMiB: rssMiB(child.pid) };
  const p = kind === 'drainer' ? '/metrics' : '/';
  const c1 = cpuSeconds(child.pid);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < scrapes; i++) await target.get(p);
  r.scrapeMs = Number(process.hrtime.bigint() - t1) / 1e6;
  r.scrapeCpuMsEach = ((cpuSeconds(child.pid) - c1) * 1000) / scrapes;
  r.afterScrapesMiB = rssMiB(child.pid);
  if (kind === 'drainer') {
    r.heapAfterScrapesMiB = await heapUsedMiB(target);
    const outcomes = {};
    const requests0 = eureka.requests;
    const t2 = Date.now();
    const c2 = cpuSeconds(child.pid);
    for (let i = 0; i < drains; i++) {
      const o = await drainOnce(target, eureka, app.control);
      outcomes[o] = (outcomes[o] || 0) + 1;
      if (i === 9) r.after10DrainsMiB = rssMiB(child.pid);
      if (sampleEvery && (i + 1) % sampleEvery === 0) (r.samples ??= []).push(await sample(child.pid, target, i + 1));
      if (snapshotDir && snapshotAt.has(i + 1)) {
        const file = await heapSnapshot(child, target);
        const heap = await heapUsedMiB(target);
        (r.snapshots ??= []).push({ drain: i + 1, file, rssMiB: rssMiB(child.pid), heapUsedAfterGcMiB: heap });
        console.log(`drain ${i + 1}: ${file}, RSS ${rssMiB(child.pid).toFixed(1)} MiB, heap used just after the snapshot's GC ${heap.toFixed(2)} MiB`);
      }
    }
    r.drainSeconds = (Date.now() - t2) / 1000;
    r.drainCpuMsEach = ((cpuSeconds(child.pid) - c2) * 1000) / drains;
    r.outcomes = outcomes;
    r.eurekaRequestsPerDrain = (eureka.requests - requests0) / drains;
    r.afterDrainsMiB = rssMiB(child.pid);
    r.heapAfterDrainsMiB = await heapUsedMiB(target);
    r.drainGrowthMiB = r.afterDrainsMiB - r.afterScrapesMiB;
    r.drainGrowthAfter10MiB = r.afterDrainsMiB - r.after10DrainsMiB;
  }
  r.maxRssMiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  child.kill('SIGTERM');
  await new Promise((res) => child.once('exit', res));
  target.destroy();
  return r;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  app = await startLocalFakeApp(process.execPath);
  eureka = new FakeEureka({ app: 'demo', ip: '127.0.0.1', port: app.appPort });
  const eurekaPort = await eureka.listen('127.0.0.1');
  const results = { drainer: [], bare: [] };
  for (let i = 0; i < runs; i++) {
    if (i === 0 && idleSeconds > 0) {
      // Both processes idle over the same window.
      const procs = await Promise.all(['bare', 'drainer'].map((kind) => start(kind, eurekaPort)));
      await sleep(2_000);
      const c0 = procs.map((p) => cpuSeconds(p.child.pid));
      const t0 = Date.now();
      await sleep(idleSeconds * 1000);
      const seconds = (Date.now() - t0) / 1000;
      results.idleCpu = { bare: ((cpuSeconds(procs[0].child.pid) - c0[0]) / seconds) * 100, drainer: ((cpuSeconds(procs[1].child.pid) - c0[1]) / seconds) * 100 };
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => new Promise((res) => p.child.once('exit', res))));
    }
    for (const kind of ['bare', 'drainer']) results[kind].push(await measure(kind, eurekaPort));
  }
  const keys = ['readyMs', 'listeningMs', 'idleMiB', 'afterScrapesMiB', 'scrapeMs', 'scrapeCpuMsEach', 'maxRssMiB', 'heapAfterScrapesMiB', 'after10DrainsMiB', 'afterDrainsMiB', 'heapAfterDrainsMiB', 'drainGrowthMiB', 'drainGrowthAfter10MiB', 'eurekaRequestsPerDrain', 'drainSeconds', 'drainCpuMsEach'];
  const summary = {};
  for (const kind of ['bare', 'drainer']) {
    summary[kind] = {};
    for (const k of keys) {
      const xs = results[kind].map((r) => r[k]).filter((x) => x !== undefined);
      if (xs.length) summary[kind][k] = median(xs);
    }
    if (results.idleCpu) summary[kind].idleCpuPercent = results.idleCpu[kind];
  }
  const f = (x, d = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
  const row = (name, k, unit, d = 1) => {
    const b = summary.bare[k];
    const dr = summary.drainer[k];
    const ratio = b && dr !== undefined ? f(dr / b, 2) : '–';
    return `| ${name} | ${f(b, d)} | ${f(dr, d)} | ${unit} | ${ratio} |`;
  };
  const os = require('node:os');
  console.log(`footprint${label ? ` (${label})` : ''}, median of ${runs} runs; node ${process.version} ${nodeFlags.join(' ')}; ${os.cpus().length} × ${os.cpus()[0].model}; ${main}${compileCache ? `; NODE_COMPILE_CACHE=${compileCache}` : ''}`);
  console.log('| | bare node:http | drainer | unit | ratio |');
  console.log('|---|---:|---:|---|---:|');
  console.log(row('time to ready (first 200)', 'readyMs', 'ms', 0));
  console.log(row('time to "listening" line', 'listeningMs', 'ms', 0));
  console.log(row('RSS idle', 'idleMiB', 'MiB'));
  console.log(row(`RSS after ${scrapes} ${'/metrics'} scrapes (bare: GET /)`, 'afterScrapesMiB', 'MiB'));
  console.log(row('CPU per scrape', 'scrapeCpuMsEach', 'ms', 3));
  console.log(row(`RSS after ${drains} drains`, 'afterDrainsMiB', 'MiB'));
  console.log(row(`growth over ${drains} drains (after scrapes → after drains)`, 'drainGrowthMiB', 'MiB'));
  console.log(row(`growth from drain 10 to drain ${drains}`, 'drainGrowthAfter10MiB', 'MiB'));
  console.log(row('V8 heap used after scrapes → after drains', 'heapAfterScrapesMiB', 'MiB'), `→ ${f(summary.drainer.heapAfterDrainsMiB)}`);
  console.log(row('CPU per drain cycle (drain + clean-up + back to idle)', 'drainCpuMsEach', 'ms', 1));
  console.log(row('peak RSS (VmHWM)', 'maxRssMiB', 'MiB'));
  console.log(row(`idle CPU over ${idleSeconds} s`, 'idleCpuPercent', '%', 3));
  console.log(`drains: ${JSON.stringify(results.drainer.map((r) => r.outcomes))}, ${f(summary.drainer.eurekaRequestsPerDrain)} Eureka requests per drain cycle, ${f(summary.drainer.drainSeconds)} s for ${drains}`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    path.join(__dirname, 'results', `footprint${label ? `-${label}` : ''}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), runs, node: process.version, nodeFlags, main, compileCache, summary, results }, null, 2)}\n`,
  );
  await eureka.close();
  app.control.destroy();
  app.child.kill('SIGTERM');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
