import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/run.ts', 'src/check.ts', 'src/worker.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
