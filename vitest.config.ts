import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Suites share the 2 cores; each file instantiates its own engine.
    pool: 'forks',
    // Node 20 has relaxed SIMD behind a flag (Node ≥ 22 by default): with it, the suites also cover the
    // relaxed builds, as Chromium and Deno would pick them.
    // --expose-gc: the long-run suite measures the JS heap after collecting garbage.
    poolOptions: { forks: { execArgv: ['--experimental-wasm-relaxed-simd', '--expose-gc'] } },
  },
});
