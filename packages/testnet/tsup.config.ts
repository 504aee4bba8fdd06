import { defineConfig } from 'tsup';

// server.ts and probe.ts are programs run inside namespaces (`ip netns exec NS
// node dist/server.js`), so they are entries of their own next to the library.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts', 'src/server.ts', 'src/probe.ts', 'src/vitest-lab-setup.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts'] },
  sourcemap: true,
  clean: true,
  target: 'node20',
  // vitest is the consumer's (lab setup entry); never bundle it.
  external: ['vitest', 'vitest/node'],
});
