import { spawnSync } from 'node:child_process';
import { mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from './helpers.js';

// Root-only: private mount namespaces (tmpfs, read-only bind mounts) and a non-root child.
function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'unshare -m does not work here';
  return undefined;
}
const reason = whyNot();
if (reason !== undefined) {
  if (process.env.CI === 'true') throw new Error(`logger lab tests must run on CI, but: ${reason}`);
  console.log(`skipping logger lab tests: ${reason}`);
}

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

function inNamespace(script: string, args: string[]): Record<string, unknown> {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script, 'sh', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`namespace child failed (${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1) as string;
  return JSON.parse(last) as Record<string, unknown>;
}

describe.skipIf(reason !== undefined)('disk errors in private mount namespaces', () => {
  it('ENOSPC on a 256 KB tmpfs: the scan goes on, one warning, every line in the file valid, drops counted', () => {
    const mnt = join(t.dir, 'small');
    mkdirSync(mnt);
    const out = inNamespace(`mount -t tmpfs -o size=256k tmpfs "$1"; exec node "$2" enospc "$1/scans.jsonl"`, [mnt, join(FIXTURES, 'disk-child.mjs')]) as {
      published: number;
      warnings: { code: string; message: string }[];
      stats: { eventsLogged: number; droppedByDiskError: number; writeErrors: number; lastError: string };
      seqs: number;
      malformed: number;
      contiguous: boolean;
    };
    expect(out.published).toBe(20_000);
    const codes = out.warnings.map((w) => w.code);
    expect(codes.filter((c) => c === 'LOG_WRITE_FAILED')).toHaveLength(1);
    expect(out.warnings[0].message).toMatch(/ENOSPC/);
    expect(out.stats.writeErrors).toBeGreaterThan(1);
    expect(out.stats.lastError).toMatch(/ENOSPC/);
    // Failed chunks are cut off again: no partial line, and what is there is contiguous from seq 1.
    expect(out.malformed).toBe(0);
    expect(out.contiguous).toBe(true);
    expect(out.seqs).toBeGreaterThan(500);
    expect(out.seqs + out.stats.droppedByDiskError).toBe(out.stats.eventsLogged);
  });

  it('read-only bind mount: opening fails with a clear LogOpenError', () => {
    const dir = join(t.dir, 'ro');
    mkdirSync(dir);
    const out = inNamespace(`mount --bind -o ro "$1" "$1"; exec node "$2" open "$1/scans.jsonl"`, [dir, join(FIXTURES, 'disk-child.mjs')]);
    expect(out).toMatchObject({ ok: false, name: 'LogOpenError', code: 'ERR_LOG_OPEN' });
    expect(out.message).toMatch(/EROFS/);
    expect(out.message).toContain('scans.jsonl');
  });

  it('read-only mid-scan: rotation fails with a warning and writing goes on; a removed file cannot be recreated, drops are counted', () => {
    const dir = join(t.dir, 'logs');
    const alt = join(t.dir, 'alt');
    mkdirSync(dir);
    mkdirSync(alt);
    const out = inNamespace(`mount --bind "$1" "$3"; exec node "$2" ro-remove "$1/scans.jsonl" "$3/scans.jsonl"`, [dir, join(FIXTURES, 'disk-child.mjs'), alt]) as {
      published: number;
      warnings: { code: string; message: string }[];
      stats: { droppedByDiskError: number; eventsLogged: number };
    };
    expect(out.published).toBe(2000);
    const byCode = new Map(out.warnings.map((w) => [w.code, w.message]));
    expect(byCode.get('LOG_ROTATE_FAILED')).toMatch(/EROFS/);
    expect(byCode.get('LOG_FILE_REMOVED')).toMatch(/cannot be recreated \(EROFS/);
    expect(out.warnings.filter((w) => w.code === 'LOG_FILE_REMOVED')).toHaveLength(1);
    expect(out.stats.droppedByDiskError).toBeGreaterThanOrEqual(1000);
  });

  it('a non-root user in a directory it cannot write: a clear LogOpenError (root would ignore the permissions)', () => {
    const dir = join(t.dir, 'locked');
    mkdirSync(dir);
    chmodSync(t.dir, 0o755);
    chmodSync(dir, 0o755);
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, join(FIXTURES, 'disk-child.mjs'), 'open', join(dir, 'scans.jsonl')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as Record<string, string>;
    expect(out).toMatchObject({ ok: false, code: 'ERR_LOG_OPEN' });
    expect(out.message).toMatch(/EACCES/);
  });
});
