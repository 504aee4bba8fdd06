import { progressUpdate, STAGES, type ProgressCounters, type ProgressUpdate, type ScanOutcome, type Stage, type Throughput } from '@portflow/core';
import { positiveNumber, ProgressOptionError } from './errors.js';
import { chooseEstimator, type EstimatorName } from './estimators/default-estimator.js';
import { DEFAULT_TAU_MS, EwmaEstimator } from './estimators/ewma.js';
import { LinearEstimator } from './estimators/linear.js';
import {
  futureStagesMs,
  msPerWeight,
  multiStageRemainingMs,
  STAGE_FINISHED,
  STAGE_PENDING,
  STAGE_RUNNING,
  type StageTimeline,
} from './estimators/multi-stage.js';
import { timeAtRate } from './estimators/rate-estimator.js';
import { RateVariability } from './estimators/rate-variability.js';
import { RateWindow } from './rate-window.js';
import { parseStageList, STAGE_COUNT, STAGE_WEIGHTS, stageIndex, stageLabel } from './stage-weights.js';

export type EstimatorChoice = 'auto' | EstimatorName;
export type ScanState = 'idle' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';
export type EtaAccuracy = 'unknown' | 'low' | 'medium' | 'high';
export type StageState = 'pending' | 'running' | 'done' | 'skipped';

export interface ProgressModelOptions {
  /** Stages the scan runs (ScanStarted.options.stages); default all five. */
  stages?: readonly Stage[];
  /** Sliding window of the throughput figures, ms of active time. Default 5,000. */
  windowMs?: number;
  /** EWMA time constant, ms. Default ≈ 4,481 (α = 0.2 at one update per second). */
  tauMs?: number;
  /** The ETA reported as `etaMs`: 'auto' (default) picks from the rate's behaviour. */
  estimator?: EstimatorChoice;
}

/** One progress sample: the fields of a ProgressUpdate the model reads (a ProgressUpdate event is one). */
export interface ProgressInput {
  readonly stage: Stage;
  readonly completed: number;
  readonly total: number;
  readonly inFlight?: number;
  readonly retriesPending?: number;
  readonly waitRemainingMs?: number;
  readonly counters?: Partial<ProgressCounters>;
}

export interface EtaReport {
  /** The estimate in use, ms; null while unknown (and after a cancelled or failed scan). */
  readonly ms: number | null;
  readonly using: EstimatorName | null;
  readonly linear: number | null;
  readonly ewma: number | null;
  readonly multiStage: number | null;
  readonly accuracy: EtaAccuracy;
}

export interface StageProgress {
  readonly stage: Stage;
  readonly label: string;
  /** Share of the whole scan, percent of the stages run (0 for a stage not run). */
  readonly weight: number;
  readonly state: StageState;
  readonly completed: number;
  readonly total: number;
  /** completed / total of this stage, 0–100 (100 once finished). */
  readonly percentage: number;
  /** Active ms spent in the stage (so far, for the running one). */
  readonly durationMs: number;
}

// Series of the throughput window.
const S_PACKETS = 0, S_BYTES = 1, S_HOSTS = 2, S_PORTS = 3, SERIES = 4;
const PORT_SCANNING = stageIndex('PortScanning');
const HOST_DISCOVERY = stageIndex('HostDiscovery');
const TARGET_RESOLUTION = stageIndex('TargetResolution');

/**
 * The progress model: counters and event times in; percentage, throughput and
 * ETA out. Deterministic and clock-free (every time is an event timestamp;
 * time spent paused is cut out), so a scanner filling its ProgressUpdates and
 * an aggregator reading them compute the same figures, live or in a replay.
 * Semantics: docs/ARCHITECTURE.md, "Progress semantics" (and this package's README).
 */
export class ProgressModel {
  readonly windowMs: number;
  readonly estimator: EstimatorChoice;

