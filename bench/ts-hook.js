'use strict';
/**
 * Lets the plain-JavaScript bench scripts require TypeScript: each .ts file is transpiled in place as it is
 * required, with the project's own TypeScript (type-checking is `npm run lint`, which includes bench/). In place,
 * not compiled into another folder, because the helpers reused from test/ find jars and dist/main.js relative to
 * their own directory.
 */
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};

// require.extensions is deprecated, yet it is the smallest require hook there is; only .ts files go through it
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
