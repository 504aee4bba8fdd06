import { copyFileSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '@portflow/core';
import { EventLogger, nextBoundary, readEvents } from '../src/index.js';
import { FIXTURES, fileLines, files, parsed, port, tempDir, until } from './helpers.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Publish `n` events in batches, yielding between batches as a scan does. */
async function stream(bus: EventBus, n: number, batch = 1000): Promise<void> {
  for (let i = 0; i < n; ) {
    for (let j = 0; j < batch && i < n; j++, i++) bus.publish(port(i));
    await tick();
  }
}

describe('rotation', () => {
  it('by size under a sustained stream: lines over all files equal events published, in seq order, each file standing alone', async () => {
    const bus = new EventBus({ historySize: 0 });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { rotation: { maxBytes: 64 * 1024, maxFiles: 1000 }, compress: true });
    log.startScan('s1', { ports: 'all' });
    await stream(bus, 50_000);
    const stats = await log.close();
    expect(stats.rotations).toBeGreaterThan(50);
    expect(stats.filesCompressed).toBe(stats.rotations);
    const names = files(t.dir);
    expect(names.filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'))).toEqual([]);
    // Oldest first: highest number first, the live file last.
    const ordered = names.filter((n) => n !== 'scans.jsonl').sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
    ordered.push('scans.jsonl');
    const seqs: number[] = [];
    for (const n of ordered) {
      const lines = parsed(join(t.dir, n));
      expect(lines[0].event).toBe('log_started');
      expect(lines[1]).toMatchObject({ event: 'scan_config', scan_id: 's1' });
      expect(lines.at(-1)?.event).toBe('log_ended');
      const ev = lines.filter((o) => typeof o.seq === 'number');
      expect(lines.at(-1)?.events_written).toBe(ev.length);
      for (const o of ev) seqs.push(o.seq as number);
      if (n !== 'scans.jsonl') expect(n.endsWith('.gz')).toBe(true);
    }
    expect(seqs).toHaveLength(50_000);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    const r = readEvents(path);
    let k = 0;
    for await (const e of r) expect(e.seq).toBe(++k);
    expect(k).toBe(50_000);
    expect(r.stats.duplicates).toBe(0);
    expect(r.stats.unterminated).toEqual([]);
  });

  it('never splits a line and keeps every file under maxBytes', async () => {
    const bus = new EventBus({ historySize: 0 });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { rotation: { maxBytes: 4096, maxFiles: 100 } });
    await stream(bus, 500, 50);
    await log.close();
    for (const n of files(t.dir)) {
      const lines = fileLines(join(t.dir, n));
      for (const l of lines.slice(0, -1)) expect(() => JSON.parse(l)).not.toThrow();
      // The footer may go past maxBytes; events never do.
      const body = lines.slice(0, -1).reduce((a, l) => a + Buffer.byteLength(l) + 1, 0);
      expect(body).toBeLessThanOrEqual(4096);
    }
  });

  it('keeps maxFiles rotated files', async () => {
    const bus = new EventBus({ historySize: 0 });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { rotation: { maxBytes: 2048, maxFiles: 3 }, compress: true });
    await stream(bus, 400, 20);
    const stats = await log.close();
    expect(stats.rotations).toBeGreaterThan(5);
    expect(files(t.dir)).toEqual(['scans.jsonl', 'scans.jsonl.1.gz', 'scans.jsonl.2.gz', 'scans.jsonl.3.gz']);
    // The newest files survive: the last event is in the live file, and .1 is newer than .3.
    const r = readEvents(path);
    const seqs: number[] = [];
    for await (const e of r) seqs.push(e.seq);
    expect(seqs.at(-1)).toBe(400);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1)).toBe(true);
  });

  it('rotate() starts a new file at once; a dated name rolls over with the clock', async () => {
    const bus = new EventBus({ historySize: 0 });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    bus.publish(port(1));
    log.rotate();
    bus.publish(port(2));
    await log.close();
    expect(files(t.dir)).toEqual(['scans.jsonl', 'scans.jsonl.1']);
    expect(parsed(join(t.dir, 'scans.jsonl.1')).map((o) => o.event)).toEqual(['log_started', 'port_found', 'log_ended']);

    const dated = new EventLogger(join(t.dir, 'sec-%H%M%S.jsonl'), bus, { flushIntervalMs: 10 });
    const first = dated.path;
    bus.publish(port(3));
    await until(() => dated.path !== first, 'the next second');
    bus.publish(port(4));
    await dated.close();
    expect(parsed(first).map((o) => o.event)).toEqual(['log_started', 'port_found', 'log_ended']);
    expect(parsed(dated.path).map((o) => o.event)).toEqual(['log_started', 'port_found', 'log_ended']);
    expect(existsSync(`${first}.lock`)).toBe(false);
  });

  it('by time: an hourly rotation at the hour boundary (clock shifted in a child process)', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const child = spawn(process.execPath, ['--import', join(FIXTURES, 'near-hour.mjs'), join(FIXTURES, 'writer.mjs'), path, 'paced', JSON.stringify({ rotation: { interval: 'hourly' }, flushIntervalMs: 20 })], {
      env: { ...process.env, MAX_EVENTS: '5000', BATCH: '50' },
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(files(t.dir)).toEqual(['scans.jsonl', 'scans.jsonl.1']);
    const older = parsed(`${path}.1`), newer = parsed(path);
    const hdr = Date.parse(newer[0].timestamp as string);
    expect(new Date(hdr).getMinutes()).toBe(0); // the new file starts just after the boundary
    expect(new Date(hdr).getSeconds()).toBeLessThan(5);
    expect(Date.parse(older[0].timestamp as string)).toBeLessThan(hdr);
    for (const f of [older, newer]) {
      expect(f[0].event).toBe('log_started');
      expect(f[1].event).toBe('scan_config');
      expect(f.at(-1)?.event).toBe('log_ended');
    }
    const seqs = [...older, ...newer].filter((o) => typeof o.seq === 'number').map((o) => o.seq as number);
    expect(seqs).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });

  it('computes hourly, daily and weekly boundaries in local time', () => {
    const base = new Date(2025, 10, 12, 13, 45, 10, 5).getTime(); // a Wednesday
    expect(new Date(nextBoundary(base, 'hourly'))).toEqual(new Date(2025, 10, 12, 14, 0, 0, 0));
    expect(new Date(nextBoundary(base, 'daily'))).toEqual(new Date(2025, 10, 13, 0, 0, 0, 0));
    expect(new Date(nextBoundary(base, 'weekly'))).toEqual(new Date(2025, 10, 17, 0, 0, 0, 0));
    const monday = new Date(2025, 10, 17, 0, 0, 0, 0).getTime();
    expect(new Date(nextBoundary(monday, 'weekly'))).toEqual(new Date(2025, 10, 24, 0, 0, 0, 0));
  });
});

