// The contract between the scan (events, results, checkpoints, progress) and
// an engine (how probes are sent and answers classified). The connect engine
// is the first; SYN and UDP engines plug in here with the same host.
import type { ScanJob } from '../job.js';
import type { ScanControl } from '../scan-control.js';
import type { ResolvedScanOptions, ScanType } from '../scan-options.js';

/** Live counters an engine keeps up to date; the scan reads them for ProgressUpdates. Cumulative over the run. */
export interface EngineCounters {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  retriesSent: number;
  /** Probes sent and awaiting an answer or their timeout. */
  inFlight: number;
  /** Probes that will be resent. */
  retriesPending: number;
}

/** What the scan gives an engine. */
export interface EngineHost {
  readonly job: ScanJob;
  readonly options: ResolvedScanOptions;
  readonly control: ScanControl;
  readonly counters: EngineCounters;
  /**
   * True when a resumed scan's interrupted run already reported this
   * position: the engine must not probe it, only pass it to `skip`.
   */
  isReported(position: number): boolean;
  /** Marks an already-reported position as done without probing it. */
  skip(position: number): void;
  /**
   * The final state of the probe at `position` (state: STATE_CODE; reason:
   * reasonCode()). Called once per position; the scan batches the events.
   */
  /** `seenAtMs`: when the reply behind this result was captured (record timeMs), for the ring→subscriber latency metric; omitted for timeouts. */
  report(position: number, address: string, port: number, udp: boolean, state: number, reason: number, ttl: number | undefined, seenAtMs?: number): void;
  /** A resend was scheduled (the scan samples these into RetryScheduled events). */
  retryScheduled(address: string, port: number, attempt: number, maxAttempts: number, delayMs: number): void;
  warn(message: string, code: string, target?: string, port?: number): void;
}

export interface EngineMetric {
  readonly metric: string;
  readonly value: number;
  readonly unit: string | undefined;
}

export interface ScanEngine {
  readonly type: ScanType;
  /**
   * Walks the job until every position has a final state or the scan is
   * cancelled; rejects on a fatal error. Honors host.control: no probe is
   * sent while paused.
   */
  run(host: EngineHost): Promise<void>;
  /** How long the scan will still wait for answers after the last send, ms. */
  waitRemainingMs(): number;
  /** Engine figures for MetricRecorded (timeouts, round trips, concurrency). */
  metrics(): readonly EngineMetric[];
}
