import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = fileURLToPath(new URL('../examples/basic.mjs', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));

describe('README example', () => {
  // The example imports the built package (as a user would); `pnpm test` builds first.
  it.skipIf(!built && process.env.CI !== 'true')('runs and ends at 100%', () => {
    const out = execFileSync(process.execPath, [example], { encoding: 'utf8' }).trim().split('\n');
    expect(out).toHaveLength(11);
    expect(out[4]).toBe('[Stage 1/1] Port Scanning ##########---------- 50% | ETA: 5s');
    expect(out.at(-1)).toBe('[Stage 1/1] Completed #################### 100% | took 11s | open ports: 1');
  });
});
