import { eventType, OptionError, type EventBus, type ScanEvent, type Subscription } from '@portflow/core';
import { combineMetrics } from './combine-metrics.js';
import { positiveNumber, ProgressOptionError, ProgressStateError } from './errors.js';
import type { ProgressMetrics } from './metrics.js';
import type { EstimatorChoice } from './progress-model.js';
import { ScanTracker } from './scan-tracker.js';

export interface ProgressAggregatorOptions {
  /** Sliding window of the throughput figures, ms of scan time. Default 5,000. */
  windowMs?: number;
  /** EWMA time constant, ms. Default ≈ 4,481 (α = 0.2 at one update per second). */
  tauMs?: number;
  /** The ETA reported as `eta.ms`. Default 'auto'. */
  estimator?: EstimatorChoice;
  /** A running scan with no progress for this long is `stalled`. Default 30,000 ms. */
  stallAfterMs?: number;
  /**
   * "Now", for stall detection while live only (every rate and ETA comes from
   * event timestamps). Default Date.now.
   */
  clock?: () => number;
  /** Also feed events already in the bus's history (true, or at most this many). Default false. */
  replay?: boolean | number;
  /** Global view: finished scans (and scans seen only through stray events, never started) kept; older ones are dropped. Default 32. */
  maxFinishedScans?: number;
}

/** The events the aggregator reads; the bus never calls it for the others. */
const WATCHED = eventType(
  'ScanStarted', 'ScanCompleted', 'ScanCancelled', 'ScanPaused', 'ScanResumed', 'ScanError',
  'HostDiscovered', 'PortFound', 'IPv6PortFound', 'ServiceDetected', 'ProgressUpdate', 'StageChanged', 'WarningIssued',
);

interface Resolved {
  windowMs: number;
  tauMs: number | undefined;
  estimator: EstimatorChoice | undefined;
  stallAfterMs: number;
  clock: () => number;
  replay: boolean | number;
  maxFinishedScans: number;
}

/**
 * Follows a scan (or every scan) on the bus and keeps its progress metrics:
 * percentage, per-stage progress, throughput, ETA and found counts. Driven by
 * events only; it never reaches into a scanner.
 */
export class ProgressAggregator {
  /** The scan followed, or null for the global view. */
  readonly scanId: string | null;
  readonly #opts: Resolved;
  readonly #sub: Subscription;
  readonly #one: ScanTracker | null;
  readonly #scans = new Map<string, ScanTracker>();
  #lastId: string | null = null;
  #lastTracker: ScanTracker | null = null;
  #closed = false;

  constructor(bus: EventBus, scanId: string, options?: ProgressAggregatorOptions);
  /** @internal global() passes null. */
  constructor(bus: EventBus, scanId: string | null, options?: ProgressAggregatorOptions);
  constructor(bus: EventBus, scanId: string | null, options: ProgressAggregatorOptions = {}) {
    if (bus === null || typeof bus !== 'object' || typeof (bus as { subscribe?: unknown }).subscribe !== 'function') {
      throw new ProgressOptionError('ProgressAggregator needs an EventBus from @portflow/core as its first argument');
    }
    if (scanId !== null && (typeof scanId !== 'string' || scanId === '')) {
      throw new ProgressOptionError(`ProgressAggregator needs the scan's id (a non-empty string), got ${JSON.stringify(scanId)}; use ProgressAggregator.global(bus) for every scan`);
    }
    this.#opts = resolve(options);
    this.scanId = scanId;
    this.#one = scanId === null ? null : this.#tracker(scanId);
    try {
      const handler = scanId === null ? this.#onGlobal : this.#onScan;
      this.#sub = bus.subscribe(WATCHED, handler, { replay: this.#opts.replay });
    } catch (err) {
      if (err instanceof OptionError) throw new ProgressOptionError(err.message);
      throw err;
    }
  }

  /** One view of every scan on the bus: totals summed, the ETA of the slowest. */
  static global(bus: EventBus, options: ProgressAggregatorOptions = {}): ProgressAggregator {
    return new ProgressAggregator(bus, null, options);
  }

