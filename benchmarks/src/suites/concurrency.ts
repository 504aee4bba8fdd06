import { EventBus, portFound } from '@portflow/core';
import { bench, RECORD_SIZE, type RecordBatch } from '@portflow/native';
import { consume, type AsyncOp } from '../harness.js';
import type { Suite } from '../suite.js';

/** Records per second in total, whatever the number of producers: the rate a fast SYN scan's replies reach. */
const TOTAL_RATE = 1_000_000;

/**
 * The consumer a scan has (as native/scripts/bench.mjs): decode each record in
 * place into a PortFound (one clock read per batch) and publish it to a bus
 * with one subscriber.
 */
function consumer(): (b: RecordBatch) => void {
  const bus = new EventBus({ historySize: 1024 });
  bus.on('PortFound', (e) => consume(e.port));
  return (b) => {
    const bytes = b.bytes;
    const v = b.view;
    const end = (b.start + b.count) * RECORD_SIZE;
    const ts = Math.trunc(v.getFloat64(b.start * RECORD_SIZE + 8, true));
    for (let off = b.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      const target = `${bytes[off + 16]}.${bytes[off + 17]}.${bytes[off + 18]}.${bytes[off + 19]}`;
      bus.publish(portFound('bench', ts, target, v.getUint16(off + 4, true), 'tcp', 'open', 'syn-ack', bytes[off + 48]));
    }
  };
}

/**
 * `producers` paced TestProducer threads, one ring each, at TOTAL_RATE ÷
 * producers each, woken by the doorbell: the time is the main thread's CPU
 * (CLOCK_THREAD_CPUTIME_ID: doorbell, drain, decode, publish) for `count`
 * records in total.
 */
function handoff(producers: number, deliver: (b: RecordBatch) => void, overflowed: { records: number }): AsyncOp {
  return {
    kind: 'async',
    n: 0, // set by make()
    warmup: false, // make() warms both sides up with a short run each
    run: async (count) => {
      const f = await bench.handoff({ producers, rate: TOTAL_RATE / producers, seconds: count / TOTAL_RATE, deliver });
      // CPU per record *delivered*: an overflow (the main thread fell behind) does not flatter the figure, and is reported.
      overflowed.records += f.overflow;
      return f.mainThreadNsPerRecord * count;
    },
  };
}

export const concurrencySuite: Suite = {
  name: 'concurrency',
  description: 'two native producer threads, one ring each, feeding one bus, against one producer at the same total rate',
  // Producers need cores of their own, as a sender and a capture thread have.
  pin: false,
  cases: [
    {
      id: 'concurrency.twoProducers',
      title: `main-thread CPU per event delivered, 2 producers × ${TOTAL_RATE / 2e6}M/s (peer: 1 producer × ${TOTAL_RATE / 1e6}M/s), ring → decode → publish → subscriber`,
      unit: 'event',
      make: async ({ quick }) => {
        const deliver = consumer();
        const overflowed = { records: 0 };
        const two = handoff(2, deliver, overflowed);
        const one = handoff(1, deliver, overflowed);
        two.n = one.n = Math.round(TOTAL_RATE * (quick ? 0.3 : 0.5));
        await one.run(TOTAL_RATE / 10);
        await two.run(TOTAL_RATE / 10);
        const notes: string[] = [];
        return {
          ours: two,
          peers: { 'one producer': one },
          notes,
          dispose: () => {
            if (!overflowed.records) return;
            // The count goes to stderr (the runner's console): in RESULTS.md one sentence stands for every process.
            process.stderr.write(`concurrency: ${overflowed.records} records overflowed a ring in this process\n`);
            notes.push('in some rounds records overflowed a ring (the main thread fell behind the producers: load from other processes); figures are per record delivered');
          },
        };
      },
      goals: [{ kind: 'ratio', peer: 'one producer', max: 1.1, text: '≤ 1.1× the main-thread CPU per event of one producer at the same total rate' }],
      // A same-run ratio whose per-process medians moved by under 10% even under load: guarded once a baseline records it.
      guard: ['one producer'],
    },
  ],
};