describe('retention', () => {
  it('cleanupOldLogs, cleanupBefore and cleanupByCount delete rotated files only', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    const day = 86_400_000;
    const now = Date.now();
    for (let i = 1; i <= 5; i++) {
      const p = i % 2 === 0 ? `${path}.${i}.gz` : `${path}.${i}`;
      writeFileSync(p, '');
      utimesSync(p, new Date(now - i * day), new Date(now - i * day));
    }
    writeFileSync(join(t.dir, 'other.jsonl'), '');
    expect((await log.cleanupOldLogs(4.5 * day)).sort()).toEqual([`${path}.5`]);
    expect((await log.cleanupBefore(new Date(now - 3.5 * day))).sort()).toEqual([`${path}.4.gz`]);
    expect((await log.cleanupByCount(1)).sort()).toEqual([`${path}.2.gz`, `${path}.3`]);
    expect(files(t.dir).sort()).toEqual(['other.jsonl', 'scans.jsonl', 'scans.jsonl.1', 'scans.jsonl.lock']);
    await log.close();
  });
});

describe('crash during compression', () => {
  it('SIGKILL while a .gz.tmp is being written: no event lost or counted twice; the next logger finishes the job', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const opts = { rotation: { maxBytes: 24 * 1024 * 1024, maxFiles: 10 }, compress: { level: 9 } };
    const child = spawn(process.execPath, [join(FIXTURES, 'writer.mjs'), path, 'stream', JSON.stringify(opts)], {
      env: { ...process.env, BATCH: '2000' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    let alive = true;
    void exited.then(() => (alive = false));
    await until(() => !alive || existsSync(`${path}.1.gz.tmp`), 'compression to start', 20_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(`${path}.1`)).toBe(true);

    const r = readEvents(path);
    let n = 0;
    for await (const e of r) expect(e.seq).toBe(++n);
    expect(n).toBeGreaterThan(0);
    expect(r.stats.files).not.toContain(`${path}.1.gz.tmp`);
    expect(r.stats.duplicates).toBe(0);

    // The crash could also fall between "rename to .gz" and "unlink the original": both exist, read once.
    copyFileSync(`${path}.1`, `${path}.1.copy`);
    const bus = new EventBus();
    const log = new EventLogger(path, bus, { compress: true });
    await log.close(); // waits for the recovery compression
    expect(existsSync(`${path}.1.gz.tmp`)).toBe(false);
    expect(existsSync(`${path}.1`)).toBe(false);
    expect(existsSync(`${path}.1.gz`)).toBe(true);
    copyFileSync(`${path}.1.copy`, `${path}.1`);
    const again = readEvents(path);
    let m = 0;
    for await (const e of again) expect(e.seq).toBe(++m);
    expect(m).toBe(n);
    expect(again.stats.files.filter((f) => f.startsWith(`${path}.1`))).toEqual([`${path}.1.gz`]);
  });
});
