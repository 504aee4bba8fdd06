import { defineConfig } from 'vitest/config';

// Lab tests: root-only, one file at a time in one worker, behind a machine-wide
// lock taken in global setup (so waiting for the lock never eats a test timeout).
export default defineConfig({
  test: {
    include: ['test/lab/**/*.lab.test.ts'],
    globalSetup: ['@portflow/testnet/vitest-lab-setup'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: '.vitest-lab-report.json' }]],
  },
});
