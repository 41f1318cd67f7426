/**
 * The real-cluster tests (test/k8s/cluster): run by test/k8s/cluster/run-tests.sh inside the cluster's network
 * namespace, one file at a time (each starts a Eureka pair, a gateway and JVM pods on 2 cores).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/k8s/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 240000,
  // One Eureka pair, gateway and outside instance for every file (support/world.ts).
  globalSetup: '<rootDir>/test/k8s/cluster/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/k8s/cluster/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
