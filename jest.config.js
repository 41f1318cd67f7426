/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The real-cluster tests run inside the cluster's network namespace (jest.cluster.config.js, test/k8s/cluster/run-tests.sh).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/k8s/cluster/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // The real-stack suites start JVMs; a drain there takes seconds.
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
