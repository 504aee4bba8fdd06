import { defineConfig } from 'vitest/config';

// Unit tests of the benchmark code itself (none are timing-sensitive).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.serial.test.ts'],
    passWithNoTests: true,
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
