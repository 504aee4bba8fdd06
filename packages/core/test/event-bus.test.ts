import { describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  OptionError,
  all,
  and,
  eventType,
  portFound,
  hostDiscovered,
  scanStarted,
  stageChanged,
  target,
  where,
  type PortFound,
  type ScanEvent,
  type Subscription,
} from '../src/index.js';
import { sampleEvents } from './samples.js';

const pf = (port: number, scan = 's', ip = '10.0.0.1'): PortFound => portFound(scan, 1000, ip, port, 'tcp', 'open');

describe('EventBus publish', () => {
  it('assigns strictly increasing seq in place and delivers synchronously', () => {
    const bus = new EventBus();
    const got: number[] = [];
    bus.subscribe(all(), (e) => got.push(e.seq));
    const e1 = pf(1), e2 = pf(2);
    bus.publish(e1);
    expect(got).toEqual([1]);
    bus.publishMany([e2, pf(3)]);
    expect(got).toEqual([1, 2, 3]);
    expect(e1.seq).toBe(1);
    expect(e2.seq).toBe(2);
    expect(bus.lastSeq).toBe(3);
  });

  it('delivers only matching types, and narrows on()', () => {
    const bus = new EventBus();
    const ports: number[] = [];
    const hosts: string[] = [];
    bus.on('PortFound', (e) => ports.push(e.port));
    bus.subscribe(eventType('HostDiscovered'), (e) => hosts.push(e.ip));
    for (const e of sampleEvents()) bus.publish(e);
    expect(ports).toEqual([443, 53]);
    expect(hosts).toEqual(['10.0.0.5', '2001:db8::5']);
  });

  it('never throws, and rejects what is not an event without consuming a seq', () => {
    const bus = new EventBus();
    bus.publish(null as unknown as ScanEvent);
    bus.publish({ type: 'Nope' } as unknown as ScanEvent);
    bus.publish({ type: 'toString' } as unknown as ScanEvent);
    bus.publish(Object.freeze(pf(1)));
    bus.publishMany(42 as unknown as ScanEvent[]);
    expect(bus.stats().rejected).toBe(5);
    expect(bus.lastSeq).toBe(0);
    bus.publish(pf(2));
    expect(bus.lastSeq).toBe(1);
  });

  it('isolates a throwing subscriber: others still receive, failure counted and reported, never published back', () => {
    const onError = vi.fn();
    const bus = new EventBus({ onError });
    const own = vi.fn();
    const seen: number[] = [];
    bus.subscribe(all(), () => { throw new Error('boom'); }, { onError: own });
    bus.subscribe(all(), (e) => seen.push(e.seq));
    bus.publish(pf(1));
    bus.publish(pf(2));
    expect(seen).toEqual([1, 2]);
    expect(bus.stats().subscriberErrors).toBe(2);
    expect(own).toHaveBeenCalledTimes(2);
    expect(onError).toHaveBeenCalledTimes(2);
    expect((onError.mock.calls[0][0] as Error).message).toBe('boom');
    expect(bus.stats().published).toBe(2); // nothing published back
    // A throwing error handler is contained too.
    const bus2 = new EventBus({ onError: () => { throw new Error('again'); } });
    bus2.subscribe(all(), () => { throw new Error('x'); }, { onError: () => { throw new Error('y'); } });
    expect(() => bus2.publish(pf(1))).not.toThrow();
  });

  it('validates options once at construction', () => {
    expect(() => new EventBus({ historySize: -1 })).toThrow(OptionError);
    expect(() => new EventBus({ historySize: 1.5 })).toThrow(/historySize/);
    expect(() => new EventBus({ onError: 3 as never })).toThrow(OptionError);
    const bus = new EventBus();
    expect(() => bus.subscribe(all(), undefined as never)).toThrow(OptionError);
    expect(() => bus.subscribe(all(), () => {}, { replay: -2 })).toThrow(/replay/);
  });
});

describe('EventBus ordering with nested publishes', () => {
  it('queues publishes from handlers so every subscriber sees events in seq order', () => {
    const bus = new EventBus();
    const logs: number[][] = [[], [], [], []];
    // Subscriber 0 republishes twice on each of the first events, nesting deeply.
    let budget = 50;
    bus.subscribe(all(), (e) => {
      logs[0].push(e.seq);
      if (budget > 0) {
        budget--;
        bus.publish(pf(e.seq * 10));
        if (budget-- > 0) bus.publish(pf(e.seq * 10 + 1));
      }
    });
    for (let i = 1; i < 4; i++) bus.subscribe(all(), (e) => logs[i].push(e.seq));
    bus.publish(pf(1));
    const expected = Array.from({ length: bus.lastSeq }, (_, i) => i + 1);
    for (const log of logs) expect(log).toEqual(expected);
    expect(bus.lastSeq).toBeGreaterThan(40);
  });

  it('assigns seq and history when a queued event is dispatched, not when queued', () => {
    const bus = new EventBus();
    const inner = pf(99);
    let seqAtPublish = -1;
    bus.subscribe(eventType('HostDiscovered'), () => {
      bus.publish(inner);
      seqAtPublish = inner.seq;
      expect(bus.getHistory().includes(inner)).toBe(false);
    });
    bus.subscribe(all(), () => {});
    bus.publish(hostDiscovered('s', 1, '10.0.0.1', 'arp', 1));
    expect(seqAtPublish).toBe(0);
    expect(inner.seq).toBe(2);
    expect(bus.getHistory().at(-1)).toBe(inner);
  });

  it('keeps seq monotonic with many subscribers and random nesting (1,000 rounds)', () => {
    const bus = new EventBus({ historySize: 10 });
    let rnd = 12345;
    const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    const lastSeen = new Array(20).fill(0);
    let nested = 0, violations = 0;
    for (let i = 0; i < 20; i++) {
      bus.subscribe(all(), (e) => {
        if (e.seq !== lastSeen[i] + 1) violations++; // strictly increasing and gap-free
        lastSeen[i] = e.seq;
        if (next() % 7 === 0 && nested < 2000) {
          nested++;
          bus.publish(pf(e.seq));
        }
      });
    }
    for (let r = 0; r < 1000; r++) bus.publish(pf(r));
    expect(violations).toBe(0);
    expect(lastSeen.every((s) => s === bus.lastSeq)).toBe(true);
    expect(bus.lastSeq).toBe(1000 + nested);
  });
});