  // Per stage, run order.
  readonly #weight = new Float64Array(STAGE_COUNT);
  readonly #state = new Uint8Array(STAGE_COUNT);
  readonly #done = new Float64Array(STAGE_COUNT);
  readonly #total = new Float64Array(STAGE_COUNT);
  readonly #enteredAt = new Float64Array(STAGE_COUNT);
  readonly #duration = new Float64Array(STAGE_COUNT);
  #current = -1;
  /** Bit i: stage i's total came from an update (plans no longer apply). */
  #reported = 0;
  #scanState: ScanState = 'idle';
  #maxPct = 0;

  // Time: active ms = event time since start minus time paused.
  #startTs = NaN;
  #pausedAt = NaN;
  #pausedTotal = 0;
  #active = 0;
  #lastTs = NaN;
  #lastUpdateTs = -Infinity;

  // Latest sample.
  #inFlight = 0;
  #retriesPending = 0;
  #waitRemainingMs = 0;
  #packetsSent = 0;
  #packetsReceived = 0;
  #bytesSent = 0;
  #retriesSent = 0;
  #hostsCompleted = 0;
  #hostsTotal = 0;

  // Rates see counters minus an offset that absorbs jumps not earned in active time (resume, pause, counter reset).
  #rebase = false;
  readonly #raw = new Float64Array(SERIES);
  readonly #off = new Float64Array(SERIES);
  readonly #adj = new Float64Array(SERIES);
  #stageOff = 0;
  #stageAdj = 0;
  readonly #window: RateWindow;
  readonly #rates = new Float64Array(SERIES);
  readonly #linear = new LinearEstimator();
  readonly #ewma: EwmaEstimator;
  readonly #variability = new RateVariability();
  #stageObservations = 0;

  #progressSeq = 0;
  #lastProgressTs = NaN;
  #lastProgressActive = 0;
  #staleUpdates = 0;
  #duplicateUpdates = 0;
  #eta: EtaReport | null = null;
  readonly #tl: { weights: Float64Array; states: Uint8Array; durations: Float64Array; current: number; currentElapsedMs: number; currentFraction: number };

  constructor(options: ProgressModelOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ProgressOptionError('ProgressModel options must be an object');
    this.windowMs = positiveNumber('windowMs', options.windowMs, 5000);
    this.#ewma = new EwmaEstimator(positiveNumber('tauMs', options.tauMs, DEFAULT_TAU_MS));
    const est = options.estimator ?? 'auto';
    if (est !== 'auto' && est !== 'linear' && est !== 'ewma' && est !== 'multiStage') {
      throw new ProgressOptionError(`estimator must be 'auto', 'linear', 'ewma' or 'multiStage', got ${JSON.stringify(est)}`);
    }
    this.estimator = est;
    this.#window = new RateWindow(this.windowMs, SERIES);
    this.#setStages(options.stages === undefined ? STAGES : parseStageList(options.stages, 'stages'));
    this.#tl = { weights: this.#weight, states: this.#state, durations: this.#duration, current: -1, currentElapsedMs: 0, currentFraction: 0 };
  }

  // ---- Inputs ----------------------------------------------------------------

