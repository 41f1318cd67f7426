// ESLint: src/ and bench/ with typescript-eslint's type-checked rules (floating promises, unsafe `any`, unbound
// methods); test/ with the rules that need no types (its YAML and JSON fixtures are `any` by nature, and the
// type-checked set finds ~500 such reads there: a later pass); the plain Node scripts with ESLint's own set.
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
    files: ['src/**/*.ts', 'bench/**/*.ts'],
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
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    // Tests read parsed YAML and JSON manifests as `any` on purpose: a wrong path fails the assertion anyway.
    rules: { ...everyTypeScriptFile, '@typescript-eslint/no-explicit-any': 'off' },
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
