// Benchmark entry points: native loops that time themselves, and the JS-side drains the
// benchmark suite (benchmarks/) needs. Figures only: nothing here asserts a threshold.
import { getBinding } from './binding.js';
import { RECORD_SIZE } from './record.js';
import { RecordRing, TestProducer, type RecordBatch } from './ring.js';

interface RingBenchBinding {
  ringNativeToNative(records: number, capacity?: number, batch?: number): number;
  threadCpuTimeNs(): number;
}
const ringBench = () => getBinding().bench as unknown as RingBenchBinding;

export interface DrainFigures {
  /** Records delivered to the JS consumer per second of wall time. */
  recordsPerSecond: number;
  delivered: number;
  /** Records the producer dropped because JS had not drained them yet. */
  overflow: number;
}

export interface HandoffOptions {
  /** Producer threads, one ring each (default 1). */
  producers?: number;
  /** Records per second per producer. */
  rate: number;
  /** Seconds each producer runs (default 2). */
  seconds?: number;
  /** Ring capacity per producer (default 65,536). */
  capacity?: number;
  /** Records per producer publish (default 256). */
  batch?: number;
  /** The consumer: called with each batch (decode, publish to a bus, ...). */
  deliver: (batch: RecordBatch) => void;
}

export interface HandoffFigures {
  delivered: number;
  overflow: number;
  wakeups: number;
  /** CPU time of the JS main thread (doorbell, drain and `deliver`) per record delivered. */
  mainThreadNsPerRecord: number;
  wallSeconds: number;
}

export const bench = {
  /** ns per IPv4 SYN crafted (Ethernet, Linux options, 256 slots patched in place). */
  craftSyn(count: number): number {
    return getBinding().bench.craftSyn(count);
  },
  /** ns per frame parsed (SYN-ACK with options, RST, ICMP port unreachable; checksums verified). */
  parse(count: number): number {
    return getBinding().bench.parse(count);
  },
  /** Records per second through a ring between two native threads, published every `batch` records. */
  ringNativeToNative(records: number, capacity = 65536, batch = 256): number {
    return ringBench().ringNativeToNative(records, capacity, batch);
  },
  /** CPU time of the calling thread in ns (CLOCK_THREAD_CPUTIME_ID). */
  threadCpuTimeNs(): number {
    return ringBench().threadCpuTimeNs();
  },
  /**
   * A native producer writing flat out (waiting when the ring is full) while the JS thread
   * polls drain() and reads two fields of every record (kind and port) in place: the JS
   * drain rate.
   */
  ringToJs(records: number, capacity = 1 << 16): DrainFigures {
    const ring = new RecordRing({ capacity });
    try {
      const producer = new TestProducer(ring, { count: records, batch: 256, blockWhenFull: true });
      let delivered = 0;
      let check = 0;
      const handler = (b: RecordBatch) => {
        const v = b.view;
        const bytes = b.bytes;
        const end = (b.start + b.count) * RECORD_SIZE;
        for (let off = b.start * RECORD_SIZE; off < end; off += RECORD_SIZE) check += bytes[off + 1] + v.getUint16(off + 4, true);
        delivered += b.count;
      };
      const t0 = performance.now();
      // Ask the producer whether it is done only when the ring was found empty.
      while (ring.drain(handler) !== 0 || !producer.done || ring.drain(handler) !== 0) {
        // drain again
      }
      const secs = (performance.now() - t0) / 1000;
      producer.stop();
      if (check < 0) throw new Error('unreachable');
      return { recordsPerSecond: delivered / secs, delivered, overflow: ring.overflow };
    } finally {
      ring.close();
    }
  },
  /**
   * Paced producers (one ring each) woken through the doorbell into `deliver` on the main
   * thread; reports the main thread's CPU per delivered record.
   */
  async handoff(options: HandoffOptions): Promise<HandoffFigures> {
    const { producers = 1, rate, seconds = 2, capacity = 1 << 16, batch = 256, deliver } = options;
    const rings: RecordRing[] = [];
    let delivered = 0;
    const onRecords = (b: RecordBatch) => {
      delivered += b.count;
      deliver(b);
    };
    for (let i = 0; i < producers; i++) rings.push(new RecordRing({ capacity, onRecords }));
    const cpu0 = ringBench().threadCpuTimeNs();
    const t0 = performance.now();
    const ps = rings.map((r, i) => new TestProducer(r, { count: Math.round(rate * seconds), rate, batch, producerId: i }));
    await Promise.all(ps.map((p) => p.finished));
    const cpu = ringBench().threadCpuTimeNs() - cpu0;
    const wall = (performance.now() - t0) / 1000;
    let overflow = 0;
    let wakeups = 0;
    for (const r of rings) {
      overflow += r.overflow;
      wakeups += r.stats().wakeups;
      r.close();
    }
    return { delivered, overflow, wakeups, mainThreadNsPerRecord: cpu / Math.max(1, delivered), wallSeconds: wall };
  },
};
