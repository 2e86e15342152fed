// Two projects: `unit` (spec/, no broker) and `integration` (integration/, a real RabbitMQ).
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
      globalSetup: '<rootDir>/integration/support/global-setup.mjs',
    },
  ],
  // a global option: jest ignores testTimeout inside a project
  testTimeout: 30000,
};
