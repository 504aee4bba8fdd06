import { defineConfig } from 'vitest/config';

// Tests that need root: private mount namespaces (read-only bind mount, tiny tmpfs).
export default defineConfig({
  test: {
    include: ['test/**/*.lab.ts'],
    testTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-lab-report.json' }]],
  },
});
