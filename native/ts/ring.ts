// The consumer side of a native ring: JavaScript reads records in place through a
// zero-copy view of the ring's memory, in batches. One native call per batch releases
// the previous batch and learns how many records are ready; nothing is called or
// allocated per record. A doorbell (a ThreadSafeFunction rung only when the ring goes
// from empty to non-empty) drains the ring when records arrive.
import { getBinding } from './binding.js';
import { RingError } from './errors.js';
import { RECORD_SIZE } from './record.js';

interface NativeRing {
  buffer(): ArrayBuffer;
  sync(consumed: number, clearIfEmpty: boolean): number;
  overflow(): number;
  stats(): RingStats;
  ref(): void;
  unref(): void;
  close(): void;
}

interface NativeProducer {
  done(): boolean;
  produced(): number;
  stop(): void;
  join(): void;
}

export interface RingStats {
  capacity: number;
  /** Records the producer has published. */
  produced: number;
  /** Records the consumer has released. */
  consumed: number;
  /** Records the producer could not push because the ring was full. */
  overflow: number;
  /** Doorbell rings (empty → non-empty transitions that woke JavaScript). */
  wakeups: number;
}

/**
 * A contiguous run of records: record k is at byte `(start + k) * 64` of `bytes`/`view`.
 * The same object is reused for every batch; do not keep it past the handler.
 */
export interface RecordBatch {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  start: number;
  count: number;
}

export interface RecordRingOptions {
  /** Records; a power of two from 2 to 2^31. Memory: 64 bytes each. */
  capacity: number;
  /**
   * Called with each batch when the doorbell rings. Without it the ring is polled with drain().
   */
  onRecords?: (batch: RecordBatch) => void;
  /** Most records handled per wake-up before yielding to the event loop; default 65,536. */
  maxPerWake?: number;
  /** Called if onRecords throws (the batch still counts as consumed); default: rethrow asynchronously. */
  onError?: (err: unknown) => void;
}

const RING_KEY = Symbol('portflow.nativeRing');

