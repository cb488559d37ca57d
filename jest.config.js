/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services/api/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/services/api/test/tsconfig.json' }],
    // jose ships ES modules only; Node runs them through require() (20.19+), jest's loader does not.
    '/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/services/api/test/globalSetup.ts',
  globalTeardown: '<rootDir>/services/api/test/globalTeardown.ts',
  // Every answer the suites receive through supertest is checked against the OpenAPI document.
  setupFilesAfterEnv: ['<rootDir>/services/api/test/openapiHook.ts'],
  maxWorkers: 2,
  testTimeout: 30000,
};
