import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, portFound, toJSON, type PortFound } from '@portflow/core';
import { EventLogger } from '@portflow/logger';
import pino from 'pino';
import { consume, hrnow, type AsyncOp } from '../harness.js';
import type { Suite } from '../suite.js';

const POOL = 4096;
const YIELD_EVERY = 10_000; // both sides get the event loop as often as a scan's batches give it

function pool(): PortFound[] {
  const ts = Date.now();
  return Array.from({ length: POOL }, (_, i) => portFound('7f0c6c1e-9f1b-4c55-8f0e-2d7b9c1a0e11', ts, `10.1.${(i >> 8) & 255}.${i & 255}`, 1 + ((i * 7919) % 65535), 'tcp', i % 5 === 0 ? 'closed' : 'open', 'syn-ack', 64));
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
let dir = '';
let round = 0;
function file(name: string): string {
  if (!dir) dir = mkdtempSync(join(tmpdir(), 'pf-bench-logger-'));
  return join(dir, `${name}-${round++}.jsonl`);
}

/** Publish → bytes on disk through @portflow/logger, including close(). */
function portflowOp(n: number): AsyncOp {
  return {
    kind: 'async',
    n,
    run: async (count) => {
      const path = file('portflow');
      const bus = new EventBus({ historySize: 0 });
      // pino's destination buffers without bound: give ours room too, so neither drops.
      const log = new EventLogger(path, bus, { handleExit: false, maxBufferedBytes: 1024 * 1024 * 1024 });
      const events = pool();
      const t0 = hrnow();
      for (let i = 0; i < count; ) {
        const end = Math.min(count, i + YIELD_EVERY);
        for (; i < end; i++) bus.publish(events[i & (POOL - 1)]);
        await tick();
      }
      const stats = await log.close();
      const ns = Number(hrnow() - t0);
      consume(statSync(path).size);
      rmSync(path);
      if (stats.eventsDropped !== 0) throw new Error(`the logger dropped ${stats.eventsDropped} events: the figure would be invalid`);
      return ns;
    },
  };
}

/** pino writing the same objects like for like: no pid/hostname, an ISO time, sonic-boom async with 8 KB minLength. */
function pinoOp(n: number): AsyncOp {
  return {
    kind: 'async',
    n,
    run: async (count) => {
      const path = file('pino');
      const dest = pino.destination({ dest: path, sync: false, minLength: 8192 });
      const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, dest);
      const events = pool();
      await new Promise((r) => dest.once('ready', r));
      const t0 = hrnow();
      let seq = 0;
      for (let i = 0; i < count; ) {
        const end = Math.min(count, i + YIELD_EVERY);
        for (; i < end; i++) {
          const e = events[i & (POOL - 1)];
          e.seq = ++seq; // what the bus does
          logger.info(e);
        }
        await tick();
      }
      await new Promise<void>((resolve, reject) => {
        dest.once('close', () => resolve());
        dest.once('error', reject);
        dest.end();
      });
      const ns = Number(hrnow() - t0);
      consume(statSync(path).size);
      rmSync(path);
      return ns;
    },
  };
}

export const loggerSuite: Suite = {
  name: 'logger',
  description: 'events from publish to bytes on disk, against pino like for like',
  rounds: { full: 3, quick: 3 }, // its ratio's spread across processes was 5% with 5 rounds of 1M events
  cases: [
    {
      id: 'logger.toDisk',
      title: 'publish → bytes on disk (EventLogger, PortFound events, yield every 10,000)',
      unit: 'event',
      make: ({ quick }) => {
        const n = quick ? 200_000 : 300_000;
        return { ours: portflowOp(n), peers: { pino: pinoOp(n) } };
      },
      goals: [
        { kind: 'minPerSec', min: 1e6, text: '≥ 1M events/s to disk' },
        { kind: 'ratio', peer: 'pino', max: 1.0, text: 'faster than pino (≤ 1.0× its time per event)' },
      ],
      guard: ['pino'],
    },
    {
      id: 'logger.serialize',
      title: 'core toJSON alone (the floor under any writer of the wire format)',
      unit: 'event',
      make: () => {
        const events = pool();
        let k = 0;
        return {
          ours: { kind: 'sync', batch: 1024, fn: () => { let c = 0; for (let i = 0; i < 1024; i++) c += toJSON(events[(k++) & (POOL - 1)]).length; consume(c); } },
          peers: { 'JSON.stringify': { kind: 'sync', batch: 1024, fn: () => { let c = 0; for (let i = 0; i < 1024; i++) c += JSON.stringify(events[(k++) & (POOL - 1)]).length; consume(c); } } },
        };
      },
    },
  ],
};
