// ESLint: src/, bench/ and test/ with typescript-eslint's type-checked rules (floating promises, unsafe `any`, unbound
// methods); the plain Node scripts with ESLint's own set. Tests read parsed YAML and JSON through typed shapes
// (test/helpers/manifest.ts, test/helpers/json-body.ts), and take `expect` from @jest/globals where an asymmetric
// matcher sits inside an object (@types/jest types those matchers `any`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const everyTypeScriptFile = {
  // `_name` marks a parameter kept for its position (express's 4-argument error handler); rest siblings omit a key.
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
  // A `let` that a closure reads before its one assignment cannot be `const` (the closure may run first).
  'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'build/', '**/target/'] },
  {
    files: ['src/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      ...everyTypeScriptFile,
      // An async function that implements a Promise-returning interface turns a throw into a rejection; no await needed.
      '@typescript-eslint/require-await': 'off',
      // Passing on a caught `unknown` keeps the original error; wrapping it would hide its type.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // The fake clock's and the fake Eureka's aborted waits reject with `AbortSignal.reason` (typed `any` by the DOM
      // and Node types), as node:timers/promises does and as the code under test expects.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
);
