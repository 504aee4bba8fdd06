import type { Op } from './harness.js';

/** A goal stated in RESULTS.md and checked by the guard. */
export type Goal =
  | { kind: 'ratio'; peer: string; max: number; text: string }
  | { kind: 'maxNs'; max: number; text: string }
  | { kind: 'minPerSec'; min: number; text: string };

/** What a case's make() returns: the operations, and what to say about them. */
export interface Made {
  ours: Op;
  peers?: Record<string, Op>;
  /** Facts a reader needs next to the figure (a peer left out and why, what was found). */
  notes?: string[];
  /** Releases what make() set up (a lab, listeners, temporary files); called once after the last round. */
  dispose?: () => void | Promise<void>;
}

/**
 * Thrown by make() when the case cannot run here (no root, a tool missing, a
 * scan type not built yet): the case is reported as "not available" with this
 * reason instead of failing the run.
 */
export class CaseUnavailable extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = 'CaseUnavailable';
    this.reason = reason;
  }
}

export interface BenchCase {
  id: string;
  title: string;
  /** What one operation is (an event published, a filter test, ...). */
  unit: string;
  /** Also show the figure as operations per second (packets/s, records/s). */
  showRate?: boolean;
  /**
   * Builds the operations. Called only in the process that measures this
   * case: each case runs in fresh processes, so one case's event shapes and
   * type feedback never leak into another's figures.
   */
  make: (opts: { quick: boolean }) => Made | Promise<Made>;
  goals?: Goal[];
  /** Ratios to these peers are guarded against the baseline. */
  guard?: string[];
  /** Measurement rounds per process for this case, overriding the suite's. */
  rounds?: { full: number; quick: number };
}

export interface Suite {
  name: string;
  description: string;
  cases: BenchCase[];
  /**
   * Pin the worker to one core (default true). Suites whose figures involve
   * native threads (producers, sender, capture) or other processes (nmap) run
   * unpinned: pinned, those threads would compete with the one they feed.
   */
  pin?: boolean;
  /**
   * A fixed number of worker processes, whatever --processes says: for suites
   * whose every measurement already runs in a fresh process or namespace (a
   * scan), where more workers would only repeat minutes of scans.
   */
  processes?: number;
  /** Measurement rounds per process (default 5, quick 3). */
  rounds?: { full: number; quick: number };
}
