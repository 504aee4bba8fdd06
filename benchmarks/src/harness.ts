import Benchmark from 'benchmark';

/**
 * Two ways to time an operation, both returning nanoseconds per operation:
 * - sync(): benchmark.js, for synchronous micro-operations. Each call of `fn`
 *   performs `batch` operations so the harness's per-call cost is amortised.
 * - async(): our own batched hrtime harness, for streams and end-to-end
 *   figures (benchmark.js's deferred mode adds a large fixed cost per cycle).
 */
export interface SyncOp {
  kind: 'sync';
  /** Operations performed by one call of fn. */
  batch: number;
  fn: () => void;
}

export interface AsyncOp {
  kind: 'async';
  /** Runs `n` operations and resolves with the elapsed nanoseconds. */
  run: (n: number) => Promise<number>;
  /** Operations per measurement. */
  n: number;
  /**
   * Run a tenth of `n` untimed first, and one untimed pass before the first
   * round (default true). False for operations that are whole scans: they
   * take seconds and their code is warm after the first.
   */
  warmup?: boolean;
}

export type Op = SyncOp | AsyncOp;

export interface Timing {
  /** Seconds benchmark.js spends per measurement (quick mode shortens it). */
  maxTime: number;
  /**
   * Seconds per benchmark.js sample (its default is 0.05 s, and it takes at
   * least 5 samples: 0.25 s per measurement whatever maxTime says).
   */
  minTime?: number;
}

export function measureSync(op: SyncOp, timing: Timing): number {
  const b = new Benchmark({ fn: op.fn, maxTime: timing.maxTime, minSamples: 5, initCount: 1, ...(timing.minTime ? { minTime: timing.minTime } : {}) });
  b.run();
  if (b.error) throw b.error;
  return 1e9 / (b.hz * op.batch);
}

export async function measureAsync(op: AsyncOp): Promise<number> {
  if (op.warmup !== false) await op.run(Math.max(1, Math.floor(op.n / 10))); // warm-up
  const ns = await op.run(op.n);
  return ns / op.n;
}

export async function measure(op: Op, timing: Timing): Promise<number> {
  return op.kind === 'sync' ? measureSync(op, timing) : measureAsync(op);
}

export function hrnow(): bigint {
  return process.hrtime.bigint();
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** A value the optimiser cannot prove unused. */
export let sink = 0;
export function consume(x: number): void {
  sink = (sink + x) | 0;
}
