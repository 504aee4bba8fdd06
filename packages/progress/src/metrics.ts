import type { ProgressCounters, Stage, Throughput } from '@portflow/core';
import type { EtaReport, ScanState, StageProgress } from './progress-model.js';

/** Counts of what the scan found, from the discovery, detection and diagnostic events. */
export interface FoundCounts {
  /** HostDiscovered events. */
  readonly hostsUp: number;
  /** PortFound / IPv6PortFound with state 'open'. */
  readonly openPorts: number;
  /** Every PortFound / IPv6PortFound (any state). */
  readonly portsReported: number;
  /** ServiceDetected events. */
  readonly services: number;
  /** WarningIssued events. */
  readonly warnings: number;
  /** ScanError events. */
  readonly errors: number;
}

/**
 * What getCurrentMetrics() returns: plain JSON data (no undefined, no
 * functions, no class instances), safe to send to a web page as is.
 */
export interface ProgressMetrics {
  /** The scan, or null for a global aggregator's combined view. */
  readonly scanId: string | null;
  readonly state: ScanState;
  readonly stage: Stage | null;
  /** 1-based position of `stage` among the stages run (0 before the first), and how many run. */
  readonly stageNumber: number;
  readonly stageCount: number;
  /** Whole scan, 0–100, never decreasing; exactly 100 on a completed scan. */
  readonly percentage: number;
  /** Probes with a final state / probes planned, in the current stage. */
  readonly completed: number;
  readonly total: number;
  readonly inFlight: number;
  readonly retriesPending: number;
  readonly waitRemainingMs: number;
  /** The five stages in run order. */
  readonly stages: readonly StageProgress[];
  readonly throughput: Throughput;
  readonly counters: ProgressCounters;
  readonly found: FoundCounts;
  readonly eta: EtaReport;
  /** Running, and nothing advanced for `stallAfterMs` (event time or the aggregator's clock). */
  readonly stalled: boolean;
  /** Active ms (pauses excluded) up to the latest event. */
  readonly elapsedMs: number;
  /** Timestamp of the latest event seen, or null. */
  readonly lastEventAt: number | null;
  /** ProgressUpdates ignored as late (older than one applied) or duplicated. */
  readonly ignoredUpdates: { readonly stale: number; readonly duplicate: number };
  /** Events the aggregator could not use (a malformed ScanStarted, say), and the last one's message. */
  readonly inputErrors: number;
  readonly lastInputError: string | null;
  /** Global view only: every scan tracked, newest last; null for a one-scan aggregator. */
  readonly scans: readonly ProgressMetrics[] | null;
}