describe('EventBus subscribe and unsubscribe during dispatch', () => {
  it('a subscriber added while event N is dispatched starts at N+1; with replay it gets history up to N: no gap, no duplicate', () => {
    const bus = new EventBus();
    for (let i = 0; i < 5; i++) bus.publish(pf(i));
    const late: number[] = [];
    const lateReplay: number[] = [];
    bus.subscribe(all(), (e) => {
      if (e.seq === 7) {
        bus.subscribe(all(), (x) => late.push(x.seq));
        bus.subscribe(all(), (x) => lateReplay.push(x.seq), { replay: true });
        bus.publish(pf(1000)); // queued: becomes seq 8 after 7 is fully dispatched
      }
    });
    bus.publish(pf(6));
    bus.publish(pf(7));
    bus.publish(pf(8));
    expect(late).toEqual([8, 9]);
    expect(lateReplay).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('replay: n gives the last n matching events', () => {
    const bus = new EventBus();
    for (let i = 0; i < 10; i++) bus.publish(i % 2 ? pf(i) : stageChanged('s', 1, 'PortScanning'));
    const got: number[] = [];
    bus.on('PortFound', (e) => got.push(e.port), { replay: 3 });
    expect(got).toEqual([5, 7, 9]);
  });

  it('unsubscribing inside a handler is safe, also for a later subscriber of the same event', () => {
    const bus = new EventBus();
    const got: string[] = [];
    let b: Subscription | undefined;
    const a = bus.subscribe(all(), (e) => {
      got.push(`a${e.seq}`);
      a.unsubscribe();
      b?.unsubscribe();
    });
    b = bus.subscribe(all(), (e) => got.push(`b${e.seq}`));
    const c = bus.subscribe(all(), (e) => got.push(`c${e.seq}`));
    bus.publish(pf(1));
    bus.publish(pf(2));
    expect(got).toEqual(['a1', 'c1', 'c2']);
    expect(a.active).toBe(false);
    expect(c.delivered).toBe(2);
    expect(bus.subscriberCount()).toBe(1);
    expect(bus.stats().delivered).toBe(3);
  });

  it('indexes by type: a type-filtered subscriber is not called for other types', () => {
    const bus = new EventBus();
    const pred = vi.fn(() => true);
    bus.subscribe(and(eventType('PortFound'), where(pred)), () => {});
    bus.publish(hostDiscovered('s', 1, '10.0.0.1', 'arp', 1));
    bus.publish(scanStarted('s', 1, { scanType: 'syn', targetCount: 1, portCount: 1, targets: [], ports: '1' }));
    expect(pred).not.toHaveBeenCalled();
    bus.publish(pf(1));
    expect(pred).toHaveBeenCalledTimes(1);
  });

  it('filters by target and port at dispatch', () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe(target('10.0.0.0/30'), (e) => got.push((e as PortFound).target));
    bus.publish(pf(1, 's', '10.0.0.2'));
    bus.publish(pf(1, 's', '10.0.0.9'));
    expect(got).toEqual(['10.0.0.2']);
  });
});

describe('EventBus history', () => {
  it('wraps around, keeping the newest historySize events oldest-first', () => {
    const bus = new EventBus({ historySize: 5 });
    for (let i = 1; i <= 12; i++) bus.publish(pf(i));
    expect(bus.getHistory().map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(bus.getHistory(2).map((e) => e.seq)).toEqual([11, 12]);
    expect(bus.getHistory(0)).toEqual([]);
    expect(bus.queryHistory(where((e) => e.seq % 2 === 0)).map((e) => e.seq)).toEqual([8, 10, 12]);
    expect(bus.queryHistory(where((e) => e.seq % 2 === 0), 1).map((e) => e.seq)).toEqual([12]);
    bus.clearHistory();
    expect(bus.getHistory()).toEqual([]);
    bus.publish(pf(13));
    expect(bus.getHistory().map((e) => e.seq)).toEqual([13]);
  });

  it('works with history disabled', () => {
    const bus = new EventBus({ historySize: 0 });
    const got: number[] = [];
    bus.publish(pf(1));
    bus.subscribe(all(), (e) => got.push(e.seq), { replay: true });
    bus.publish(pf(2));
    expect(got).toEqual([2]);
    expect(bus.getHistory()).toEqual([]);
  });

  it('has a busId and stats', () => {
    const a = new EventBus(), b = new EventBus({ busId: 'fixed' });
    expect(a.busId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.busId).toBe('fixed');
    a.subscribe(all(), () => {});
    a.publish(pf(1));
    expect(a.stats()).toMatchObject({ published: 1, delivered: 1, dropped: 0, subscriberErrors: 0, subscribers: 1, historySize: 1 });
  });

  it('close() unsubscribes everyone and ignores later publishes', () => {
    const bus = new EventBus();
    const h = vi.fn();
    bus.subscribe(all(), h);
    bus.close();
    bus.publish(pf(1));
    expect(h).not.toHaveBeenCalled();
    expect(bus.subscriberCount()).toBe(0);
    expect(bus.subscribe(all(), h).active).toBe(false);
  });
});
