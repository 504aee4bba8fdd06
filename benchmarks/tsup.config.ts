import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/run.ts', 'src/check.ts', 'src/worker.ts', 'src/scan-child.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
