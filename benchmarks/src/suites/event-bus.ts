import { EventEmitter, on as eventsOn } from 'node:events';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import mittImport, { type Emitter, type EventType as MittEventType } from 'mitt';
import { Subject } from 'rxjs';
import { EventEmitter as Tseep } from 'tseep';
import { all, and, compileFilter, eventType, not, or, port, portFound, target, type PortFound, type ScanEvent } from '@portflow/core';
import { consume, hrnow, type Op, type SyncOp } from '../harness.js';
import { makeBus, portFounds, scanMix, SCAN } from '../events-fixture.js';
import type { Suite } from '../suite.js';

const B = 1024; // operations per benchmark.js call

// mitt ships ESM whose types describe a CommonJS default: take the function either way.
const mitt = ((mittImport as unknown as { default?: unknown }).default ?? mittImport) as unknown as <E extends Record<MittEventType, unknown>>() => Emitter<E>;

function sync(fn: () => void): SyncOp {
  return { kind: 'sync', batch: B, fn };
}

const handler = (e: { port?: number; seq: number }): void => consume(e.seq);

function publishCase(subs: number): { ours: Op; peers: Record<string, Op> } {
  const evs = portFounds(B);
  const bus = makeBus();
  for (let i = 0; i < subs; i++) bus.on('PortFound', handler);
  const ee = new EventEmitter();
  ee.setMaxListeners(100);
  const ee3 = new EventEmitter3();
  const ts = new Tseep<{ PortFound: (e: PortFound) => void }>();
  const mt = mitt<{ PortFound: PortFound }>();
  const rx = new Subject<PortFound>();
  // node:events with no listener would measure nothing useful: the goal compares with one listener.
  for (let i = 0; i < Math.max(1, subs); i++) {
    ee.on('PortFound', handler);
    ee3.on('PortFound', handler);
    ts.on('PortFound', handler);
    mt.on('PortFound', handler);
    rx.subscribe(handler);
  }
  const peers: Record<string, Op> = {
    'node:events': sync(() => { for (let i = 0; i < B; i++) ee.emit('PortFound', evs[i]); }),
    tseep: sync(() => { for (let i = 0; i < B; i++) ts.emit('PortFound', evs[i]); }),
    eventemitter3: sync(() => { for (let i = 0; i < B; i++) ee3.emit('PortFound', evs[i]); }),
  };
  if (subs !== 0) {
    peers.mitt = sync(() => { for (let i = 0; i < B; i++) mt.emit('PortFound', evs[i]); });
    peers['rxjs Subject'] = sync(() => { for (let i = 0; i < B; i++) rx.next(evs[i]); });
  }
  return { ours: sync(() => { for (let i = 0; i < B; i++) bus.publish(evs[i]); }), peers };
}

function streamOp(batches: boolean, n: number): Op {
  return {
    kind: 'async',
    n,
    run: async (count) => {
      const bus = makeBus();
      const evs = portFounds(256);
      const t0 = hrnow();
      if (batches) {
        const s = bus.streamBatches(eventType('PortFound'), { capacity: 4096 });
        const consumer = (async () => {
          let got = 0;
          for await (const batch of s) {
            for (let i = 0; i < batch.length; i++) consume(batch[i].port);
            got += batch.length;
            if (got >= count) break;
          }
        })();
        for (let sent = 0; sent < count; ) {
          for (let i = 0; i < 256 && sent < count; i++, sent++) bus.publish(evs[i]);
          await new Promise<void>((r) => setImmediate(r));
        }
        await consumer;
      } else {
        const s = bus.stream(eventType('PortFound'), { capacity: 4096 });
        const consumer = (async () => {
          let got = 0;
          for await (const e of s) {
            consume(e.port);
            if (++got >= count) break;
          }
        })();
        for (let sent = 0; sent < count; ) {
          for (let i = 0; i < 256 && sent < count; i++, sent++) bus.publish(evs[i]);
          await new Promise<void>((r) => setImmediate(r));
        }
        await consumer;
      }
      return Number(hrnow() - t0);
    },
  };
}

/** Node's own async iterator over an emitter, consumed the same way: the peer for stream(). */
function nodeOnOp(n: number): Op {
  return {
    kind: 'async',
    n,
    run: async (count) => {
      const ee = new EventEmitter();
      const evs = portFounds(256);
      const ac = new AbortController();
      const t0 = hrnow();
      const consumer = (async () => {
        let got = 0;
        try {
          for await (const [e] of eventsOn(ee, 'PortFound', { signal: ac.signal })) {
            consume((e as PortFound).port);
            if (++got >= count) break;
          }
        } catch {
          // aborted
        }
      })();
      for (let sent = 0; sent < count; ) {
        for (let i = 0; i < 256 && sent < count; i++, sent++) ee.emit('PortFound', evs[i]);
        await new Promise<void>((r) => setImmediate(r));
      }
      await consumer;
      ac.abort();
      return Number(hrnow() - t0);
    },
  };
}

