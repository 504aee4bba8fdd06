import { describe, expect, it } from 'vitest';
import { AbortError, EventBus, StreamOverflowError, all, eventType, portFound, type PortFound } from '../src/index.js';

const pf = (port: number): PortFound => portFound('s', 1000, '10.0.0.1', port, 'tcp', 'open');
const tick = () => new Promise((r) => setImmediate(r));

describe('EventBus.stream', () => {
  it('yields events in order and unsubscribes on break', async () => {
    const bus = new EventBus();
    const s = bus.stream(eventType('PortFound'));
    const got: number[] = [];
    const reader = (async () => {
      for await (const e of s) {
        got.push(e.port);
        if (got.length === 5) break;
      }
    })();
    for (let i = 0; i < 3; i++) bus.publish(pf(i));
    await tick();
    for (let i = 3; i < 8; i++) bus.publish(pf(i));
    await reader;
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(bus.subscriberCount()).toBe(0);
  });

  it('keeps memory bounded under 1M events to a stalled consumer and counts drops exactly (drop-oldest)', async () => {
    const bus = new EventBus({ historySize: 0 });
    const s = bus.stream(all(), { capacity: 1000 });
    const e = pf(1);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) bus.publish(e);
    const heapAfter = process.memoryUsage().heapUsed;
    expect(s.size).toBe(1000);
    expect(s.dropped).toBe(999_000);
    expect(bus.stats().dropped).toBe(999_000);
    expect(heapAfter - heapBefore).toBeLessThan(8 * 1024 * 1024); // the queue is 1,000 slots, whatever was published
    let n = 0;
    const it = s[Symbol.asyncIterator]();
    while (s.size > 0) {
      await it.next();
      n++;
    }
    expect(n).toBe(1000);
    await it.return!();
  });

  it('drop-oldest keeps the newest, drop-newest keeps the oldest', async () => {
    const bus = new EventBus();
    const oldest = bus.stream(all(), { capacity: 3, overflow: 'drop-oldest' });
    const newest = bus.stream(all(), { capacity: 3, overflow: 'drop-newest' });
    for (let i = 0; i < 10; i++) bus.publish(pf(i));
    const read = async (s: typeof oldest) => {
      const out: number[] = [];
      while (s.size) out.push(((await s.next()).value as PortFound).port);
      return out;
    };
    expect(await read(oldest)).toEqual([7, 8, 9]);
    expect(await read(newest)).toEqual([0, 1, 2]);
    expect(oldest.dropped).toBe(7);
    expect(newest.dropped).toBe(7);
    expect(newest.delivered).toBe(3);
  });

  it("overflow 'error' yields what was queued, then throws StreamOverflowError, and unsubscribes", async () => {
    const bus = new EventBus();
    const s = bus.stream(all(), { capacity: 2, overflow: 'error' });
    for (let i = 0; i < 5; i++) bus.publish(pf(i));
    expect(bus.subscriberCount()).toBe(0);
    expect(s.dropped).toBe(1);
    expect(((await s.next()).value as PortFound).port).toBe(0);
    expect(((await s.next()).value as PortFound).port).toBe(1);
    await expect(s.next()).rejects.toBeInstanceOf(StreamOverflowError);
    expect((await s.next()).done).toBe(true);
  });

  it('an AbortSignal rejects a parked read with AbortError and unsubscribes', async () => {
    const bus = new EventBus();
    const ac = new AbortController();
    const s = bus.stream(all(), { signal: ac.signal });
    const p = s.next();
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(bus.subscriberCount()).toBe(0);
    expect((await s.next()).done).toBe(true);
    const pre = new AbortController();
    pre.abort();
    const s2 = bus.stream(all(), { signal: pre.signal });
    await expect(s2.next()).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });

  it('bus.close() ends streams after what they buffered', async () => {
    const bus = new EventBus();
    const s = bus.stream(all());
    bus.publish(pf(1));
    bus.close();
    const got: number[] = [];
    for await (const e of s) got.push((e as PortFound).port);
    expect(got).toEqual([1]);
    const parked = bus.stream(all());
    expect((await parked.next()).done).toBe(true);
  });

  it('replays history into the queue, counting overflow', async () => {
    const bus = new EventBus();
    for (let i = 0; i < 10; i++) bus.publish(pf(i));
    const s = bus.stream(all(), { replay: true, capacity: 4 });
    expect(s.size).toBe(4);
    expect(s.dropped).toBe(6);
    expect(((await s.next()).value as PortFound).port).toBe(6);
    await s.return();
  });

  it('validates its options', () => {
    const bus = new EventBus();
    expect(() => bus.stream(all(), { capacity: 0 })).toThrow(/capacity/);
    expect(() => bus.stream(all(), { overflow: 'grow' as never })).toThrow(/overflow/);
  });
});

describe('EventBus.streamBatches', () => {
  it('yields arrays of everything queued since the last read', async () => {
    const bus = new EventBus();
    const s = bus.streamBatches(eventType('PortFound'), { capacity: 100 });
    for (let i = 0; i < 5; i++) bus.publish(pf(i));
    const first = await s.next();
    expect((first.value as PortFound[]).map((e) => e.port)).toEqual([0, 1, 2, 3, 4]);
    const parked = s.next();
    bus.publish(pf(5));
    expect(((await parked).value as PortFound[]).map((e) => e.port)).toEqual([5]);
    await s.return();
    expect(bus.subscriberCount()).toBe(0);
  });

  it('delivers every event exactly once to a consumer that keeps up when the producer yields between batches', async () => {
    const bus = new EventBus({ historySize: 0 });
    const s = bus.streamBatches(all(), { capacity: 1024 });
    let total = 0, last = 0, ordered = true;
    const consumer = (async () => {
      for await (const batch of s) {
        for (const e of batch) {
          if (e.seq !== last + 1) ordered = false;
          last = e.seq;
        }
        total += batch.length;
        if (total === 100_000) break;
      }
    })();
    for (let b = 0; b < 100; b++) {
      for (let i = 0; i < 1000; i++) bus.publish(pf(i));
      await tick();
    }
    await consumer;
    expect(total).toBe(100_000);
    expect(ordered).toBe(true);
    expect(s.dropped).toBe(0);
  });
});
