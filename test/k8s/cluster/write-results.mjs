#!/usr/bin/env node
// Writes one run of the real-cluster tests into test/k8s/RESULTS.md (newest first): date, commit, versions,
// each test's outcome and duration (jest's --json output) and what it measured (the JSON lines the tests wrote
// through support/results.ts). Called by run-tests.sh; never edited by hand.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    jest: { type: 'string' },
    measured: { type: 'string' },
    image: { type: 'string' },
    out: { type: 'string' },
    'cluster-seconds': { type: 'string' },
    'total-seconds': { type: 'string' },
  },
});

const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
};
const kubeBin = `${process.env.EUREKA_DRAINER_CLUSTER_CACHE ?? `${process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`}/eureka-drainer-ci`}/kube-v1.37.2`;
const commit = run('git', ['rev-parse', '--short', 'HEAD']);
const status = run('git', ['status', '--porcelain', '--untracked-files=no']);
const dirty = status === '' || status === 'unknown' ? '' : ' (with uncommitted changes)';
const versions = [
  ['Kubernetes', run(`${kubeBin}/kubelet`, ['--version'])],
  ['containerd', run('containerd', ['--version'])],
  ['runc', run('runc', ['--version'])],
  ['etcd', run('etcd', ['--version'])],
  ['JDK', run('sh', ['-c', 'java -version 2>&1'])],
  ['Node (tests)', process.version],
];

const jest = values.jest && existsSync(values.jest) && statSync(values.jest).size > 0 ? JSON.parse(readFileSync(values.jest, 'utf8')) : { testResults: [] };
const measured = values.measured && existsSync(values.measured)
  ? readFileSync(values.measured, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  : [];
const imageBytes = values.image && existsSync(values.image) ? statSync(values.image).size : undefined;

const lines = [];
lines.push(`## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — commit ${commit}${dirty}`);
lines.push('');
lines.push(`${versions.map(([k, v]) => `${k}: ${v}`).join('; ')}.`);
lines.push(`Cluster up in ${values['cluster-seconds']} s; whole run ${values['total-seconds']} s${imageBytes ? `; image archive ${(imageBytes / 1048576).toFixed(1)} MiB` : ''}.`);
lines.push('');
lines.push('| file | test | result | seconds |');
lines.push('|---|---|---|---:|');
let passed = 0;
let failed = 0;
for (const file of jest.testResults ?? []) {
  const name = String(file.name).replace(/^.*test\/k8s\/cluster\//, '');
  if ((file.assertionResults ?? []).length === 0) {
    failed += 1;
    lines.push(`| ${name} | (the file did not run: ${String(file.message ?? '').split('\n').find((l) => l.trim()) ?? 'error'}) | failed | |`);
  }
  for (const t of file.assertionResults ?? []) {
    if (t.status === 'passed') passed += 1;
    else failed += 1;
    lines.push(`| ${name} | ${t.fullName} | ${t.status} | ${((t.duration ?? 0) / 1000).toFixed(1)} |`);
  }
}
lines.push('');
lines.push(`${passed} passed, ${failed} failed.`);
if (measured.length > 0) {
  lines.push('');
  lines.push('Measured:');
  lines.push('');
  for (const m of measured) {
    const { test, ...rest } = m;
    lines.push(`- **${test}**: ${Object.entries(rest).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ')}`);
  }
}
lines.push('');

const header = '# Real-cluster test runs\n\nWritten by `test/k8s/cluster/run-tests.sh` after each run, newest first; not edited by hand.\n\n';
const previous = values.out && existsSync(values.out) ? readFileSync(values.out, 'utf8').replace(header, '') : '';
// Keep the last 20 runs.
const runs = previous.split(/^(?=## )/m).filter((r) => r.startsWith('## ')).slice(0, 19);
writeFileSync(values.out, header + [lines.join('\n'), ...runs].join('\n'));
console.log(`run-tests: ${passed} passed, ${failed} failed (results in ${values.out})`);
