#!/usr/bin/env node
'use strict';
/**
 * Where a drainer process's CPU went between /prestop and its override PUTs (fleet benchmark helper, not shipped).
 *
 *   node bench/cpu-profile-window.js RESULTS_JSON PROFILE_DIR [--n N]
 *   node bench/cpu-profile-window.js --window FROM_US,TO_US PROFILE.cpuprofile
 *
 * RESULTS_JSON is a `bench:fleet` result (bench/results/fleet-<start>-<shapes>.json) run with `--cpu-prof PROFILE_DIR`: each wave's
 * drainWindows give, per drainer process (pid), its drains' first /prestop and last override PUT on the monotonic
 * clock, which is the clock of V8's profile timestamps; the profile of that pid is CPU.<date>.<time>.<pid>.….cpuprofile.
 * --n picks the wave when one profile directory holds several (default: every wave with windows, each pid once).
 *
 * Each sample inside the window is charged to a category by its stack, from the leaf up: the first frame that
 * belongs to a known owner (logging, metrics, the HTTP client, request handling, parsing Eureka's answers, the
 * drain's own code, …) takes it; a stack with no such frame is node's core, V8's GC or "(program)". Prints the
 * categories and the hottest functions (self time) in the window.
 */
const { readFileSync, readdirSync } = require('node:fs');
const { join, basename } = require('node:path');

/** [category, test on a frame's url]; the first match from the leaf up wins. Order: most specific first. */
const OWNERS = [
  ['logging (pino, dist/logger)', (u) => /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify|on-exit-leak-free)\//.test(u) || /\/dist\/(logger|log-limiter)\.js$/.test(u)],
  ['metrics (prom-client, dist/metrics)', (u) => /node_modules\/(prom-client|tdigest|bintrees)\//.test(u) || /\/dist\/(metrics|process-metrics)\.js$/.test(u)],
  ['parsing Eureka answers (dist/eureka codec, json, read-body)', (u) => /\/dist\/(eureka\/(codec|read-body|find-instance)|json)\.js$/.test(u)],
  ['HTTP client (axios, follow-redirects)', (u) => /node_modules\/(axios|follow-redirects|proxy-from-env|form-data|combined-stream|asynckit|mime-types|mime-db)\//.test(u)],
  ['Eureka client (dist/eureka: building requests, retries)', (u) => /\/dist\/eureka\//.test(u)],
  ['request handling (express, dist/http, dist/server)', (u) => /node_modules\/(express|router|body-parser|finalhandler|send|serve-static|on-finished|qs|debug|depd|cookie|content-type|type-is|accepts|negotiator|parseurl|statuses|vary|etag|fresh|encodeurl|escape-html|http-errors|raw-body|iconv-lite)\//.test(u) || /\/dist\/(http|server)\.js$/.test(u)],
  ['drain steps (dist/drain: take-out, verify, …)', (u) => /\/dist\/drain\//.test(u)],
  ['drainer, other (dist/*)', (u) => /\/dist\//.test(u)],
  ['bench probe / host', (u) => /\/bench\//.test(u)],
];

function categorize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const cache = new Map();
  /** A stack of node's own code only: the nearest node: module names the part (a native leaf has no url). */
  const nodeCore = (id) => {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at).callFrame.url;
      if (url.startsWith('node:')) return /_http|net|stream|zlib|dns|tls|socket/.test(url) ? 'node core: http, net, streams' : 'node core: timers, events, other';
    }
    return 'node core: timers, events, other';
  };
  return (id) => {
    if (cache.has(id)) return cache.get(id);
    let category;
    for (let at = id; at !== undefined && !category; at = parent.get(at)) {
      const url = byId.get(at).callFrame.url;
      category = OWNERS.find(([, test]) => url && test(url))?.[0];
    }
    if (!category) {
      const leaf = byId.get(id).callFrame;
      if (leaf.functionName === '(garbage collector)') category = 'V8 garbage collector';
      else if (leaf.functionName === '(idle)') category = '(idle)';
      else if (leaf.functionName === '(program)') category = '(program: V8/native, no JS frame)';
      else category = nodeCore(id);
    }
    cache.set(id, category);
    return category;
  };
}

/** { category: µs } and { "function url:line": µs } of the samples with from ≤ t ≤ to. */
function window(profile, fromUs, toUs) {
  const categoryOf = categorize(profile);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const categories = new Map();
  const functions = new Map();
  let t = profile.startTime;
  let total = 0;
  for (let k = 0; k < profile.samples.length; k++) {
    t += profile.timeDeltas[k];
    const next = profile.timeDeltas[k + 1] ?? 0; // the sample stands for the interval until the next one
    if (t < fromUs || t > toUs) continue;
    const id = profile.samples[k];
    const c = categoryOf(id);
    if (c === '(idle)') continue;
    categories.set(c, (categories.get(c) || 0) + next);
    const f = byId.get(id).callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
    functions.set(name, (functions.get(name) || 0) + next);
    total += next;
  }
  return { categories, functions, total };
}

function print(title, parts, drains) {
  const sum = (key) => {
    const m = new Map();
    for (const p of parts) for (const [k, v] of p[key]) m.set(k, (m.get(k) || 0) + v);
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  const total = parts.reduce((s, p) => s + p.total, 0);
  const ms = (us) => (us / 1000).toFixed(1);
  const lines = [`${title}: ${ms(total)} ms of CPU samples (not idle) in the window, ${drains} drain(s): ${ms(total / drains)} ms per drain`, '', '| where | ms | share |', '|---|---:|---:|'];
  for (const [k, v] of sum('categories')) lines.push(`| ${k} | ${ms(v)} | ${((100 * v) / total).toFixed(0)} % |`);
  lines.push('', '| hottest functions (self) | ms |', '|---|---:|');
  for (const [k, v] of sum('functions').slice(0, 15)) lines.push(`| \`${k}\` | ${ms(v)} |`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

function main(args) {
  const w = args.indexOf('--window');
  if (w >= 0) {
    const [from, to] = args[w + 1].split(',').map(Number);
    const file = args.filter((_, i) => i !== w && i !== w + 1)[0];
    print(basename(file), [window(JSON.parse(readFileSync(file, 'utf8')), from, to)], 1);
    return;
  }
  const [resultsFile, dir] = args;
  if (!resultsFile || !dir) throw new Error('usage: cpu-profile-window.js RESULTS_JSON PROFILE_DIR [--n N] | --window FROM_US,TO_US PROFILE');
  const n = args.includes('--n') ? Number(args[args.indexOf('--n') + 1]) : undefined;
  const profiles = new Map(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => [Number(f.split('.')[3]), join(dir, f)]));
  const { results } = JSON.parse(readFileSync(resultsFile, 'utf8'));
  for (const r of results) {
    if (!r.drainWindows || (n !== undefined && r.n !== n)) continue;
    const found = r.drainWindows.filter((d) => profiles.has(d.pid));
    if (found.length === 0) continue;
    const parts = found.map((d) => window(JSON.parse(readFileSync(profiles.get(d.pid), 'utf8')), d.fromHrUs, d.toHrUs));
    print(`${r.shape} N = ${r.n} (${found.length} process(es) profiled)`, parts, found.reduce((s, d) => s + d.drains, 0));
  }
}

main(process.argv.slice(2));