  /**
   * The scan starts (ScanStarted). A second start of a scan already seen is a
   * resume in a new process: the gap since its last event is not active time,
   * and its first update's cumulative counters become the new baseline.
   */
  start(ts: number, stages?: readonly Stage[]): void {
    if (!Number.isFinite(ts)) throw new ProgressOptionError(`start(): timestamp must be epoch milliseconds, got ${String(ts)}`);
    if (stages !== undefined) this.#setStages(parseStageList(stages, 'stages'), true);
    if (Number.isNaN(this.#startTs)) {
      this.#startTs = ts;
      this.#lastTs = ts;
    } else {
      if (this.#isPaused()) this.resume(ts);
      else if (ts > this.#lastTs) this.#pausedTotal += ts - this.#lastTs;
      this.#rebase = true;
    }
    // A cancelled or failed scan can be resumed; a completed one stays completed.
    if (this.#scanState !== 'completed') this.#scanState = this.#isPaused() ? 'paused' : 'running';
    this.#touch(ts);
  }

  /**
   * Totals known before any update: `targets` hosts and `ports` ports per host
   * (ScanStarted.targetCount / portCount, or ProgressAggregator.start()).
   * Updates override them.
   */
  setPlannedTotals(targets: number, ports: number, targetSpecs = 0, override = false): void {
    if (!isCount(targets) || !isCount(ports) || !isCount(targetSpecs) || !Number.isSafeInteger(targets * ports)) {
      throw new ProgressOptionError(`planned totals must be non-negative integers (targets × ports at most 2^53), got targets=${String(targets)} ports=${String(ports)}`);
    }
    this.#plan(TARGET_RESOLUTION, targetSpecs, override);
    this.#plan(HOST_DISCOVERY, targets, override);
    this.#plan(PORT_SCANNING, targets * ports, override);
    this.#updatePct();
  }

  /** A planned total never replaces one an update gave; `override` replaces an earlier plan. */
  #plan(si: number, total: number, override: boolean): void {
    if ((this.#reported >>> si) & 1 || total === 0) return;
    if (override || this.#total[si] === 0) this.#total[si] = Math.max(total, this.#done[si]);
  }

  /** The scan enters `stage` (StageChanged). Every earlier stage counts as finished. Stale or repeated changes are ignored. */
  enterStage(ts: number, stage: Stage): boolean {
    const si = stageIndex(stage);
    if (!Number.isFinite(ts) || si < 0 || si <= this.#current || this.#isTerminal()) return false;
    if (Number.isNaN(this.#startTs)) this.start(ts);
    const t = this.#activeAt(ts);
    this.#moveTo(si, t);
    // Entering the stage is the baseline of its rate: setup time counts against it.
    if (!this.#rebase) this.#observeStage(t, 0);
    this.#progressSeq++;
    this.#lastProgressTs = ts;
    this.#lastProgressActive = t;
    this.#touch(ts);
    return true;
  }

  /**
   * One progress sample (a ProgressUpdate). Returns false when it was ignored:
   * older than the newest one applied, for a stage already left, a duplicate,
   * or after the scan ended.
   */
  update(ts: number, p: ProgressInput): boolean {
    const si = stageIndex(p.stage);
    if (!Number.isFinite(ts) || si < 0 || ts < this.#lastUpdateTs || si < this.#current || this.#isTerminal()) {
      this.#staleUpdates++;
      return false;
    }
    const completed = count(p.completed, this.#done[si]);
    // total 0 means "not known yet": keep the plan if it still holds, else the
    // stage's fraction stays unknown rather than jumping to done.
    const rawTotal = count(p.total, this.#total[si]);
    const prevTotal = this.#total[si];
    const total = rawTotal > 0 ? Math.max(rawTotal, completed) : prevTotal >= completed ? prevTotal : 0;
    if (
      ts === this.#lastUpdateTs && si === this.#current && completed === this.#done[si] && total === this.#total[si] &&
      count(p.inFlight, 0) === this.#inFlight && count(p.retriesPending, 0) === this.#retriesPending &&
      count(p.waitRemainingMs, 0) === this.#waitRemainingMs && count(p.counters?.packetsSent, this.#packetsSent) === this.#packetsSent
    ) {
      this.#duplicateUpdates++;
      return false;
    }
    if (Number.isNaN(this.#startTs)) this.start(ts);
    const t = this.#activeAt(ts);
    if (si > this.#current) this.#moveTo(si, t); // its StageChanged was lost or is late
    this.#lastUpdateTs = ts;

    // Updates while paused keep their place on the active-time axis (frozen at
    // the pause): work finished before the pause but reported during it is real.
    const rebase = this.#rebase;
    this.#rebase = false;
    // A stage's count going backwards is a reset, not negative progress.
    if (rebase || completed < this.#done[si]) this.#stageOff = completed - this.#stageAdj;
    this.#done[si] = completed;
    this.#total[si] = total;
    if (rawTotal > 0) this.#reported |= 1 << si;
    this.#inFlight = count(p.inFlight, 0);
    this.#retriesPending = count(p.retriesPending, 0);
    this.#waitRemainingMs = count(p.waitRemainingMs, 0);
    const c = p.counters;
    if (c !== undefined && c !== null) {
      this.#packetsSent = count(c.packetsSent, this.#packetsSent);
      this.#packetsReceived = count(c.packetsReceived, this.#packetsReceived);
      this.#bytesSent = count(c.bytesSent, this.#bytesSent);
      this.#retriesSent = count(c.retriesSent, this.#retriesSent);
      this.#hostsCompleted = count(c.hostsCompleted, this.#hostsCompleted);
      this.#hostsTotal = count(c.hostsTotal, this.#hostsTotal);
    }

    const raw = this.#raw, off = this.#off, adj = this.#adj;
    raw[S_PACKETS] = this.#packetsSent;
    raw[S_BYTES] = this.#bytesSent;
    raw[S_HOSTS] = this.#hostsCompleted;
    raw[S_PORTS] = this.#done[PORT_SCANNING];
    let progressed = false;
    for (let k = 0; k < SERIES; k++) {
      // Rebase, or a counter that went backwards (reset): carry on from the previous adjusted value.
      if (rebase || raw[k] - off[k] < adj[k]) off[k] = raw[k] - adj[k];
      const a = raw[k] - off[k];
      if (a > adj[k]) progressed = true;
      adj[k] = a;
    }
    const sa = completed - this.#stageOff;
    if (sa > this.#stageAdj) progressed = true;
    this.#stageAdj = sa;
    this.#window.push(t, adj);
    this.#observeStage(t, sa);
    if (progressed) {
      this.#progressSeq++;
      this.#lastProgressTs = ts;
      this.#lastProgressActive = t;
    }
    this.#updatePct();
    this.#touch(ts);
    return true;
  }

  /** ScanPaused: time from now to the resume is not active time. */
  pause(ts: number): void {
    if (!Number.isFinite(ts) || this.#isTerminal() || this.#isPaused()) return;
    if (Number.isNaN(this.#startTs)) this.start(ts);
    this.#activeAt(ts);
    this.#pausedAt = Math.max(ts, this.#lastTs);
    this.#scanState = 'paused';
    this.#touch(ts);
  }

  /** ScanResumed: active time runs again from where the pause froze it. */
  resume(ts: number): void {
    if (!Number.isFinite(ts) || !this.#isPaused()) return;
    this.#pausedTotal += Math.max(0, ts - this.#pausedAt);
    this.#pausedAt = NaN;
    this.#scanState = 'running';
    this.#touch(ts);
  }

  /** ScanCompleted (or ScanCancelled: outcome 'cancelled'). 'completed' makes the percentage exactly 100. */
  finish(ts: number, outcome: ScanOutcome): void {
    if (this.#isTerminal()) return;
    if (!Number.isFinite(ts)) ts = Number.isNaN(this.#lastTs) ? 0 : this.#lastTs;
    if (Number.isNaN(this.#startTs)) this.start(ts);
    if (this.#isPaused()) this.resume(ts);
    const t = this.#activeAt(ts);
    if (outcome === 'completed') {
      this.#moveTo(STAGE_COUNT, t);
      this.#maxPct = 100;
    }
    this.#scanState = outcome;
    this.#touch(ts);
  }

  // ---- Outputs ---------------------------------------------------------------

  get state(): ScanState {
    return this.#scanState;
  }

  get stage(): Stage | undefined {
    return this.#current >= 0 && this.#current < STAGE_COUNT ? STAGES[this.#current] : undefined;
  }

  /** Whole scan, 0–100, never decreasing; exactly 100 once completed. */
  get percentage(): number {
    return this.#maxPct;
  }

  /** completed / total of the current stage. */
  get completed(): number {
    return this.#current >= 0 && this.#current < STAGE_COUNT ? this.#done[this.#current] : 0;
  }

  get total(): number {
    return this.#current >= 0 && this.#current < STAGE_COUNT ? this.#total[this.#current] : 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get retriesPending(): number {
    return this.#retriesPending;
  }

  get waitRemainingMs(): number {
    return this.#waitRemainingMs;
  }

  /** Active ms since the start (pauses excluded), up to the latest event. */
  get elapsedMs(): number {
    return this.#active;
  }

  /** Timestamp of the latest event applied (NaN before any). */
  get lastEventTs(): number {
    return this.#lastTs;
  }

  /** Bumped whenever something advanced (a count grew, a stage began); the aggregator's stall detector watches it. */
  get progressSeq(): number {
    return this.#progressSeq;
  }

  /** Event time of the latest progress (NaN before any). */
  get lastProgressTs(): number {
    return this.#lastProgressTs;
  }

  /** Active ms since the latest progress (pauses excluded): how long the scan has been standing still, by event time. */
  get idleMs(): number {
    return this.#progressSeq === 0 ? 0 : this.#active - this.#lastProgressActive;
  }

  /** Updates ignored as out of order (older than one applied) or for a stage already left. */
  get staleUpdates(): number {
    return this.#staleUpdates;
  }

  get duplicateUpdates(): number {
    return this.#duplicateUpdates;
  }

  /** 1-based position of the current stage among the stages run, and how many run. */
  stagePosition(): { index: number; count: number } {
    let index = 0, count = 0;
    for (let i = 0; i < STAGE_COUNT; i++) {
      if (this.#weight[i] > 0) {
        count++;
        if (i <= this.#current) index = count;
      }
    }
    return { index: this.#current >= STAGE_COUNT ? count : index, count };
  }

  counters(): ProgressCounters {
    return {
      packetsSent: this.#packetsSent,
      packetsReceived: this.#packetsReceived,
      bytesSent: this.#bytesSent,
      retriesSent: this.#retriesSent,
      hostsCompleted: this.#hostsCompleted,
      hostsTotal: this.#hostsTotal,
    };
  }

  /** Rates over the sliding window of active time. */
  throughput(): Throughput {
    const r = this.#rates;
    this.#window.rates(r);
    return {
      packetsPerSec: r[S_PACKETS] * 1000,
      portsPerSec: r[S_PORTS] * 1000,
      hostsPerMin: r[S_HOSTS] * 60000,
      bytesPerSec: r[S_BYTES] * 1000,
    };
  }

  stages(): StageProgress[] {
    let sumW = 0;
    for (let i = 0; i < STAGE_COUNT; i++) sumW += this.#weight[i];
    const out: StageProgress[] = [];
    for (let i = 0; i < STAGE_COUNT; i++) {
      const run = this.#weight[i] > 0;
      const st = this.#state[i];
      const state: StageState = !run ? 'skipped' : st === STAGE_FINISHED ? 'done' : st === STAGE_RUNNING ? 'running' : 'pending';
      const total = this.#total[i], done = this.#done[i];
      out.push({
        stage: STAGES[i],
        label: stageLabel(STAGES[i]),
        weight: run && sumW > 0 ? (100 * this.#weight[i]) / sumW : 0,
        state,
        completed: done,
        total,
        percentage: state === 'done' ? 100 : total > 0 ? Math.min(100, (100 * done) / total) : 0,
        durationMs: st === STAGE_RUNNING ? this.#active - this.#enteredAt[i] : this.#duration[i],
      });
    }
    return out;
  }

  /** Every estimator's remaining time, the one in use, and how far to trust it. Computed lazily, cached until the next input. */
  eta(): EtaReport {
    if (this.#eta === null) this.#eta = this.#computeEta();
    return this.#eta;
  }

  /** The ETA in use, ms (undefined while unknown): ProgressUpdate.etaMs. */
  get etaMs(): number | undefined {
    const ms = this.eta().ms;
    return ms === null ? undefined : ms;
  }

  /** A ProgressUpdate carrying the model's figures: what a scanner publishes after update(). */
  toProgressUpdate(scanId: string, ts: number): ProgressUpdate {
    let stage = this.stage;
    if (stage === undefined) {
      const first = this.#weight.findIndex((w) => w > 0);
      stage = this.#current >= STAGE_COUNT ? 'Finalization' : STAGES[first < 0 ? 0 : first];
    }
    return progressUpdate(scanId, ts, {
      stage,
      percentage: this.#maxPct,
      completed: this.completed,
      total: this.total,
      inFlight: this.#inFlight,
      retriesPending: this.#retriesPending,
      waitRemainingMs: this.#waitRemainingMs,
      counters: this.counters(),
      throughput: this.throughput(),
      etaMs: this.etaMs,
    });
  }

  // ---- Internals -------------------------------------------------------------

  #setStages(stages: readonly Stage[], keepRunning = false): void {
    for (let i = 0; i < STAGE_COUNT; i++) {
      // A resume keeps the stages the scan already ran, even if its new list leaves them out.
      const on = stages.includes(STAGES[i]) || (keepRunning && this.#weight[i] > 0 && this.#state[i] !== STAGE_PENDING);
      this.#weight[i] = on ? STAGE_WEIGHTS[STAGES[i]] : 0;
    }
    this.#eta = null;
  }

  #isPaused(): boolean {
    return !Number.isNaN(this.#pausedAt);
  }

  #isTerminal(): boolean {
    return this.#scanState === 'completed' || this.#scanState === 'cancelled' || this.#scanState === 'failed';
  }

  /** Active ms at event time `ts`; never goes backwards (late events do not rewind time). */
  #activeAt(ts: number): number {
    const end = this.#isPaused() ? Math.min(ts, this.#pausedAt) : ts;
    const a = end - this.#startTs - this.#pausedTotal;
    if (a > this.#active) this.#active = a;
    return this.#active;
  }

  #touch(ts: number): void {
    if (!(ts <= this.#lastTs)) this.#lastTs = ts;
    this.#eta = null;
  }

  /** Finish every stage before `si` and start `si` (STAGE_COUNT: finish all). */
  #moveTo(si: number, t: number): void {
    for (let i = 0; i < si && i < STAGE_COUNT; i++) {
      if (this.#state[i] === STAGE_RUNNING) this.#duration[i] = t - this.#enteredAt[i];
      // Counts stay as reported (a finished stage shows 100% from its state):
      // filling them up would fake a burst in the throughput series.
      this.#state[i] = STAGE_FINISHED;
    }
    this.#current = si;
    if (si < STAGE_COUNT) {
      // A stage the list did not name still runs: give it its default weight.
      if (this.#weight[si] === 0) this.#weight[si] = STAGE_WEIGHTS[STAGES[si]];
      this.#state[si] = STAGE_RUNNING;
      this.#enteredAt[si] = t;
    }
    this.#linear.reset();
    this.#ewma.reset();
    this.#variability.reset();
    this.#stageObservations = 0;
    this.#stageOff = 0;
    this.#stageAdj = 0;
    this.#updatePct();
  }

  #observeStage(t: number, done: number): void {
    this.#linear.observe(t, done);
    this.#ewma.observe(t, done);
    this.#variability.observe(t, done);
    this.#stageObservations++;
  }

  #updatePct(): void {
    let sumW = 0, num = 0;
    for (let i = 0; i < STAGE_COUNT; i++) {
      const w = this.#weight[i];
      if (w === 0) continue;
      sumW += w;
      if (this.#state[i] === STAGE_FINISHED) num += w;
      else if (this.#state[i] === STAGE_RUNNING && this.#total[i] > 0) num += (w * Math.min(this.#done[i], this.#total[i])) / this.#total[i];
    }
    const pct = sumW > 0 ? Math.min(100, (100 * num) / sumW) : 0;
    if (pct > this.#maxPct) this.#maxPct = pct;
    this.#eta = null;
  }

  #fraction(): number {
    const c = this.#current;
    return c >= 0 && c < STAGE_COUNT && this.#total[c] > 0 ? Math.min(1, this.#done[c] / this.#total[c]) : 0;
  }

  #computeEta(): EtaReport {
    if (this.#scanState === 'completed') return { ms: 0, using: null, linear: 0, ewma: 0, multiStage: 0, accuracy: 'high' };
    const c = this.#current;
    if (this.#isTerminal() || c < 0 || c >= STAGE_COUNT) return UNKNOWN_ETA;
    const tl = this.#tl;
    tl.current = c;
    tl.currentElapsedMs = this.#active - this.#enteredAt[c];
    tl.currentFraction = this.#fraction();
    const pace = msPerWeight(tl as StageTimeline);
    const future = futureStagesMs(tl as StageTimeline);
    const total = this.#total[c], done = this.#done[c];
    const inFlight = this.#inFlight, retries = this.#retriesPending, wait = this.#waitRemainingMs;
    // Probes still to send: those never sent plus the retries; in-flight ones resolve by the end of the wait after the last send.
    const toSend = Math.max(0, total - done - inFlight - retries) + retries;

    const viaRate = (rate: number): number | undefined => {
      let stageMs: number | undefined;
      if (total > 0) {
        if (toSend > 0) {
          const s = timeAtRate(toSend, rate);
          stageMs = s === undefined ? undefined : s + wait;
        } else {
          stageMs = wait > 0 ? wait : inFlight > 0 ? timeAtRate(inFlight, rate) : 0;
        }
      } else {
        // No counts for this stage (Finalization is 0/0): it is expected to last its share.
        stageMs = pace === undefined ? undefined : Math.max(0, this.#weight[c] * pace - tl.currentElapsedMs) + wait;
      }
      return stageMs === undefined || future === undefined ? undefined : stageMs + future;
    };
    const linRate = this.#linear.rate(), ewmaRate = this.#ewma.rate();
    const linear = viaRate(linRate);
    const ewma = viaRate(ewmaRate);
    const ms = multiStageRemainingMs(tl as StageTimeline);
    const multiStage = ms === undefined ? undefined : ms + wait;

    const cv = this.#variability.cv();
    let using: EstimatorName =
      this.estimator !== 'auto'
        ? this.estimator
        : chooseEstimator({ observations: this.#stageObservations, stageFraction: tl.currentFraction, linearRate: linRate, ewmaRate, cv });
    let value = using === 'linear' ? linear : using === 'ewma' ? ewma : multiStage;
    if (value === undefined) {
      // Fall back to whichever estimate exists, most robust first.
      if (linear !== undefined) { using = 'linear'; value = linear; }
      else if (multiStage !== undefined) { using = 'multiStage'; value = multiStage; }
      else if (ewma !== undefined) { using = 'ewma'; value = ewma; }
    }
    return {
      ms: value ?? null,
      using: value === undefined ? null : using,
      linear: linear ?? null,
      ewma: ewma ?? null,
      multiStage: multiStage ?? null,
      accuracy: value === undefined ? 'unknown' : this.#accuracy(value, using, linear, multiStage, cv),
    };
  }

  /**
   * How far to trust the ETA: how much of the scan and of the stage has been
   * seen, and whether the in-use estimate agrees with the long-run views
   * (linear: the stage's average rate; multi-stage: the scan's pace so far).
   * The EWMA is left out: it disagrees on a bursty rate by design, and when it
   * is in use the pace has just changed, so at best 'medium'.
   * A steady rate seen long enough is 'high'; the start of a stage, or a pace
   * far from what the scan has shown (> 50% apart), is 'low'.
   */
  #accuracy(value: number, using: EstimatorName, linear: number | undefined, multiStage: number | undefined, cv: number): EtaAccuracy {
    if (this.#stageObservations < 3 || this.#maxPct < 2) return 'low';
    // The EWMA following a steady new pace: right now, but the pace just changed once.
    if (using === 'ewma') return cv <= 0.25 ? 'medium' : 'low';
    let lo = value, hi = value;
    if (linear !== undefined) { lo = Math.min(lo, linear); hi = Math.max(hi, linear); }
    if (multiStage !== undefined) { lo = Math.min(lo, multiStage); hi = Math.max(hi, multiStage); }
    const spread = (hi - lo) / Math.max(value, 1000);
    if (spread > 0.5) return 'low';
    if (this.#stageObservations >= 5 && this.#maxPct >= 10 && spread <= 0.15) return 'high';
    return 'medium';
  }
}

const UNKNOWN_ETA: EtaReport = Object.freeze({ ms: null, using: null, linear: null, ewma: null, multiStage: null, accuracy: 'unknown' });

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** A count from an event: a garbage value (NaN, negative, not a number) keeps the previous one. */
function count(x: unknown, prev: number): number {
  return typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER ? x : prev;
}
