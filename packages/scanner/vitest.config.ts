import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Namespace-lab tests run only through vitest.lab.config.ts (test:lab).
    exclude: ['test/lab/**'],
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