export const eventBusSuite: Suite = {
  // 3 rounds × 5 processes = 15 pairs per ratio: the per-process medians moved as much with 5 rounds (RESULTS of 2026-11-23).
  rounds: { full: 3, quick: 3 },
  name: 'event-bus',
  description: 'EventBus publish, filters, history and streams against node:events, eventemitter3, tseep, mitt and rxjs',
  cases: [
    {
      id: 'publish.noSub',
      title: 'publish, no subscriber, history on (peers: emit to one listener)',
      unit: 'event',
      make: () => {
        const none = publishCase(0);
        return { ours: none.ours, peers: { 'node:events': none.peers['node:events'], tseep: none.peers.tseep } };
      },
      goals: [{ kind: 'ratio', peer: 'node:events', max: 0.3, text: '≤ 0.3× node:events emit to one listener' }],
      guard: ['node:events'],
    },
    {
      id: 'publish.oneSub',
      title: 'publish to one type-filtered subscriber, history on',
      unit: 'event',
      make: () => publishCase(1),
      goals: [
        { kind: 'ratio', peer: 'node:events', max: 0.8, text: '≤ 0.8× node:events' },
        { kind: 'ratio', peer: 'tseep', max: 1.5, text: '≤ 1.5× tseep' },
        { kind: 'minPerSec', min: 20e6, text: '≥ 20M events/s sustained to one subscriber' },
      ],
      guard: ['node:events', 'tseep'],
    },
    {
      id: 'publish.tenSubs',
      title: 'publish to ten type-filtered subscribers',
      unit: 'event',
      make: () => publishCase(10),
      guard: ['node:events'],
    },
    {
      id: 'publish.mix20',
      title: 'all 20 types interleaved as a scan produces them, to one subscriber',
      unit: 'event',
      make: () => {
        const mix = scanMix(B);
        const bus = makeBus();
        bus.subscribe(all(), handler);
        const ee = new EventEmitter();
        const ts = new Tseep();
        for (const t of new Set(mix.map((e) => e.type))) {
          ee.on(t, handler);
          ts.on(t, handler);
        }
        return {
          ours: sync(() => { for (let i = 0; i < B; i++) bus.publish(mix[i]); }),
          peers: {
            'node:events': sync(() => { for (let i = 0; i < B; i++) { const e = mix[i]; ee.emit(e.type, e); } }),
            tseep: sync(() => { for (let i = 0; i < B; i++) { const e = mix[i]; ts.emit(e.type, e); } }),
          },
        };
      },
      goals: [{ kind: 'ratio', peer: 'node:events', max: 1.0, text: '≤ 1.0× node:events emit(e.type, e) over the same mix' }],
      guard: ['node:events'],
    },
    {
      id: 'create.publish',
      title: 'create (factory) and publish to one subscriber',
      unit: 'event',
      make: () => {
        const bus = makeBus();
        bus.on('PortFound', handler);
        const ee = new EventEmitter();
        ee.on('PortFound', handler);
        let n = 0;
        return {
          ours: sync(() => { for (let i = 0; i < B; i++) bus.publish(portFound(SCAN, 1762689602123, '10.0.0.1', (n++) & 1023, 'tcp', 'open', 'syn-ack', 64)); }),
          peers: {
            'node:events': sync(() => { for (let i = 0; i < B; i++) ee.emit('PortFound', portFound(SCAN, 1762689602123, '10.0.0.1', (n++) & 1023, 'tcp', 'open', 'syn-ack', 64)); }),
          },
        };
      },
    },
    {
      id: 'filter.eval',
      title: 'filter evaluation: and(or(types), not(port range), target CIDR) over the scan mix',
      unit: 'test',
      make: () => {
        const mix = scanMix(B);
        const f = compileFilter(and(or(eventType('PortFound', 'IPv6PortFound'), eventType('ServiceDetected')), not(port([0, 20])), target('10.0.0.0/16')));
        return { ours: sync(() => { let m = 0; for (let i = 0; i < B; i++) if (f.test(mix[i])) m++; consume(m); }) };
      },
    },
    {
      id: 'history.query',
      title: 'queryHistory(type + CIDR filter, 100) over a full 1,000-event history',
      unit: 'query',
      make: () => {
        const bus = makeBus(1000);
        for (const e of scanMix(1000)) bus.publish({ ...e } as ScanEvent);
        const f = and(eventType('PortFound'), target('10.0.0.0/24'));
        return { ours: { kind: 'sync', batch: 1, fn: () => consume(bus.queryHistory(f, 100).length) } };
      },
    },
    {
      id: 'stream.e2e',
      title: 'stream() end to end, consumer awaiting each event (producer yields every 256)',
      unit: 'event',
      make: ({ quick }) => {
        const n = quick ? 100_000 : 300_000;
        return { ours: streamOp(false, n), peers: { 'node:events on()': nodeOnOp(n) } };
      },
      goals: [{ kind: 'maxNs', max: 340, text: '≤ 340 ns per event' }],
    },
    {
      id: 'streamBatches.e2e',
      title: 'streamBatches() end to end (producer yields every 256)',
      unit: 'event',
      make: ({ quick }) => ({ ours: streamOp(true, quick ? 400_000 : 1_200_000) }),
      goals: [{ kind: 'maxNs', max: 20, text: '≤ 20 ns per event' }],
    },
  ],
};