  /** Totals before the first ProgressUpdate (they otherwise come from ScanStarted). Updates override them. */
  start(totalTargets: number, totalPorts: number): void {
    if (this.#one === null) {
      throw new ProgressStateError('start(totalTargets, totalPorts) sets one scan\'s totals; a global aggregator takes each scan\'s from its ScanStarted');
    }
    this.#one.plan(totalTargets, totalPorts);
  }

  /** The metrics now: synchronous, a fresh JSON-serializable object. */
  getCurrentMetrics(): ProgressMetrics {
    const now = this.#opts.clock();
    if (this.#one !== null) return this.#one.metrics(now);
    const list: ProgressMetrics[] = [];
    for (const t of this.#scans.values()) list.push(t.metrics(now));
    return combineMetrics(list);
  }

  /** Stops listening; the last metrics stay readable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.unsubscribe();
  }

  get closed(): boolean {
    return this.#closed;
  }

  // Arrow properties: one closure per aggregator, none per event.
  readonly #onScan = (e: ScanEvent): void => {
    if (e.scanId === this.scanId) (this.#one as ScanTracker).handle(e);
  };

  readonly #onGlobal = (e: ScanEvent): void => {
    const id = e.scanId;
    let t: ScanTracker | null | undefined = id === this.#lastId ? this.#lastTracker : this.#scans.get(id);
    let added = false;
    if (t === undefined || t === null) {
      if (typeof id !== 'string' || id === '') return; // not an event of any scan
      t = this.#tracker(id);
      this.#scans.set(id, t);
      added = true;
    }
    this.#lastId = id;
    this.#lastTracker = t;
    if (t.handle(e) || added) this.#trim();
  };

  #tracker(id: string): ScanTracker {
    const o = this.#opts;
    return new ScanTracker(id, { windowMs: o.windowMs, tauMs: o.tauMs, estimator: o.estimator }, o.stallAfterMs, o.clock);
  }

  /** Drops the oldest finished scans beyond maxFinishedScans: a long-lived global view stays bounded. */
  #trim(): void {
    let finished = 0;
    for (const t of this.#scans.values()) if (isFinished(t)) finished++;
    if (finished <= this.#opts.maxFinishedScans) return;
    for (const [id, t] of this.#scans) {
      if (finished <= this.#opts.maxFinishedScans) break;
      if (!isFinished(t)) continue;
      this.#scans.delete(id);
      if (this.#lastId === id) {
        this.#lastId = null;
        this.#lastTracker = null;
      }
      finished--;
    }
  }
}

/** Finished, or never started (only stray events of it were seen): may be dropped from a global view. */
function isFinished(t: ScanTracker): boolean {
  const s = t.model.state;
  return s === 'completed' || s === 'cancelled' || s === 'failed' || s === 'idle';
}

function resolve(o: ProgressAggregatorOptions): Resolved {
  if (o === null || typeof o !== 'object') throw new ProgressOptionError('ProgressAggregator options must be an object');
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new ProgressOptionError('clock must be a function returning epoch milliseconds');
  const est = o.estimator;
  if (est !== undefined && est !== 'auto' && est !== 'linear' && est !== 'ewma' && est !== 'multiStage') {
    throw new ProgressOptionError(`estimator must be 'auto', 'linear', 'ewma' or 'multiStage', got ${JSON.stringify(est)}`);
  }
  const max = o.maxFinishedScans ?? 32;
  if (!Number.isSafeInteger(max) || max < 0) throw new ProgressOptionError(`maxFinishedScans must be a non-negative integer, got ${String(o.maxFinishedScans)}`);
  return {
    windowMs: positiveNumber('windowMs', o.windowMs, 5000),
    tauMs: o.tauMs === undefined ? undefined : positiveNumber('tauMs', o.tauMs, 1),
    estimator: est,
    stallAfterMs: positiveNumber('stallAfterMs', o.stallAfterMs, 30_000),
    clock: o.clock ?? Date.now,
    replay: o.replay ?? false,
    maxFinishedScans: max,
  };
}
