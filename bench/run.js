#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` entry point (package.json: "npm run build && node bench/run.js").
 *
 * The benchmark is TypeScript (bench/drain-bench.ts) and reuses the real-stack helpers in test/e2e/stack and
 * test/e2e/support, which locate the Spring jars and dist/main.js relative to their own directory. So instead of
 * compiling into another folder (which would move them), this launcher transpiles each .ts file in place as it
 * is required, with the project's own TypeScript (type-checking is `npm run lint`, which includes bench/).
 * Arguments are passed through, e.g. `npm run bench -- --rounds 5 --skip-defaults`.
 * `node bench/run.js demo` runs bench/demo.ts instead (`npm run demo`), `node bench/run.js fleet` bench/fleet.ts
 * (`npm run bench:fleet`).
 */
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};

// eslint-disable-next-line n/no-deprecated-api -- the smallest require hook there is; only .ts files go through it
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};

const [first, ...rest] = process.argv.slice(2);
const named = { demo: './demo.ts', fleet: './fleet.ts' };
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
