import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

describe('bench:check', () => {
  it('fails, naming the figure, when the bus is made 3× slower by an injected delay', () => {
    const r = spawnSync(process.execPath, [`${dist}check.js`, '--quick', '--cases=publish.oneSub'], {
      encoding: 'utf8',
      env: { ...process.env, PORTFLOW_BENCH_INJECT: 'slow-bus' },
      timeout: 240_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(1);
    expect(out).toMatch(/re-measuring/); // it re-measured before failing
    expect(out).toMatch(/bench:check FAILED: regressed past tolerance: publish\.oneSub\|node:events/);
  });
});
