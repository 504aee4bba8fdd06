import type { Op } from './harness.js';

/** A goal stated in RESULTS.md and checked by the guard. */
export type Goal =
  | { kind: 'ratio'; peer: string; max: number; text: string }
  | { kind: 'maxNs'; max: number; text: string }
  | { kind: 'minPerSec'; min: number; text: string };

export interface BenchCase {
  id: string;
  title: string;
  /** What one operation is (an event published, a filter test, ...). */
  unit: string;
  /**
   * Builds the operations. Called only in the process that measures this
   * case: each case runs in fresh processes, so one case's event shapes and
   * type feedback never leak into another's figures.
   */
  make: (opts: { quick: boolean }) => { ours: Op; peers?: Record<string, Op> };
  goals?: Goal[];
  /** Ratios to these peers are guarded against the baseline. */
  guard?: string[];
}

export interface Suite {
  name: string;
  description: string;
  cases: BenchCase[];
}
