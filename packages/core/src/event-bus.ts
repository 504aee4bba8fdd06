import { randomUUID } from 'node:crypto';
import { OptionError } from './errors.js';
import { EVENT_TYPE_COUNT, EVENT_TYPE_ID, type EventOf, type EventType, type ScanEvent } from './events.js';
import { compileFilter, eventType, type EventFilter, type FilteredEvent } from './filter.js';
import { EventStream, type StreamOptions } from './event-stream.js';
import { makeDispatcher, NOOP, type Dispatch } from './dispatcher.js';

export interface EventBusOptions {
  /** Events kept for replay and queries; 0 disables history. Default 1,000. */
  historySize?: number;
  /** Called when a subscriber throws (after its own onError, if any). Never published back into the bus. */
  onError?: (error: unknown, event: ScanEvent, subscription: Subscription) => void;
  /** Identifies this bus (and so this process's seq numbering) in logs. Default: a random UUID. */
  busId?: string;
}

export interface SubscribeOptions<E extends ScanEvent = ScanEvent> {
  /**
   * Deliver matching events from history before live ones: `true` for all of
   * it, a number for at most that many of the most recent. A subscriber added
   * while event N is dispatched gets history up to N, then N+1 live.
   */
  replay?: boolean | number;
  /** Called with what this subscriber's handler threw. */
  onError?: (error: unknown, event: E) => void;
}

export interface Subscription {
  unsubscribe(): void;
  /** Events handed to the handler (for a stream: accepted into its queue). */
  readonly delivered: number;
  /** Events this subscriber dropped (streams on overflow; 0 for handlers). */
  readonly dropped: number;
  readonly active: boolean;
}

export interface BusStats {
  published: number;
  delivered: number;
  dropped: number;
  subscriberErrors: number;
  /** publish() calls whose argument was not an event (unknown type, frozen object...). */
  rejected: number;
  subscribers: number;
  historySize: number;
}

/** @internal One per subscription; the dispatch loop reads only its fields (one hidden class). */
export class Subscriber implements Subscription {
  active = true;
  delivered = 0;
  dropped = 0;
  /** Per-event predicate, or null when the type index alone decides. */
  readonly test: ((e: ScanEvent) => boolean) | null;
  readonly mask: number;

  constructor(
    private readonly bus: EventBus,
    mask: number,
    test: ((e: ScanEvent) => boolean) | null,
    readonly handler: (e: ScanEvent) => void,
    readonly onError: ((error: unknown, event: ScanEvent) => void) | undefined,
    /** Streams end when the bus closes. */
    readonly onClose: (() => void) | undefined,
  ) {
    this.mask = mask;
    this.test = test;
  }

  unsubscribe(): void {
    if (this.active) this.bus._remove(this);
  }
}

const EMPTY: Subscriber[] = [];

/**
 * The in-process event bus. publish() is synchronous and never throws; it
 * assigns `seq`, records the event in history and hands it to every matching
 * subscriber, in seq order for everyone (nested publishes are queued until the
 * current event has reached every subscriber). Semantics: docs/ARCHITECTURE.md.
 */
export class EventBus {
  readonly busId: string;

  #seq = 0;
  /** Per type id, the subscribers that may match; replaced, never mutated (dispatch works on a snapshot). */
  #byType: Subscriber[][];
  /** Per type id, the generated dispatcher for #byType's snapshot (rebuilt lazily after a change). */
  readonly #dispatch: Dispatch[];
  #subs: Subscriber[] = [];
  readonly #histCap: number;
  /** A power-of-two ring holding at least #histCap events; #histPos counts every write since construction. */
  readonly #hist: (ScanEvent | undefined)[];
  readonly #histMask: number;
  #histPos = 0;
  /** #histPos when history was last cleared. */
  #histStart = 0;
  /** 0 idle, 1 dispatching, 2 closed: one compare on the fast path. */
  #state = 0;
  #queue: ScanEvent[] = [];
  #retiredDelivered = 0;
  #retiredDropped = 0;
  #errors = 0;
  #rejected = 0;
  #lastType: string | null = null;
  #lastDispatch: Dispatch = NOOP;
  readonly #report = (s: Subscriber, err: unknown, e: ScanEvent): void => this.#failed(s, err, e);
  readonly #onError: EventBusOptions['onError'];

