import { defineConfig } from 'vitest/config';

// The guard's own test measures: it runs in the serial phase (turbo's test:lab,
// one package at a time, after every unit test), never beside other tests.
export default defineConfig({
  test: {
    include: ['test/**/*.serial.test.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.vitest-lab-report.json' }]],
  },
});
