import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, eventType, FilterError, OptionError, parseLine, scanStarted, type ScanEvent } from '@portflow/core';
import { EventLogger, LogLockedError, LogOpenError, LoggerClosedError } from '../src/index.js';
import { fileLines, parsed, port, tempDir, until } from './helpers.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

describe('EventLogger file format', () => {
  it('writes header, scan_config, events in wire format, and footer', async () => {
    const bus = new EventBus({ busId: 'bus-1' });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    log.startScan('s1', { ports: '1-1024', rate: 1000 });
    bus.publish(scanStarted('s1', 1_763_900_000_000, { scanType: 'syn', targetCount: 1, portCount: 1024, targets: ['10.0.0.1'], ports: '1-1024' }));
    for (let i = 0; i < 5; i++) bus.publish(port(i));
    await log.endScan('s1');
    const stats = await log.close();
    const lines = fileLines(path);
    const first = JSON.parse(lines[0]);
    expect(first).toMatchObject({ event: 'log_started', version: '1.0', format: 1, bus_id: 'bus-1' });
    expect(Object.keys(first)).toEqual(['event', 'timestamp', 'version', 'format', 'bus_id']);
    expect(JSON.parse(lines[1])).toMatchObject({ event: 'scan_config', scan_id: 's1', config: { ports: '1-1024', rate: 1000 } });
    expect(JSON.parse(lines[2])).toMatchObject({ event: 'scan_started', seq: 1, scan_id: 's1' });
    expect(lines.slice(3, 8).map((l) => JSON.parse(l).seq)).toEqual([2, 3, 4, 5, 6]);
    expect(JSON.parse(lines[8])).toMatchObject({ event: 'log_ended', events_written: 6, events_dropped: 0 });
    expect(lines).toHaveLength(9);
    for (const l of lines) expect(() => parseLine(l)).not.toThrow();
    expect(stats.eventsLogged).toBe(6);
    expect(stats.eventsDropped).toBe(0);
  });

  it('creates the file with mode 0600', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'audit.jsonl');
    const log = new EventLogger(path, bus);
    await log.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('logs only what the filter matches, and several loggers share one bus', async () => {
    const bus = new EventBus();
    const a = new EventLogger(join(t.dir, 'all.jsonl'), bus);
    const b = new EventLogger(join(t.dir, 'ports.jsonl'), bus, { filter: eventType('PortFound') });
    bus.publish(scanStarted('s1', 1, { scanType: 'syn', targetCount: 1, portCount: 1, targets: ['x'], ports: '1' }));
    bus.publish(port(1));
    await Promise.all([a.close(), b.close()]);
    const all = parsed(join(t.dir, 'all.jsonl')).filter((o) => typeof o.seq === 'number');
    const ports = parsed(join(t.dir, 'ports.jsonl')).filter((o) => typeof o.seq === 'number');
    expect(all.map((o) => o.event)).toEqual(['scan_started', 'port_found']);
    expect(ports.map((o) => o.event)).toEqual(['port_found']);
  });

  it('appends a second session to an existing file, each with its own header and footer', async () => {
    const path = join(t.dir, 'scans.jsonl');
    for (const id of ['b1', 'b2']) {
      const bus = new EventBus({ busId: id });
      const log = new EventLogger(path, bus);
      bus.publish(port(1));
      await log.close();
    }
    const events = parsed(path).map((o) => `${String(o.event)}:${String(o.bus_id ?? o.seq ?? '')}`);
    expect(events).toEqual(['log_started:b1', 'port_found:1', 'log_ended:', 'log_started:b2', 'port_found:1', 'log_ended:']);
  });

  it('starts on a new line after a truncated last line left by a killed writer', async () => {
    const path = join(t.dir, 'scans.jsonl');
    writeFileSync(path, '{"event":"log_started","timestamp":"2025-01-01T00:00:00.000Z","version":"1.0","format":1,"bus_id":"x"}\n{"event":"port_fo');
    const bus = new EventBus();
    const log = new EventLogger(path, bus);
    bus.publish(port(1));
    await log.close();
    const lines = fileLines(path);
    expect(lines[1]).toBe('{"event":"port_fo');
    expect(JSON.parse(lines[2]).event).toBe('log_started');
  });

  it('flush() puts buffered events on disk; the periodic flush does too', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { flushIntervalMs: 10 });
    bus.publish(port(1));
    expect(readFileSync(path, 'utf8')).toBe(''); // buffered: below 8 KB and no flush yet
    await log.flush();
    expect(fileLines(path)).toHaveLength(2);
    bus.publish(port(2));
    await until(() => fileLines(path).length === 3, 'the periodic flush');
    await log.close();
  });

  it('writes a full buffer without waiting for the timer', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { bufferSize: 1024, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 100; i++) bus.publish(port(i));
    await until(() => fileLines(path).length > 50, 'the buffer-full write');
    await log.close();
  });

  it('expands ~ and strftime patterns in the file name', async () => {
    const bus = new EventBus();
    const log = new EventLogger(join(t.dir, 'scan-%Y-%m-%d.jsonl'), bus);
    const d = new Date();
    const want = `scan-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.jsonl`;
    expect(log.path).toBe(join(t.dir, want));
    await log.close();
    expect(existsSync(join(t.dir, want))).toBe(true);
    const rel = join(t.dir, 'home.jsonl').replace(homedir(), '~');
    if (rel.startsWith('~')) {
      const l2 = new EventLogger(rel, bus);
      expect(l2.path).toBe(join(t.dir, 'home.jsonl'));
      await l2.close();
    }
  });
});

