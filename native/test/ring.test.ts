import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADDON_PATH, RECORD_SIZE, RecordKind, RecordRing, RingError, TestProducer, decodeRecord, getBinding, type RecordBatch } from '../ts/index.js';
import { nativeRingHandle } from '../ts/ring.js';

const distIndex = new URL('../dist/index.js', import.meta.url).pathname;

// Sequence number of record k of a batch (the test producer writes i into seq/ack).
const seqOf = (b: RecordBatch, k: number) => {
  const off = (b.start + k) * RECORD_SIZE;
  return b.view.getUint32(off + 32, true) + b.view.getUint32(off + 36, true) * 2 ** 32;
};

describe('RecordRing', () => {
  it('validates its options with typed errors', () => {
    for (const capacity of [0, 1, 3, 1000, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => new RecordRing({ capacity })).toThrow(RingError);
    }
    expect(() => new RecordRing({ capacity: 1024, onRecords: 5 as never })).toThrow(/onRecords/);
    const ring = new RecordRing({ capacity: 16 });
    expect(ring.bytes.byteLength).toBe(16 * RECORD_SIZE);
    expect(() => new TestProducer(ring, { count: -1 })).toThrow(/count/);
    expect(() => new TestProducer(ring, { count: 1, rate: -5 })).toThrow(/rate/);
    ring.close();
  });

  it('delivers every record once and in order through the doorbell', async () => {
    const count = 300_000;
    let next = 0;
    let outOfOrder = 0;
    let batches = 0;
    let counters: ReturnType<typeof decodeRecord> | undefined;
    const ring = new RecordRing({
      capacity: 1 << 18,
      onRecords: (b) => {
        batches++;
        for (let k = 0; k < b.count; k++) {
          const off = (b.start + k) * RECORD_SIZE;
          if (b.bytes[off + 1] === RecordKind.Counters) {
            counters = decodeRecord(b.view, off);
            continue;
          }
          if (seqOf(b, k) !== next) outOfOrder++;
          next++;
        }
      },
    });
    // Paced so that a 2^18-record ring never fills, whatever the test runner does meanwhile.
    const producer = new TestProducer(ring, { count, rate: 600_000, batch: 256, emitCounters: true });
    await producer.finished;
    expect(outOfOrder).toBe(0);
    expect(next).toBe(count);
    expect(ring.overflow).toBe(0);
    expect(counters?.counters).toMatchObject({ sent: count, overflow: 0 });
    const stats = ring.stats();
    expect(stats).toMatchObject({ produced: count + 1, consumed: count + 1, overflow: 0 });
    // Coalesced: far fewer wake-ups than records (and than producer batches).
    expect(stats.wakeups).toBeLessThan(count / 256);
    expect(batches).toBeGreaterThan(0);
    ring.close();
  });

  it('counts overflow exactly while JavaScript is stalled, and keeps the oldest records', () => {
    const ring = new RecordRing({ capacity: 1024 });
    const producer = new TestProducer(ring, { count: 10_000, emitCounters: true });
    producer.joinBlocking(); // the JS thread does not drain until the producer is done
    expect(producer.done).toBe(true);
    expect(ring.overflow).toBe(10_000 - 1024 + 1); // + the counters record, which found no room either
    const seqs: number[] = [];
    const n = ring.drain((b) => {
      for (let k = 0; k < b.count; k++) seqs.push(seqOf(b, k));
    });
    expect(n).toBe(1024);
    expect(seqs).toEqual(Array.from({ length: 1024 }, (_, i) => i));
    ring.close();
  });

  it('recovers after overflow: records after the gap arrive in order, counted exactly', () => {
    const ring = new RecordRing({ capacity: 256 });
    const seqs: number[] = [];
    const producer = new TestProducer(ring, { count: 2000, batch: 16 });
    // Drain a little while the producer runs flat out, then everything left.
    while (!producer.done) ring.drain((b) => { for (let k = 0; k < b.count; k++) seqs.push(seqOf(b, k)); });
    ring.drain((b) => { for (let k = 0; k < b.count; k++) seqs.push(seqOf(b, k)); });
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    expect(seqs.length + ring.overflow).toBe(2000);
    ring.close();
  });

  it('a producer that waits when the ring is full loses nothing (backpressure mode)', () => {
    // 1,024 slots: some 50 waits for room, few enough that a busy machine's scheduling cannot stretch the test.
    const ring = new RecordRing({ capacity: 1024 });
    const producer = new TestProducer(ring, { count: 50_000, batch: 32, blockWhenFull: true });
    let next = 0;
    let bad = 0;
    const handler = (b: RecordBatch) => {
      for (let k = 0; k < b.count; k++) if (seqOf(b, k) !== next++) bad++;
    };
    while (!producer.done) ring.drain(handler);
    ring.drain(handler);
    expect(bad).toBe(0);
    expect(next).toBe(50_000);
    expect(ring.overflow).toBe(0);
    ring.close();
  });

  it('wraps around: batches are contiguous and split at the end of the buffer', () => {
    const ring = new RecordRing({ capacity: 8 });
    const seen: Array<[number, number]> = [];
    let expected = 0;
    for (let round = 0; round < 5; round++) {
      const p = new TestProducer(ring, { count: 5 });
      p.joinBlocking();
      p.stop();
      ring.drain((b) => {
        seen.push([b.start, b.count]);
        for (let k = 0; k < b.count; k++) expect(seqOf(b, k)).toBe(expected++ % 5);
      });
    }
    expect(expected).toBe(25);
    expect(seen.every(([s, c]) => s + c <= 8)).toBe(true);
    expect(seen.some(([s]) => s !== 0)).toBe(true);
  });

  it('decodes a record into an object on request', () => {
    const ring = new RecordRing({ capacity: 8 });
    const p = new TestProducer(ring, { count: 3 });
    p.joinBlocking();
    const recs: ReturnType<typeof decodeRecord>[] = [];
    ring.drain((b) => { for (let k = 0; k < b.count; k++) recs.push(decodeRecord(b.view, (b.start + k) * RECORD_SIZE)); });
    expect(recs[2]).toMatchObject({
      kind: 'TcpReply', family: 4, addr: '10.0.0.2', port: 3, localPort: 40000, ttl: 64, proto: 6,
      tcp: { flags: 0x12, window: 65160, windowScale: 7, mss: 1460, seq: 2, ack: 0, optionSignature: 0x42953 },
    });
    expect(Math.abs(recs[0].timeMs - Date.now())).toBeLessThan(60_000);
    ring.close();
  });

  it('decodes every record kind exactly as record.h writes it (the format contract)', () => {
    const ring = new RecordRing({ capacity: 16 });
    (getBinding() as unknown as { writeSampleRecords(h: object): void }).writeSampleRecords(nativeRingHandle(ring));
    const recs: ReturnType<typeof decodeRecord>[] = [];
    ring.drain((b) => { for (let k = 0; k < b.count; k++) recs.push(decodeRecord(b.view, (b.start + k) * RECORD_SIZE)); });
    const t = 1700000000123.5;
    expect(recs).toEqual([
      { kind: 'TcpReply', family: 6, flags: 0x3d, port: 443, localPort: 40000, timeMs: t, addr: '2001:db8::1', ttl: 57, proto: 6, ipId: 0, echoedSend: 123456,
        tcp: { flags: 0x12, window: 65535, windowScale: 7, mss: 1440, seq: 0x11111111, ack: 0x22222222, tsval: 0x33333333, optionSignature: 0x42953 } },
      { kind: 'UdpReply', family: 4, flags: 0, port: 53, localPort: 40001, timeMs: t, addr: '192.0.2.7', ttl: 63, proto: 17, ipId: 4321, echoedSend: 0, count: 42 },
      { kind: 'IcmpError', family: 4, flags: 0, port: 161, localPort: 40002, timeMs: t, addr: '192.0.2.8', ttl: 250, proto: 17, ipId: 77, echoedSend: 0,
        icmp: { type: 3, code: 13, reporter: '198.51.100.1', quotedSeq: 0xdeadbeef } },
      { kind: 'NeighborReply', family: 6, flags: 0x40, port: 0, localPort: 0, timeMs: t, addr: 'fe80::1', ttl: 255, proto: 0, ipId: 0, echoedSend: 0, mac: '02:00:00:00:00:09' },
      { kind: 'NoAnswer', family: 4, flags: 0, port: 22, localPort: 40003, timeMs: t, addr: '192.0.2.9', ttl: 0, proto: 6, ipId: 0, echoedSend: 0, count: 2 },
      { kind: 'RetriesSent', family: 0, flags: 0, port: 0, localPort: 0, timeMs: t, ttl: 0, proto: 0, ipId: 0, echoedSend: 0, count: 1000 },
      { kind: 'Counters', family: 0, flags: 0, timeMs: t, counters: { producerId: 3, sent: 10, received: 5, retries: 2, overflow: 1, parseErrors: 0, kernelDrops: 4 } },
      { kind: 'IcmpReply', family: 4, flags: 0, port: 0, localPort: 0, timeMs: t, addr: '192.0.2.10', ttl: 64, proto: 1, ipId: 0, echoedSend: 999,
        icmp: { type: 0, code: 0, id: 7, seq: 9 } },
    ]);
    ring.close();
  });

  it('allows one producer per ring', () => {
    const ring = new RecordRing({ capacity: 64 });
    const a = new TestProducer(ring, { count: 1_000_000, rate: 1000 });
    expect(() => new TestProducer(ring, { count: 1 })).toThrow(/already has a producer/);
    a.stop();
    ring.close();
  });

  it('close() stops the producer and detaches the view', () => {
    const ring = new RecordRing({ capacity: 64, onRecords: () => {} });
    const p = new TestProducer(ring, { count: 1e9, rate: 1e5 });
    ring.close();
    expect(p.done || p.produced < 1e9).toBe(true);
    expect(ring.bytes.byteLength).toBe(0); // detached
    expect(ring.drain(() => {})).toBe(0);
    expect(() => new TestProducer(ring, { count: 1 })).toThrow(RingError);
  });
});

