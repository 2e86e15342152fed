// Three projects: `unit` (spec/, no broker), `integration` (integration/, a real RabbitMQ) and
// `cluster` (integration/cluster/, a three-node cluster that its globalSetup starts with
// scripts/cluster.mjs and its globalTeardown stops). Jest runs a project's global setup only when
// one of its tests is selected, so `--selectProjects unit` starts no broker and no cluster.
// ESM mode: run with NODE_OPTIONS=--experimental-vm-modules (the npm scripts do).
import { createDefaultEsmPreset } from 'ts-jest';

const preset = createDefaultEsmPreset({ tsconfig: 'tsconfig.json', isolatedModules: true });
const common = {
  ...preset,
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/spec/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/integration/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/integration/cluster/'],
      globalSetup: '<rootDir>/integration/support/global-setup.mjs',
    },
    {
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/integration/cluster/**/*.test.ts'],
      globalSetup: '<rootDir>/integration/cluster/support/global-setup.mjs',
      globalTeardown: '<rootDir>/integration/cluster/support/global-teardown.mjs',
    },
  ],
  // a global option: jest ignores testTimeout inside a project
  testTimeout: 30000,
};
