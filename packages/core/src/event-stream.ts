import { AbortError, OptionError, StreamOverflowError } from './errors.js';
import type { ScanEvent } from './events.js';
import type { EventFilter } from './filter.js';
import type { EventBus, Subscriber } from './event-bus.js';

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

export interface StreamOptions {
  /** Most events queued at once; the queue never grows past it. Default 1,024. */
  capacity?: number;
  /** What a full queue does with one more event. Default 'drop-oldest'. */
  overflow?: OverflowPolicy;
  /** Aborting ends the stream: a pending or the next read rejects with AbortError, then the stream is done. */
  signal?: AbortSignal;
  /** Start with matching history (true, or at most n events). */
  replay?: boolean | number;
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

/**
 * A hand-written async iterator over bus events (an async generator costs
 * more per event, ../shared/FACTS.md). The bus pushes into a fixed ring; a
 * read takes one event (or, for batches, everything queued). Drops are
 * counted exactly in `dropped`.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly #batch: boolean;
  readonly #ring: (ScanEvent | undefined)[];
  #head = 0;
  #size = 0;
  #sub!: Subscriber;
  #waiting: ((r: IteratorResult<T>) => void) | null = null;
  #waitingReject: ((e: unknown) => void) | null = null;
  /** Set once the stream will yield nothing more after its buffer. */
  #ended = false;
  #error: Error | null = null;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | null = null;

  constructor(bus: EventBus, filter: EventFilter, options: StreamOptions, batch: boolean) {
    if (options === null || typeof options !== 'object') throw new OptionError('stream options must be an object');
    const cap = options.capacity ?? 1024;
    if (!Number.isSafeInteger(cap) || cap < 1) throw new OptionError(`capacity must be a positive integer, got ${String(options.capacity)}`);
    const overflow = options.overflow ?? 'drop-oldest';
    if (overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'error') {
      throw new OptionError(`overflow must be 'drop-oldest', 'drop-newest' or 'error', got ${JSON.stringify(overflow)}`);
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new OptionError('signal must be an AbortSignal');
    this.capacity = cap;
    this.overflow = overflow;
    this.#batch = batch;
    this.#ring = new Array<ScanEvent | undefined>(cap).fill(undefined);
    this.#signal = options.signal;
    if (options.signal?.aborted) {
      this.#error = new AbortError({ cause: options.signal.reason });
      this.#ended = true;
      this.#sub = bus._add(filter, () => undefined, {}, undefined);
      this.#sub.unsubscribe();
      return;
    }
    // onCreate hands us the subscriber before replay runs, so replayed overflow is counted on it.
    bus._add(filter, (e) => this.#push(e), { replay: options.replay }, () => this.#finish(), (s) => {
      this.#sub = s;
    });
    if (options.signal) {
      this.#onAbort = () => this.#abort();
      options.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Events dropped so far (exact). */
  get dropped(): number {
    return this.#sub.dropped;
  }

  /** Events accepted into the queue so far. */
  get delivered(): number {
    return this.#sub.delivered;
  }

  /** Events queued and not yet read. */
  get size(): number {
    return this.#size;
  }

  #push(e: ScanEvent): void {
    const w = this.#waiting;
    if (w !== null) {
      // A reader is parked, so the queue is empty: hand the event straight over.
      this.#waiting = null;
      this.#waitingReject = null;
      w({ value: (this.#batch ? [e] : e) as T, done: false });
      return;
    }
    const cap = this.capacity;
    if (this.#size === cap) {
      const sub = this.#sub;
      if (this.overflow === 'drop-newest') {
        sub.delivered--;
        sub.dropped++;
        return;
      }
      if (this.overflow === 'error') {
        sub.delivered--;
        sub.dropped++;
        this.#error = new StreamOverflowError(cap);
        this.#finish();
        return;
      }
      // drop-oldest
      this.#ring[this.#head] = undefined;
      if (++this.#head === cap) this.#head = 0;
      this.#size--;
      sub.dropped++;
    }
    let tail = this.#head + this.#size;
    if (tail >= cap) tail -= cap;
    this.#ring[tail] = e;
    this.#size++;
  }

  #shift(): ScanEvent {
    const e = this.#ring[this.#head] as ScanEvent;
    this.#ring[this.#head] = undefined;
    if (++this.#head === this.capacity) this.#head = 0;
    this.#size--;
    return e;
  }

  #take(): T {
    if (!this.#batch) return this.#shift() as T;
    const out = new Array<ScanEvent>(this.#size);
    for (let i = 0; i < out.length; i++) out[i] = this.#shift();
    return out as T;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#size !== 0) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#error !== null) {
      const err = this.#error;
      this.#error = null;
      this.#ended = true;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.#waiting = resolve;
      this.#waitingReject = reject;
    });
  }

  /** Stop: unsubscribe and discard what is queued (what `break` in for-await calls). */
  return(): Promise<IteratorResult<T>> {
    this.#finish();
    this.#ring.fill(undefined);
    this.#size = 0;
    this.#error = null;
    return Promise.resolve(DONE);
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  /** End after what is already queued. */
  close(): void {
    this.#finish();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #abort(): void {
    this.#ring.fill(undefined);
    this.#size = 0;
    this.#error = new AbortError({ cause: this.#signal?.reason });
    this.#finish();
  }

  /** Unsubscribe; wake a parked reader with the error or done. */
  #finish(): void {
    if (this.#onAbort !== null) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = null;
    }
    this.#sub.unsubscribe();
    this.#ended = true;
    const w = this.#waiting, r = this.#waitingReject;
    this.#waiting = null;
    this.#waitingReject = null;
    if (w !== null) {
      if (this.#error !== null && r !== null) {
        const err = this.#error;
        this.#error = null;
        r(err);
      } else w(DONE);
    }
  }
}
