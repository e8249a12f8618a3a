import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file starts the emulators it needs on free ports and stops them after.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: emulators run in their own processes beside the test workers.
    maxWorkers: 2,
  },
});
