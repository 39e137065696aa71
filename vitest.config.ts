import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Suites share the 2 cores; each file instantiates its own engine.
    pool: 'forks',
  },
});
