import { SCAN_OUTCOMES, type ScanEvent, type ScanStarted, type Stage } from '@portflow/core';
import type { ProgressMetrics } from './metrics.js';
import { ProgressModel, type ProgressModelOptions } from './progress-model.js';
import { stagesFromOptions } from './stage-weights.js';

/** @internal The aggregator's state for one scan: the progress model plus counts of what was found. */
export class ScanTracker {
  readonly model: ProgressModel;
  hostsUp = 0;
  openPorts = 0;
  portsReported = 0;
  services = 0;
  warnings = 0;
  errors = 0;
  inputErrors = 0;
  lastInputError: string | null = null;
  lastEventTs = -Infinity;
  /** Clock time of the latest progress seen (stall detection while live). */
  #progressClock: number;
  #seenProgressSeq = 0;
  #foundSig = 0;

  constructor(
    readonly scanId: string,
    options: ProgressModelOptions,
    readonly stallAfterMs: number,
    readonly clock: () => number,
  ) {
    this.model = new ProgressModel(options);
    this.#progressClock = clock();
  }

  /**
   * Hot path: counting events allocates nothing; the model sees only the rare
   * lifecycle and progress events. Returns true when the scan ended with this event.
   */
  handle(e: ScanEvent): boolean {
    if (e.timestamp > this.lastEventTs) this.lastEventTs = e.timestamp;
    switch (e.type) {
      case 'PortFound':
      case 'IPv6PortFound':
        this.portsReported++;
        if (e.state === 'open') this.openPorts++;
        return false;
      case 'HostDiscovered':
        this.hostsUp++;
        return false;
      case 'ServiceDetected':
        this.services++;
        return false;
      case 'WarningIssued':
        this.warnings++;
        return false;
      case 'ScanError':
        this.errors++;
        return false;
      case 'ProgressUpdate':
        this.model.update(e.timestamp, e);
        this.#checkProgress();
        return false;
      case 'StageChanged':
        this.model.enterStage(e.timestamp, e.newStage);
        this.#checkProgress();
        return false;
      case 'ScanStarted':
        this.#started(e);
        return false;
      case 'ScanCompleted': {
        let outcome = e.outcome;
        if (!SCAN_OUTCOMES.includes(outcome)) {
          this.#inputError(`ScanCompleted of scan ${e.scanId} has outcome ${JSON.stringify(outcome)}; expected completed, cancelled or failed (taken as failed)`);
          outcome = 'failed';
        }
        this.model.finish(e.timestamp, outcome);
        return true;
      }
      case 'ScanCancelled':
        this.model.finish(e.timestamp, 'cancelled');
        return true;
      case 'ScanPaused':
        this.model.pause(e.timestamp);
        return false;
      case 'ScanResumed':
        this.model.resume(e.timestamp);
        this.#progressClock = this.clock(); // the stall clock restarts with the scan
        return false;
      default:
        return false;
    }
  }

  /** start(totalTargets, totalPorts): totals before the first update; they replace ScanStarted's. */
  plan(targets: number, ports: number): void {
    this.model.setPlannedTotals(targets, ports, 0, true);
  }

  #started(e: ScanStarted): void {
    if (!Number.isFinite(e.timestamp)) {
      this.#inputError(`ScanStarted of scan ${e.scanId} has timestamp ${String(e.timestamp)}; expected epoch milliseconds (event ignored)`);
      return;
    }
    let stages: Stage[] | undefined;
    try {
      stages = stagesFromOptions(e.options);
    } catch (err) {
      this.#inputError(`${(err as Error).message} (scan ${e.scanId}: all five stages assumed)`);
    }
    this.model.start(e.timestamp, stages);
    try {
      this.model.setPlannedTotals(e.targetCount, e.portCount, Array.isArray(e.targets) ? e.targets.length : 0);
    } catch (err) {
      this.#inputError(`ScanStarted of scan ${e.scanId}: ${(err as Error).message}; totals will come from ProgressUpdates`);
    }
    this.#progressClock = this.clock();
  }

  #inputError(message: string): void {
    this.inputErrors++;
    this.lastInputError = message;
  }

  #checkProgress(): void {
    const seq = this.model.progressSeq;
    if (seq !== this.#seenProgressSeq) {
      this.#seenProgressSeq = seq;
      this.#progressClock = this.clock();
    }
  }

  get stalled(): boolean {
    return this.isStalled(this.clock());
  }

  /**
   * Running, and nothing advanced for stallAfterMs: by event time (updates keep
   * coming, counts stand still; pauses excluded, so a replay at any speed sees
   * it too) or by the clock (nothing arrives at all while live).
   */
  isStalled(now: number): boolean {
    if (this.model.state !== 'running') return false;
    // Found events are progress too; noticed here rather than on the hot path.
    const sig = this.hostsUp + this.portsReported + this.services;
    if (sig !== this.#foundSig) {
      this.#foundSig = sig;
      this.#progressClock = now;
      return false;
    }
    if (this.model.idleMs >= this.stallAfterMs) return true;
    return now - this.#progressClock >= this.stallAfterMs;
  }

  metrics(now: number): ProgressMetrics {
    const m = this.model;
    const pos = m.stagePosition();
    const last = m.lastEventTs;
    return {
      scanId: this.scanId,
      state: m.state,
      stage: m.stage ?? null,
      stageNumber: pos.index,
      stageCount: pos.count,
      percentage: m.percentage,
      completed: m.completed,
      total: m.total,
      inFlight: m.inFlight,
      retriesPending: m.retriesPending,
      waitRemainingMs: m.waitRemainingMs,
      stages: m.stages(),
      throughput: m.throughput(),
      counters: m.counters(),
      found: {
        hostsUp: this.hostsUp,
        openPorts: this.openPorts,
        portsReported: this.portsReported,
        services: this.services,
        warnings: this.warnings,
        errors: this.errors,
      },
      eta: m.eta(),
      stalled: this.isStalled(now),
      elapsedMs: m.elapsedMs,
      lastEventAt: Number.isNaN(last) ? (this.lastEventTs > -Infinity ? this.lastEventTs : null) : Math.max(last, this.lastEventTs),
      ignoredUpdates: { stale: m.staleUpdates, duplicate: m.duplicateUpdates },
      inputErrors: this.inputErrors,
      lastInputError: this.lastInputError,
      scans: null,
    };
  }
}