  constructor(options: EventBusOptions = {}) {
    if (options === null || typeof options !== 'object') throw new OptionError('EventBus options must be an object');
    const h = options.historySize ?? 1000;
    if (!Number.isSafeInteger(h) || h < 0) {
      throw new OptionError(`historySize must be a non-negative integer (0 disables history), got ${String(options.historySize)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new OptionError('onError must be a function');
    if (options.busId !== undefined && (typeof options.busId !== 'string' || options.busId === '')) {
      throw new OptionError('busId must be a non-empty string');
    }
    this.busId = options.busId ?? randomUUID();
    this.#histCap = h;
    const ring = h === 0 ? 0 : 2 ** Math.ceil(Math.log2(h));
    this.#hist = new Array<ScanEvent | undefined>(ring).fill(undefined);
    this.#histMask = ring - 1;
    this.#byType = Array.from({ length: EVENT_TYPE_COUNT }, () => EMPTY);
    this.#dispatch = Array.from({ length: EVENT_TYPE_COUNT }, () => NOOP);
    this.#onError = options.onError;
  }

  /** The seq of the last event dispatched (0 before the first). */
  get lastSeq(): number {
    return this.#seq;
  }

  get closed(): boolean {
    return this.#state === 2;
  }

  publish(event: ScanEvent): void {
    if (this.#state !== 0) {
      if (this.#state === 1) this.#queue.push(event);
      return;
    }
    // #deliver catches everything a subscriber or a bad event can throw: no try/finally needed here.
    this.#state = 1;
    this.#deliver(event);
    if (this.#queue.length !== 0) this.#drain();
    if (this.#state === 1) this.#state = 0;
  }

  publishMany(events: readonly ScanEvent[]): void {
    if (!Array.isArray(events)) {
      this.#rejected++;
      return;
    }
    if (this.#state !== 0) {
      if (this.#state === 1) for (let i = 0; i < events.length; i++) this.#queue.push(events[i]);
      return;
    }
    this.#state = 1;
    for (let i = 0; i < events.length && this.#state === 1; i++) {
      this.#deliver(events[i]);
      if (this.#queue.length !== 0) this.#drain();
    }
    if (this.#state === 1) this.#state = 0;
  }

  #drain(): void {
    const q = this.#queue;
    // Events published by handlers of queued events append to q: FIFO holds. A close() stops the drain.
    for (let i = 0; i < q.length && this.#state === 1; i++) this.#deliver(q[i]);
    q.length = 0;
  }

  #deliver(event: ScanEvent): void {
    let d: Dispatch;
    try {
      const type = event.type;
      // Scans publish runs of one type (PortFound, PortFound, ...): a pointer
      // compare of interned strings skips the keyed lookup.
      if (type === this.#lastType) d = this.#lastDispatch;
      else {
        const id = EVENT_TYPE_ID[type];
        if (typeof id !== 'number') {
          this.#rejected++;
          return;
        }
        d = this.#dispatch[id];
        this.#lastType = type;
        this.#lastDispatch = d;
      }
      event.seq = this.#seq + 1; // throws on a frozen object: rejected below, seq not consumed
    } catch {
      this.#rejected++;
      return;
    }
    this.#seq++;
    if (this.#histCap !== 0) this.#hist[this.#histPos++ & this.#histMask] = event;
    d(event);
  }

  /** Rebuilds a type's dispatcher on its first publish after a subscription change. */
  #invalidate(id: number): void {
    const subs = this.#byType[id];
    const rebuild: Dispatch = (e) => {
      const real = makeDispatcher(subs, this.#report);
      if (this.#dispatch[id] === rebuild) this.#dispatch[id] = real;
      if (this.#lastDispatch === rebuild) this.#lastDispatch = real;
      real(e);
    };
    this.#dispatch[id] = subs.length === 0 ? NOOP : rebuild;
    this.#lastType = null;
  }

  #failed(s: Subscriber, err: unknown, event: ScanEvent): void {
    this.#errors++;
    try {
      s.onError?.(err, event);
    } catch {
      // An error handler that throws has nowhere left to report to.
    }
    try {
      this.#onError?.(err, event, s);
    } catch {
      // Same.
    }
  }

  /**
   * Subscribe `handler` to the events `filter` matches. The handler runs
   * synchronously inside publish(); what it throws is isolated and counted.
   */
  subscribe<F extends EventFilter>(
    filter: F,
    handler: (event: FilteredEvent<F>) => void,
    options: SubscribeOptions<FilteredEvent<F>> = {},
  ): Subscription {
    if (typeof handler !== 'function') throw new OptionError('subscribe() needs a handler function');
    return this._add(filter, handler as (e: ScanEvent) => void, options as SubscribeOptions, undefined);
  }

  /** Subscribe to one event type, with the handler's argument narrowed to it. */
  on<T extends EventType>(type: T, handler: (event: EventOf<T>) => void, options: SubscribeOptions<EventOf<T>> = {}): Subscription {
    return this.subscribe(eventType(type), handler as (e: FilteredEvent<ReturnType<typeof eventType<T>>>) => void, options as SubscribeOptions);
  }

  /** @internal Shared by subscribe() and streams. */
  _add(
    filter: EventFilter,
    handler: (e: ScanEvent) => void,
    options: SubscribeOptions,
    onClose: (() => void) | undefined,
    onCreate?: (s: Subscriber) => void,
  ): Subscriber {
    const compiled = compileFilter(filter);
    const replay = options.replay ?? false;
    if (replay !== true && replay !== false && !(Number.isSafeInteger(replay) && (replay as number) >= 0)) {
      throw new OptionError(`replay must be true, false or a non-negative integer, got ${String(replay)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new OptionError('onError must be a function');
    const s = new Subscriber(this, compiled.mayMask, compiled.exact ? null : compiled.test, handler, options.onError, onClose);
    onCreate?.(s);
    if (this.#state === 2) {
      s.active = false;
      onClose?.();
      return s;
    }
    if (replay !== false) {
      const past = this.queryHistory(filter, replay === true ? Infinity : replay);
      for (const e of past) {
        if (!s.active) break;
        try {
          s.delivered++;
          handler(e);
        } catch (err) {
          this.#failed(s, err, e);
        }
      }
      if (!s.active) return s;
    }
    for (let id = 0; id < EVENT_TYPE_COUNT; id++) {
      if (((compiled.mayMask >>> id) & 1) === 1) {
        this.#byType[id] = [...this.#byType[id], s];
        this.#invalidate(id);
      }
    }
    this.#subs = [...this.#subs, s];
    return s;
  }

  /** @internal */
  _remove(s: Subscriber): void {
    if (!s.active) return;
    s.active = false;
    for (let id = 0; id < EVENT_TYPE_COUNT; id++) {
      if (((s.mask >>> id) & 1) === 1) {
        const next = this.#byType[id].filter((x) => x !== s);
        this.#byType[id] = next.length === 0 ? EMPTY : next;
        this.#invalidate(id);
      }
    }
    this.#subs = this.#subs.filter((x) => x !== s);
    this.#retiredDelivered += s.delivered;
    this.#retiredDropped += s.dropped;
  }

  /**
   * An async iterator over matching events with a bounded queue (see
   * EventStream). A synchronous burst larger than `capacity` drops (per
   * `overflow`) unless the producer yields to the event loop between batches.
   */
  stream<F extends EventFilter>(filter: F, options: StreamOptions = {}): EventStream<FilteredEvent<F>> {
    return new EventStream<FilteredEvent<F>>(this, filter, options, false);
  }

  /** Like stream(), yielding arrays of every event queued since the last read: far cheaper per event. */
  streamBatches<F extends EventFilter>(filter: F, options: StreamOptions = {}): EventStream<FilteredEvent<F>[]> {
    return new EventStream<FilteredEvent<F>[]>(this, filter, options, true);
  }

  get #histLen(): number {
    return Math.min(this.#histPos - this.#histStart, this.#histCap);
  }

  /** The last `n` events (all kept by default), oldest first. */
  getHistory(n = Infinity): ScanEvent[] {
    const count = Math.min(this.#histLen, Math.max(0, Math.floor(n)));
    const out = new Array<ScanEvent>(count);
    const first = this.#histPos - count;
    for (let i = 0; i < count; i++) out[i] = this.#hist[(first + i) & this.#histMask] as ScanEvent;
    return out;
  }

  /** The last `n` history events matching `filter`, oldest first. */
  queryHistory(filter: EventFilter, n = Infinity): ScanEvent[] {
    const test = compileFilter(filter).test;
    const limit = Math.max(0, Math.floor(n));
    const out: ScanEvent[] = [];
    const len = this.#histLen;
    for (let i = 1; i <= len && out.length < limit; i++) {
      const e = this.#hist[(this.#histPos - i) & this.#histMask] as ScanEvent;
      if (test(e)) out.push(e);
    }
    return out.reverse();
  }

  clearHistory(): void {
    this.#hist.fill(undefined);
    this.#histStart = this.#histPos;
  }

  subscriberCount(): number {
    return this.#subs.length;
  }

  stats(): BusStats {
    let delivered = this.#retiredDelivered, dropped = this.#retiredDropped;
    for (const s of this.#subs) {
      delivered += s.delivered;
      dropped += s.dropped;
    }
    return {
      published: this.#seq,
      delivered,
      dropped,
      subscriberErrors: this.#errors,
      rejected: this.#rejected,
      subscribers: this.#subs.length,
      historySize: this.#histLen,
    };
  }

  /** Ends every stream (after what it has buffered) and unsubscribes everyone. Later publishes are ignored. */
  close(): void {
    if (this.#state === 2) return;
    this.#state = 2;
    this.#queue.length = 0;
    for (const s of this.#subs) {
      this._remove(s);
      try {
        s.onClose?.();
      } catch {
        // A stream's close cannot fail; nothing to report to anyway.
      }
    }
  }
}
