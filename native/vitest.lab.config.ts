import { defineConfig } from 'vitest/config';

// Lab tests: root only (network namespaces from @portflow/testnet), one file at a time in
// one worker, behind the machine-wide lab lock taken in global setup. They run the built
// package (dist/) in child processes inside the lab's namespaces.
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
