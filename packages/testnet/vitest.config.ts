import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A timeout catches a hang, it does not measure speed: fixed-work tests (the parser's
    // random-input test: 1.5 s idle) took over 6 s on a two-core machine under load.
    testTimeout: 60_000,
    exclude: ['test/lab/**'],
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