export class RecordRing {
  readonly capacity: number;
  /** The ring's memory (zero-copy). Detached, length 0, after close(). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly #native: NativeRing;
  readonly #mask: number;
  readonly #batch: RecordBatch;
  readonly #onRecords: ((batch: RecordBatch) => void) | undefined;
  readonly #maxPerWake: number;
  readonly #onError: (err: unknown) => void;
  #tail = 0;        // records consumed so far (absolute)
  #unreleased = 0;  // records handed out but not yet released to the producer
  #closed = false;
  #scheduled = false;
  #refs = 0;
  readonly #afterDrain = new Set<() => void>();

  constructor(options: RecordRingOptions) {
    const { capacity, onRecords, maxPerWake = 65536, onError } = options ?? ({} as RecordRingOptions);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 2 ** 31 || (capacity & (capacity - 1)) !== 0) {
      throw new RingError('ERR_RING_CAPACITY', `capacity: ${String(capacity)} must be a power of two from 2 to 2^31 (e.g. 65536)`);
    }
    if (onRecords !== undefined && typeof onRecords !== 'function') throw new RingError('ERR_RING_OPTION', 'onRecords: expected a function');
    if (!Number.isInteger(maxPerWake) || maxPerWake < 1) throw new RingError('ERR_RING_OPTION', `maxPerWake: ${String(maxPerWake)} must be a positive integer`);
    const binding = getBinding() as unknown as { RecordRing: new (capacity: number, onReadable?: () => void) => NativeRing };
    this.#onRecords = onRecords;
    this.#maxPerWake = maxPerWake;
    this.#onError = onError ?? ((err) => process.nextTick(() => { throw err; }));
    this.#native = new binding.RecordRing(capacity, onRecords ? () => this.#wake() : undefined);
    this.capacity = capacity;
    this.#mask = capacity - 1;
    const ab = this.#native.buffer();
    this.bytes = new Uint8Array(ab);
    this.view = new DataView(ab);
    this.#batch = { bytes: this.bytes, view: this.view, start: 0, count: 0 };
  }

  /**
   * Hands every ready record to `handler` in contiguous batches (at most `limit` records),
   * releasing each batch to the producer when the next is fetched. Returns the count.
   */
  drain(handler: (batch: RecordBatch) => void, limit = Infinity): number {
    if (this.#closed) return 0;
    const batch = this.#batch;
    let total = 0;
    for (;;) {
      const release = this.#unreleased;
      this.#unreleased = 0;
      const avail = this.#native.sync(release, total < limit);
      if (avail === 0 || total >= limit) {
        // Not releasing more than we read: leave what is ready for the next drain.
        break;
      }
      const slot = this.#tail & this.#mask;
      let n = Math.min(avail, this.capacity - slot);
      if (n > limit - total) n = limit - total;
      batch.start = slot;
      batch.count = n;
      this.#tail += n;
      this.#unreleased = n;
      total += n;
      handler(batch);
    }
    return total;
  }

  /** Records ready to read now (one native call). */
  get readable(): number {
    return this.#closed ? 0 : this.#native.sync(0, false);
  }

  /** Records dropped because the ring was full. */
  get overflow(): number {
    return this.#native.overflow();
  }

  stats(): RingStats {
    return this.#native.stats();
  }

  /** Keep the process alive while a producer is expected to write (counted: ref/unref pair up). */
  ref(): this {
    if (this.#refs++ === 0 && !this.#closed) this.#native.ref();
    return this;
  }

  unref(): this {
    if (this.#refs > 0 && --this.#refs === 0 && !this.#closed) this.#native.unref();
    return this;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops the ring's producer, closes the doorbell and detaches `bytes`/`view`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }

  /** @internal the native handle, for producers in this package. */
  get [RING_KEY](): NativeRing {
    if (this.#closed) throw new RingError('ERR_RING_CLOSED', 'the ring is closed');
    return this.#native;
  }

  #wake(): void {
    if (this.#closed || this.#scheduled) return;
    let n: number;
    try {
      n = this.drain(this.#onRecords!, this.#maxPerWake);
    } catch (err) {
      this.#onError(err);
      n = this.#maxPerWake;  // keep draining on the next turn
    }
    if (n >= this.#maxPerWake && !this.#closed) {
      // More may be waiting and the doorbell stays silent until the ring is seen empty:
      // come back after other I/O has had its turn.
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#wake();
      });
    }
    for (const fn of this.#afterDrain) fn();
  }

  /** @internal called after each doorbell-driven drain (producers use it to notice they are done). */
  onDrained(fn: () => void): () => void {
    this.#afterDrain.add(fn);
    return () => this.#afterDrain.delete(fn);
  }
}

/**
 * @internal The native handle of a ring, for other native producers of this package (the
 * scan job's sender and capture) to pass to C++ (`RingFromJs`). Throws if the ring is closed.
 */
export function nativeRingHandle(ring: RecordRing): object {
  return ring[RING_KEY];
}

export interface TestProducerOptions {
  /** Records to produce (pushed or, when the ring is full, counted as overflow). */
  count: number;
  /** Records per second; 0 (default): as fast as the ring allows. */
  rate?: number;
  /** Records per publish; default 64. */
  batch?: number;
  /** End with a Counters record (sent, overflow). */
  emitCounters?: boolean;
  /** Wait for the consumer when the ring is full instead of dropping (throughput benchmarks). */
  blockWhenFull?: boolean;
  producerId?: number;
}

/**
 * A native thread writing synthetic TCP-reply records (record i has seq = i mod 2^32,
 * ack = floor(i / 2^32)) into a ring at a set rate: for testing and benchmarking the
 * hand-off before the sender and capture exist.
 */
export class TestProducer {
  readonly #native: NativeProducer;
  readonly #ring: RecordRing;
  /** Resolves once the thread has finished and everything it wrote was drained (doorbell rings only). */
  readonly finished: Promise<void>;

  constructor(ring: RecordRing, options: TestProducerOptions) {
    const { count, rate = 0, batch = 64, emitCounters = false, blockWhenFull = false, producerId = 0 } = options ?? ({} as TestProducerOptions);
    if (!Number.isInteger(count) || count < 0 || count > Number.MAX_SAFE_INTEGER) throw new RingError('ERR_RING_OPTION', `count: ${String(count)} must be a non-negative integer`);
    if (typeof rate !== 'number' || !(rate >= 0) || !Number.isFinite(rate)) throw new RingError('ERR_RING_OPTION', `rate: ${String(rate)} must be records per second (0: unpaced)`);
    if (!Number.isInteger(batch) || batch < 1 || batch > 1 << 20) throw new RingError('ERR_RING_OPTION', `batch: ${String(batch)} must be an integer from 1 to 2^20`);
    if (!Number.isInteger(producerId) || producerId < 0 || producerId > 0xffff) throw new RingError('ERR_RING_OPTION', `producerId: ${String(producerId)} must be 0..65535`);
    const binding = getBinding() as unknown as { TestProducer: new (ring: NativeRing, o: object) => NativeProducer };
    this.#ring = ring;
    try {
      this.#native = new binding.TestProducer(ring[RING_KEY], { count, rate, batch, emitCounters, blockWhenFull, producerId });
    } catch (err) {
      throw new RingError('ERR_RING_PRODUCER', (err as Error).message);
    }
    ring.ref();
    this.finished = new Promise((resolve) => {
      const check = () => {
        if (this.#native.done() && (ring.closed || ring.readable === 0)) {
          off();
          ring.unref();
          resolve();
        }
      };
      const off = ring.onDrained(check);
      check();
    });
  }

  get done(): boolean {
    return this.#native.done();
  }

  /** Records produced so far (pushed + overflowed). */
  get produced(): number {
    return this.#native.produced();
  }

  /** Stops the thread and waits for it. */
  stop(): void {
    this.#native.stop();
  }

  /** Blocks this thread until the producer has finished (tests use it to stall the consumer). */
  joinBlocking(): void {
    this.#native.join();
  }

  get ring(): RecordRing {
    return this.#ring;
  }
}
