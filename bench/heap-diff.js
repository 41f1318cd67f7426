#!/usr/bin/env node
/**
 * Leak hunting (not a test): two or more V8 heap snapshots (bench/footprint.js --heap-snapshots DIR), compared
 * per node type and constructor/name: count and self size in each, and the change from the first to the last.
 *
 *   node bench/heap-diff.js A.heapsnapshot B.heapsnapshot [C.heapsnapshot …] [--top 40]
 *
 * A .heapsnapshot is JSON: snapshot.meta gives the layout of the flat `nodes` array (type, name, id, self_size,
 * edge_count, …) and `strings` the names. Objects group by constructor name; strings, code, arrays and the rest
 * by their node type and name (long string values are cut to 60 characters).
 */
'use strict';
const { readFileSync } = require('node:fs');

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 40;
if (args.length < 2) {
  console.error('usage: node bench/heap-diff.js A.heapsnapshot B.heapsnapshot [...] [--top N]');
  process.exit(2);
}

function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const types = meta.node_types[iType];
  const { nodes, strings } = snap;
  const groups = new Map();
  let total = 0;
  let count = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = name.length > 60 ? `${name.slice(0, 60)}…` : name;
    const key = type === 'object' ? name : `(${type}) ${name}`;
    const size = nodes[i + iSize];
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += size;
    groups.set(key, g);
    total += size;
    count++;
  }
  return { file, groups, total, count };
}

// By type alone too, so a rise spread over many names (e.g. closures) still shows.
function byType(summary) {
  const out = new Map();
  for (const [key, g] of summary.groups) {
    const type = key.startsWith('(') ? key.slice(1, key.indexOf(')')) : 'object';
    const t = out.get(type) ?? { count: 0, size: 0 };
    t.count += g.count;
    t.size += g.size;
    out.set(type, t);
  }
  return out;
}

const snaps = args.map(summarize);
const kib = (b) => (b / 1024).toFixed(1);
console.log('| snapshot | nodes | self size total (MiB) |');
console.log('|---|---:|---:|');
for (const s of snaps) console.log(`| ${s.file} | ${s.count} | ${(s.total / 2 ** 20).toFixed(2)} |`);

const first = snaps[0];
const last = snaps[snaps.length - 1];
const table = (title, maps) => {
  const keys = new Set(maps.flatMap((m) => [...m.keys()]));
  const rows = [...keys].map((k) => ({ k, c: maps.map((m) => m.get(k)?.count ?? 0), s: maps.map((m) => m.get(k)?.size ?? 0) }));
  rows.sort((a, b) => Math.abs(b.s[b.s.length - 1] - b.s[0]) - Math.abs(a.s[a.s.length - 1] - a.s[0]) || Math.abs(b.c[b.c.length - 1] - b.c[0]) - Math.abs(a.c[a.c.length - 1] - a.c[0]));
  console.log(`\n${title}: count (self KiB) per snapshot, sorted by |Δ self size| first → last`);
  console.log(`| name | ${maps.map((_, i) => `#${i + 1}`).join(' | ')} | Δ count | Δ KiB |`);
  console.log(`|---|${maps.map(() => '---:').join('|')}|---:|---:|`);
  for (const r of rows.slice(0, top)) {
    const dc = r.c[r.c.length - 1] - r.c[0];
    const ds = r.s[r.s.length - 1] - r.s[0];
    if (dc === 0 && ds === 0) continue;
    console.log(`| ${r.k.replace(/\|/g, '\\|').replace(/\n/g, '\\n')} | ${r.c.map((c, i) => `${c} (${kib(r.s[i])})`).join(' | ')} | ${dc > 0 ? '+' : ''}${dc} | ${ds > 0 ? '+' : ''}${kib(ds)} |`);
  }
};
table('By node type', snaps.map(byType));
table('By constructor / name', snaps.map((s) => s.groups));
console.log(`\nΔ total self size ${first.file} → ${last.file}: ${kib(last.total - first.total)} KiB, Δ nodes ${last.count - first.count}`);