describe('EventLogger locking', () => {
  it('refuses a second writer of the same file with a clear error', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const a = new EventLogger(path, bus);
    expect(() => new EventLogger(path, bus)).toThrow(LogLockedError);
    try {
      new EventLogger(path, bus);
    } catch (e) {
      expect((e as LogLockedError).code).toBe('ERR_LOG_LOCKED');
      expect((e as Error).message).toContain(`process ${process.pid}`);
    }
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await a.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const b = new EventLogger(path, bus);
    await b.close();
  });

  it('refuses a lock held by another live process, takes over a dead one', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    writeFileSync(`${path}.lock`, '1\n'); // pid 1 is alive
    expect(() => new EventLogger(path, bus)).toThrow(/being written by process 1/);
    writeFileSync(`${path}.lock`, '2147483646\n'); // no such pid
    const log = new EventLogger(path, bus);
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await log.close();
  });
});

describe('EventLogger options and errors', () => {
  it('validates options once, at construction, naming the fix', () => {
    const bus = new EventBus();
    const p = join(t.dir, 'x.jsonl');
    expect(() => new EventLogger(p, bus, { bufferSize: 0 })).toThrow(OptionError);
    expect(() => new EventLogger(p, bus, { fsync: 'always' as never })).toThrow(/fsync must be 'never', 'rotation' or \{ intervalMs: N \}/);
    expect(() => new EventLogger(p, bus, { rotation: { interval: 'monthly' as never } })).toThrow(/hourly/);
    expect(() => new EventLogger(p, bus, { compress: { level: 12 } })).toThrow(/1–9/);
    expect(() => new EventLogger(join(t.dir, 'scan-%Q.jsonl'), bus)).toThrow(/unknown strftime directive %Q/);
    expect(() => new EventLogger(join(t.dir, '%Y', 'x.jsonl'), bus)).toThrow(/file name only/);
    expect(() => new EventLogger(p, bus, { filter: { kind: 'nope' } as never })).toThrow(FilterError);
    expect(() => new EventLogger(p, {} as never)).toThrow(/EventBus/);
    expect(existsSync(`${p}.lock`)).toBe(false);
  });

  it('throws LogOpenError when the directory does not exist', () => {
    const bus = new EventBus();
    const p = join(t.dir, 'missing', 'x.jsonl');
    expect(() => new EventLogger(p, bus)).toThrow(LogOpenError);
  });

  it('counts an event the serializer rejects, warns once, and goes on', async () => {
    const bus = new EventBus();
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus);
    const warnings: ScanEvent[] = [];
    bus.on('WarningIssued', (w) => warnings.push(w));
    const bad = port(1);
    (bad as { port: number }).port = Number.NaN;
    bus.publish(bad);
    bus.publish({ ...port(2) });
    const bad2 = port(3);
    (bad2 as { port: number }).port = Number.POSITIVE_INFINITY;
    bus.publish(bad2);
    const stats = await log.close();
    expect(stats.droppedUnserializable).toBe(2);
    expect(warnings.filter((w) => w.type === 'WarningIssued' && w.code === 'LOG_SERIALIZE_FAILED')).toHaveLength(1);
    expect(parsed(path).some((o) => o.event === 'port_found' && o.port === 3)).toBe(true);
    expect(() => log.startScan('s2')).toThrow(LoggerClosedError);
  });

  it('flushSync() while a write is in flight keeps the order of lines', async () => {
    const bus = new EventBus({ historySize: 0 });
    const path = join(t.dir, 'scans.jsonl');
    const log = new EventLogger(path, bus, { bufferSize: 512 });
    for (let i = 0; i < 200; i++) bus.publish(port(i)); // the first chunk is in flight now
    log.flushSync();
    for (let i = 0; i < 200; i++) bus.publish(port(i));
    log.flushSync();
    await log.close();
    const seqs = parsed(path).filter((o) => typeof o.seq === 'number').map((o) => o.seq as number);
    expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('accepts each fsync policy and still writes everything', async () => {
    for (const fsync of ['never', 'rotation', { intervalMs: 5 }] as const) {
      const bus = new EventBus({ historySize: 0 });
      const path = join(t.dir, `f-${typeof fsync === 'string' ? fsync : 'interval'}.jsonl`);
      const log = new EventLogger(path, bus, { fsync, rotation: { maxBytes: 4096 }, compress: true });
      for (let i = 0; i < 100; i++) bus.publish(port(i));
      await until(() => log.stats().linesWritten > 0, 'a write');
      const stats = await log.close();
      expect(stats.eventsDropped).toBe(0);
      expect(stats.writeErrors).toBe(0);
      expect(stats.rotations).toBeGreaterThan(0);
    }
  });
});
