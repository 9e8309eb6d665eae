import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests start real servers on 127.0.0.1; two cores, so keep parallelism modest.
    maxWorkers: 2,
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
  },
});
