/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services/api/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/services/api/test/tsconfig.json' }] },
  globalSetup: '<rootDir>/services/api/test/globalSetup.ts',
  globalTeardown: '<rootDir>/services/api/test/globalTeardown.ts',
  maxWorkers: 2,
  testTimeout: 30000,
};
