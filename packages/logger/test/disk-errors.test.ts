import { rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, type WarningIssued } from '@portflow/core';
import { EventLogger } from '../src/index.js';
import { parsed, port, tempDir } from './helpers.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function warnings(bus: EventBus): WarningIssued[] {
  const out: WarningIssued[] = [];
  bus.on('WarningIssued', (w) => out.push(w));
  return out;
}

describe('disk errors', () => {
  it('a log file deleted mid-scan: one warning, a new file, the scan goes on', async () => {
    const bus = new EventBus({ historySize: 0 });
    const w = warnings(bus);
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    for (let i = 0; i < 100; i++) bus.publish(port(i));
    await log.flush();
    unlinkSync(path);
    for (let i = 0; i < 100; i++) bus.publish(port(i));
    await log.flush();
    for (let i = 0; i < 100; i++) bus.publish(port(i));
    const stats = await log.close();
    expect(w.map((x) => x.code)).toEqual(['LOG_FILE_REMOVED']);
    expect(w[0].message).toContain(path);
    const lines = parsed(path);
    expect(lines[0].event).toBe('log_started');
    const seqs = lines.filter((o) => o.event === 'port_found').map((o) => o.seq as number);
    // Everything after the deletion is in the new file: the first 100 went with the removed one.
    expect(seqs[0]).toBe(101);
    expect(stats.eventsLogged).toBe(301); // + the warning itself
    expect(seqs.at(-1)).toBe(301);
    expect(lines.some((o) => o.event === 'warning_issued' && o.code === 'LOG_FILE_REMOVED')).toBe(true);
    expect(lines.at(-1)?.event).toBe('log_ended');
  });

  it('its directory removed: one warning, events counted as dropped, the scan goes on', async () => {
    const bus = new EventBus({ historySize: 0 });
    const w = warnings(bus);
    const dir = join(t.dir, 'logs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const path = join(dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    bus.publish(port(0));
    await log.flush();
    rmSync(dir, { recursive: true });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 100; i++) bus.publish(port(i));
      await log.flush();
    }
    const stats = await log.close();
    expect(w.map((x) => x.code)).toEqual(['LOG_FILE_REMOVED', 'LOG_EVENTS_DROPPED']);
    expect(w[0].message).toContain('cannot be recreated');
    expect(stats.droppedByDiskError).toBeGreaterThanOrEqual(500);
    expect(stats.lastError).toMatch(/ENOENT/);
  });

  it('memory stays bounded when events outrun the disk: drops counted, one warning', async () => {
    const bus = new EventBus({ historySize: 0 });
    const w = warnings(bus);
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { maxBufferedBytes: 64 * 1024 });
    // One synchronous burst: no write can complete before it ends.
    for (let i = 0; i < 10_000; i++) bus.publish(port(i));
    expect(log.stats().bufferedBytes).toBeLessThanOrEqual(64 * 1024 + 200);
    const mid = log.stats();
    expect(mid.droppedByMemoryBound).toBeGreaterThan(0);
    expect(mid.eventsLogged + mid.droppedByMemoryBound).toBe(10_000 + 1); // + the warning
    await tick();
    const stats = await log.close();
    expect(w.filter((x) => x.code === 'LOG_MEMORY_BOUND')).toHaveLength(1);
    const lines = parsed(path);
    const written = lines.filter((o) => typeof o.seq === 'number').length;
    expect(written).toBe(stats.eventsLogged);
    expect(lines.at(-1)).toMatchObject({ event: 'log_ended', events_dropped: stats.droppedByMemoryBound });
    // After the disk caught up, logging resumed.
    expect(lines.some((o) => o.code === 'LOG_EVENTS_DROPPED')).toBe(true);
  });
});
