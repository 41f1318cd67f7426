#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` entry point (package.json: "npm run build && node bench/run.js").
 *
 * The benchmark is TypeScript (bench/drain-bench.ts) and reuses the real-stack helpers in test/e2e/stack and
 * test/e2e/support; ./ts-hook transpiles each .ts file in place as it is required.
 * Arguments are passed through, e.g. `npm run bench -- --rounds 5 --skip-defaults`.
 * `node bench/run.js demo` runs bench/demo.ts instead (`npm run demo`), `node bench/run.js fleet` bench/fleet.ts
 * (`npm run bench:fleet`), `node bench/run.js cluster-footprint` bench/cluster-footprint.ts (inside the real
 * cluster's network namespace: `bash test/k8s/cluster/cluster.sh exec node bench/run.js cluster-footprint`).
 */
require('./ts-hook');

const [first, ...rest] = process.argv.slice(2);
const named = { demo: './demo.ts', fleet: './fleet.ts', 'cluster-footprint': './cluster-footprint.ts' };
const [script, args] = named[first] ? [named[first], rest] : ['./drain-bench.ts', process.argv.slice(2)];

require(script)
  .main(args)
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`bench failed: ${error && error.stack ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