describe('process and worker lifecycle', { timeout: 60_000 }, () => {
  const run = (src: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 45_000 });

  it('the process exits by itself while a ring with a doorbell sits idle', () => {
    const r = run(`
      import { RecordRing, TestProducer } from ${JSON.stringify(distIndex)};
      let got = 0;
      const ring = new RecordRing({ capacity: 65536, onRecords: (b) => { got += b.count; } });
      const p = new TestProducer(ring, { count: 20000, rate: 200000 });
      await p.finished;
      console.log('drained', got + ring.overflow);
      // ring deliberately left open and idle: the doorbell must not hold the process
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('drained 20000');
    expect(r.status).toBe(0);
    expect(r.signal).toBeNull();
  });

  it('process.exit() while a producer is mid-stream does not crash', () => {
    const r = run(`
      import { RecordRing, TestProducer } from ${JSON.stringify(distIndex)};
      const ring = new RecordRing({ capacity: 1024, onRecords: () => {} });
      new TestProducer(ring, { count: 1e12, rate: 1e6 });
      setTimeout(() => process.exit(7), 100);
    `);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(7);
  });

  it('Ctrl-C (SIGINT) mid-stream ends the process cleanly, with and without a handler', async () => {
    for (const handler of [true, false]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
        import { RecordRing, TestProducer } from ${JSON.stringify(distIndex)};
        ${handler ? "process.on('SIGINT', () => process.exit(130));" : ''}
        let got = 0;
        const ring = new RecordRing({ capacity: 4096, onRecords: (b) => {
          if (got === 0) console.log('ready');
          got += b.count;
        } });
        new TestProducer(ring, { count: 1e12, rate: 1e6 });
      `], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('ready')) child.kill('SIGINT');
      });
      child.stderr.on('data', (d: Buffer) => { err += d; });
      const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.once('exit', (c, s) => res([c, s])));
      expect(err).toBe('');
      if (handler) expect([code, signal]).toEqual([130, null]);
      else expect([code, signal]).toEqual([null, 'SIGINT']);
    }
  });

  it('workers that load the addon and exit or are terminated mid-stream do not crash', () => {
    const r = run(`
      import { Worker } from 'node:worker_threads';
      const src = \`
        const { parentPort } = require('node:worker_threads');
        import(${JSON.stringify(distIndex)}).then(({ RecordRing, TestProducer }) => {
          let got = 0, armed = false;
          // Exit (or be terminated) mid-stream: 20 ms after the first batch arrived.
          const ring = new RecordRing({ capacity: 1024, onRecords: (b) => {
            got += b.count;
            if (armed) return;
            armed = true;
            setTimeout(() => { parentPort.postMessage(got); if (process.env.SELF_EXIT) process.exit(0); }, 20);
          } });
          new TestProducer(ring, { count: 1e12, rate: 2e6 });
        });
      \`;
      let ok = 0;
      for (let i = 0; i < 6; i++) {
        const w = new Worker(src, { eval: true, execArgv: [], env: i % 2 ? { SELF_EXIT: '1' } : {} });
        // Listen for 'exit' first: a worker that exits right after posting emits both in one tick.
        const exited = new Promise((res) => w.once('exit', res));
        const got = await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
        if (i % 2 === 0) await w.terminate();
        await exited;
        if (got > 0) ok++;
      }
      console.log('workers', ok);
    `);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workers 6');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });

  it('the raw addon loads and unloads in a worker with a live producer (no JS wrapper)', () => {
    const r = run(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(\`
        const b = require(${JSON.stringify(DEFAULT_ADDON_PATH)});
        const ring = new b.RecordRing(256, () => {});
        new b.TestProducer(ring, { count: 1e12, rate: 1e7 });
        setTimeout(() => process.exit(0), 30);
      \`, { eval: true, execArgv: [] });
      w.on('exit', (c) => console.log('exit', c));
    `);
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('exit 0');
  });
});
