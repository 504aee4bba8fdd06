import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, eventType, toJSON, type ScanEvent } from '@portflow/core';
import { EventLogger, LogNotFoundError, readEvents, type ReadWarning } from '../src/index.js';
import { port, tempDir } from './helpers.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const header = (bus: string, ts: string): string =>
  `{"event":"log_started","timestamp":"${ts}","version":"1.0","format":1,"bus_id":"${bus}"}`;
const footer = '{"event":"log_ended","timestamp":"2025-11-09T12:00:09.000Z"}';

function ev(seq: number): string {
  const e = port(seq);
  e.seq = seq;
  return toJSON(e);
}

async function collect(it: AsyncIterable<ScanEvent>): Promise<ScanEvent[]> {
  const out: ScanEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('readEvents', () => {
  it('reads what EventLogger wrote, typed', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    for (let i = 0; i < 10; i++) bus.publish(port(i));
    await log.close();
    const events = await collect(readEvents(path));
    expect(events).toHaveLength(10);
    expect(events[3]).toMatchObject({ type: 'PortFound', seq: 4, scanId: 's1', protocol: 'tcp', state: 'open' });
  });

  it('orders files by header time (.2 before .1 before live), de-duplicates by (bus, seq), reads .gz', async () => {
    const p = join(t.dir, 'scans.jsonl');
    writeFileSync(`${p}.2`, [header('A', '2025-11-09T12:00:00.000Z'), ev(1), ev(2), footer, ''].join('\n'));
    writeFileSync(`${p}.1.gz`, gzipSync([header('A', '2025-11-09T12:00:01.000Z'), ev(2), ev(3), footer, ''].join('\n')));
    writeFileSync(p, [header('A', '2025-11-09T12:00:02.000Z'), ev(4), footer, header('B', '2025-11-09T12:00:03.000Z'), ev(1), footer, ''].join('\n'));
    const r = readEvents(p);
    const events = await collect(r);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 1]);
    expect(r.stats.duplicates).toBe(1);
    expect(r.stats.files).toEqual([`${p}.2`, `${p}.1.gz`, p]);
  });

  it('skips and counts malformed lines with their line numbers, and reports unterminated files', async () => {
    const p = join(t.dir, 'scans.jsonl');
    writeFileSync(p, [header('A', '2025-11-09T12:00:00.000Z'), ev(1), 'not json', '{"event":"port_found","seq":"x"}', ev(2), '{"event":"port_fo'].join('\n'));
    const seen: ReadWarning[] = [];
    const r = readEvents(p, { onWarning: (w) => seen.push(w) });
    const events = await collect(r);
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(r.stats.malformed).toBe(3);
    expect(seen.filter((w) => w.code === 'MALFORMED_LINE').map((w) => w.line)).toEqual([3, 4, 6]);
    expect(seen.find((w) => w.line === 6)?.message).toContain('truncated last line');
    expect(r.stats.unterminated).toEqual([p]);
  });

  it('accepts PascalCase event names and applies a filter', async () => {
    const p = join(t.dir, 'x.jsonl');
    const pascal = ev(2).replace('"port_found"', '"PortFound"');
    const warn = `{"event":"warning_issued","seq":3,"scan_id":"s1","timestamp":"2025-11-09T12:00:00.000Z","message":"m"}`;
    writeFileSync(p, [header('A', '2025-11-09T12:00:00.000Z'), ev(1), pascal, warn, footer, ''].join('\n'));
    expect((await collect(readEvents(p))).map((e) => e.type)).toEqual(['PortFound', 'PortFound', 'WarningIssued']);
    expect((await collect(readEvents(p, { filter: eventType('WarningIssued') }))).map((e) => e.seq)).toEqual([3]);
  });

  it('takes a glob, and a truncated .gz yields what it holds with a warning', async () => {
    const a = join(t.dir, 'a.jsonl'), b = join(t.dir, 'b.jsonl.gz');
    writeFileSync(a, [header('A', '2025-11-09T12:00:00.000Z'), ev(1), footer, ''].join('\n'));
    const gz = gzipSync([header('B', '2025-11-09T12:00:01.000Z'), ...Array.from({ length: 2000 }, (_, i) => ev(i + 1)), footer, ''].join('\n'));
    writeFileSync(b, gz.subarray(0, gz.length >> 1));
    const r = readEvents(join(t.dir, '*.jsonl*'));
    const events = await collect(r);
    expect(events.length).toBeGreaterThan(1);
    expect(r.stats.warnings.some((w) => w.code === 'CORRUPT_FILE' && w.file === b)).toBe(true);
  });

  it('throws LogNotFoundError when nothing matches', async () => {
    await expect(collect(readEvents(join(t.dir, 'none.jsonl')))).rejects.toThrow(LogNotFoundError);
  });
});
