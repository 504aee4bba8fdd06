// scan(): one scan from options to ScanCompleted. It owns the event stream
// (order, batching, progress, checkpoints, the end), the results and the
// pause/cancel controls; the engine of the scan type sends the probes and
// classifies the answers (engines/engine.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import {
  hostDiscovered,
  ipv6PortFound,
  metricRecorded,
  portFound,
  rateLimitTriggered,
  retryScheduled,
  scanCancelled,
  scanCheckpoint,
  scanCompleted,
  scanError,
  scanPaused,
  scanResumed,
  scanStarted,
  stageChanged,
  warningIssued,
  type DiscoveryMethod,
  type EventBus,
  type JsonValue,
  type ScanCheckpoint,
  type ScanOutcome,
  type Stage,
} from '@portflow/core';
import { ProgressModel } from '@portflow/progress';
import { checkResumeMatches, configHash, resumePlan, seedFromHex, seedToHex, type ResumePlan } from './checkpoint.js';
import { createEngine } from './engines/index.js';
import type { EngineCounters, EngineHost, ScanEngine } from './engines/engine.js';
import { connectPing, CONNECT_PING_PORTS } from './engines/connect-ping.js';
import { discoverHosts, type DiscoverySink } from './engines/discovery.js';
import { prepareLink, walkAddresses, type PreparedLink, type ProbeBackend } from './engines/probe-backend.js';
import { ProbeScanEngine } from './engines/probe-scan.js';
import { RateController } from './rate-control.js';
import type { ResolvedTiming } from './timing.js';
import { ScanJob } from './job.js';
import { HOST_TIMEOUT, reasonName, ResultsBuilder, STATE_CODE, type ScanResults } from './results.js';
import { ScanControl } from './scan-control.js';
import { ScanOptionError, ScanResumeError } from './scan-errors.js';
import { resolveScanOptions, type ResolvedScanOptions, type ScanOptions } from './scan-options.js';
import { LatencyHistogram } from './latency-histogram.js';
import { buildTargetSet, parseTargets, resolveTargets, type TargetSet } from './targets.js';

/** A port scan without host discovery (skipDiscovery: every target is scanned, as nmap -Pn). */
export const NO_DISCOVERY_SCAN_STAGES: readonly Stage[] = ['TargetResolution', 'PortScanning', 'Finalization'];
/** @deprecated The name from before connect scans ran discovery too: NO_DISCOVERY_SCAN_STAGES. */
export const CONNECT_SCAN_STAGES: readonly Stage[] = NO_DISCOVERY_SCAN_STAGES;
/** A port scan (connect, SYN, UDP) with host discovery first. */
export const DISCOVERY_SCAN_STAGES: readonly Stage[] = ['TargetResolution', 'HostDiscovery', 'PortScanning', 'Finalization'];
/** A ping scan (host discovery only, nmap -sn). */
export const PING_SCAN_STAGES: readonly Stage[] = ['TargetResolution', 'HostDiscovery', 'Finalization'];

/** The stages a scan of these options runs (ScanStarted.options.stages). */
export function scanStages(o: Pick<ResolvedScanOptions, 'type' | 'skipDiscovery'>): readonly Stage[] {
  if (o.type === 'ping') return PING_SCAN_STAGES;
  return o.skipDiscovery ? NO_DISCOVERY_SCAN_STAGES : DISCOVERY_SCAN_STAGES;
}

/** Whether every target is a loopback address (127.0.0.0/8, ::1); only small sets are walked. */
function allLoopback(targets: TargetSet): boolean {
  if (targets.size === 0n || targets.size > 65_536n) return false;
  for (const a of walkAddresses(targets)) if (!a.startsWith('127.') && a !== '::1') return false;
  return true;
}

export type ScanHandleState = 'starting' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';

export interface ScanHandle {
  readonly scanId: string;
  /**
   * Resolves after ScanCompleted, whatever the outcome (a cancelled scan
   * gives its partial results; a failed one has `outcome: 'failed'` and
   * `error`); never rejects.
   */
  readonly results: Promise<ScanResults>;
  readonly state: ScanHandleState;
  /** The fatal error of a failed scan (typed, with a `code`). */
  readonly error: Error | undefined;
  /** Stops sending, publishes ScanCancelled then ScanCompleted{cancelled}. */
  cancel(reason?: string): void;
  /** Stops sending (probes in flight still finish): ScanPaused. */
  pause(reason?: string): void;
  /** ScanResumed; sending goes on. */
  resume(): void;
}

export interface ScanContext {
  readonly bus: EventBus;
}

/**
 * Starts a scan publishing on `bus`. Options are checked now (a typed error
 * naming the option); the first event is published after the current
 * synchronous code, so subscribe right after calling.
 */
export function scan(options: ScanOptions, context: ScanContext): ScanHandle {
  const o = resolveScanOptions(options);
  const bus = context?.bus;
  if (bus === null || typeof bus !== 'object' || typeof bus.publish !== 'function') {
    throw new ScanOptionError('bus', 'scan: the second argument must be { bus } with an EventBus from @portflow/core');
  }
  return new ScanRun(o, bus).handle;
}

const OPEN = STATE_CODE.open;
const CLOSED = STATE_CODE.closed;
const EVENT_BATCH = 512;
const POSITION_BATCH = 4096;
const TICK_MS = 100;
/** Bytes counted per discovery probe (IP layer; an estimate: echo 28, timestamp 40, SYN 60, ACK 40). */
const DISCOVERY_PROBE_BYTES = 44;
/** ProgressUpdates: at each 1% or each second, whichever first, at most 10 per second. */
const PROGRESS_MIN_GAP_MS = 100;
const PROGRESS_MAX_GAP_MS = 1000;
/** RetryScheduled is sampled: at most 2 per second (the count is in MetricRecorded). */
const RETRY_EVENT_GAP_MS = 500;

class ScanRun implements EngineHost {
  readonly handle: ScanHandle;
  readonly options: ResolvedScanOptions;
  readonly control = new ScanControl();
  readonly counters: EngineCounters = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, retriesSent: 0, inFlight: 0, retriesPending: 0 };
  readonly #bus: EventBus;
  readonly #scanId: string;
  readonly #seed: bigint;
  readonly #results = new ResultsBuilder();
  readonly #stages: readonly Stage[];
  readonly #model: ProgressModel;
  #rate: RateController | undefined;
  #link: PreparedLink | undefined;
  /** A connect scan of literal loopback targets only (discovery by connects): decided once. */
  #loopbackOnly: boolean | undefined;
  /** Host discovery: hosts with a final state, and those found up. */
  #discovered = 0;
  #live: string[] = [];
  #job!: ScanJob;
  #engine: ScanEngine | undefined;
  #hash = '';
  #plan: ResumePlan | undefined;
  #state: ScanHandleState = 'starting';
  #error: Error | undefined;
  #stage: Stage | undefined;
  #started = false;
  #startTs = 0;
  #now = 0;

  // Outcomes waiting for the next batch: events to publish, positions to mark done.
  readonly #eAddr: string[] = new Array<string>(EVENT_BATCH).fill('');
  readonly #ePort = new Uint16Array(EVENT_BATCH);
  readonly #eState = new Uint8Array(EVENT_BATCH);
  readonly #eReason = new Uint8Array(EVENT_BATCH);
  readonly #eTtl = new Int16Array(EVENT_BATCH);
  /** Capture time (ms since the epoch) of each pending result's reply; NaN when none (a timeout). */
  readonly #eSeen = new Float64Array(EVENT_BATCH);
  readonly #latency = new LatencyHistogram();
  readonly #eUdp = new Uint8Array(EVENT_BATCH);
  #en = 0;
  readonly #dPos = new Float64Array(POSITION_BATCH);
  #dn = 0;
  #flushScheduled = false;

  #completed = 0;
  #hostsCompleted = 0;
  #portsPerHost = 0;
  #hostsTotal = 0;
  #lastProgressTs = -Infinity;
  #nextProgressAt = 0;
  #progressStep = 1;
  #lastCheckpointTs = 0;
  #retries = 0;
  #lastRetryEventTs = -Infinity;
  #ticker: NodeJS.Timeout | undefined;
  #unsubscribeSignal: (() => void) | undefined;
  #resolveResults!: (r: ScanResults) => void;

  constructor(o: ResolvedScanOptions, bus: EventBus) {
    this.options = o;
    this.#bus = bus;
    this.#stages = scanStages(o);
    this.#model = new ProgressModel({ stages: this.#stages });
    const cp = o.resumeFrom;
    this.#scanId = o.scanId ?? cp?.scanId ?? randomUUID();
    if (cp !== undefined) {
      this.#seed = seedFromHex(cp.seed);
      if (o.seed !== undefined && seedValue(o.seed) !== this.#seed) {
        throw new ScanResumeError('ERR_SCAN_RESUME_MISMATCH', `resumeFrom: the checkpoint's seed ${cp.seed} differs from the seed option ${String(o.seed)}; leave seed out when resuming (the checkpoint carries it)`);
      }
    } else {
      this.#seed = o.seed === undefined ? randomBytes(8).readBigUInt64BE() : seedValue(o.seed);
    }
    const results = new Promise<ScanResults>((resolve) => (this.#resolveResults = resolve));
    const run = this;
    this.handle = {
      scanId: this.#scanId,
      results,
      get state() {
        return run.#state;
      },
      get error() {
        return run.#error;
      },
      cancel: (reason?: string) => this.#cancel(reason === undefined ? 'cancelled by the caller' : String(reason)),
      pause: (reason?: string) => this.#pause(reason === undefined ? 'paused by the caller' : String(reason)),
      resume: () => this.#resume(),
    };
    const signal = o.signal;
    if (signal !== undefined) {
      const onAbort = () => this.#cancel(abortReason(signal));
      if (signal.aborted) this.control.cancel(abortReason(signal));
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unsubscribeSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
    // Start after the caller's synchronous code: it subscribes first.
    setImmediate(() => void this.#run());
  }

  // ---- Controls --------------------------------------------------------------

  #pause(reason: string): void {
    if (!this.control.pause()) return;
    this.#state = 'paused';
    if (this.#started) this.#publishPaused(reason);
    else this.#pendingPauseReason = reason;
  }
  #pendingPauseReason: string | undefined;

  #publishPaused(reason: string): void {
    this.#flush();
    const ts = Date.now();
    this.#model.pause(ts);
    this.#bus.publish(scanPaused(this.#scanId, ts, reason));
  }

  #resume(): void {
    if (!this.control.resume()) return;
    this.#state = 'running';
    if (!this.#started) {
      this.#pendingPauseReason = undefined;
      return;
    }
    const ts = Date.now();
    this.#model.resume(ts);
    this.#bus.publish(scanResumed(this.#scanId, ts));
  }

  #cancel(reason: string): void {
    if (this.#state === 'completed' || this.#state === 'failed' || this.#state === 'cancelled') return;
    this.control.cancel(reason);
  }

  // ---- The run ---------------------------------------------------------------

  async #run(): Promise<void> {
    const o = this.options;
    const bus = this.#bus;
    const id = this.#scanId;
    let outcome: ScanOutcome = 'completed';
    try {
      this.#startTs = this.#now = Date.now();
      this.#publishStarted(this.#startTs);
      this.#started = true;
      if (this.#state === 'starting') this.#state = 'running';
      if (this.#pendingPauseReason !== undefined) this.#publishPaused(this.#pendingPauseReason);
      this.#ticker = setInterval(() => this.#tick(), TICK_MS);

      this.#enter('TargetResolution');
      const resolution = await resolveTargets(o.targetTokens, { exclude: o.excludeTokens, lookup: o.lookup });
      const ts = Date.now();
      for (const w of resolution.warnings) bus.publish(warningIssued(id, ts, w.message, w.token, undefined, w.code));
      this.#hostsTotal = toSafe(resolution.targets.size);
      this.#portsPerHost = o.ports.count;
      this.#model.update(ts, { stage: 'TargetResolution', completed: o.targetTokens.length, total: o.targetTokens.length, counters: this.#counters() });
      bus.publish(this.#model.toProgressUpdate(id, ts));

      let portTargets: TargetSet | undefined = resolution.targets;
      if ((o.probeBackend !== undefined || o.discoveryBackend !== undefined) && !this.control.cancelled) {
        const t = o.timing;
        this.#rate = new RateController(t.initialRate, t.minRate, t.maxRate);
      }
      if (!o.skipDiscovery && !this.control.cancelled) {
        this.#enter('HostDiscovery');
        portTargets = await this.#discover(resolution.targets);
      }
      if (o.type !== 'ping' && !this.control.cancelled) {
        if (portTargets !== undefined) this.#createJob(portTargets);
        this.#enter('PortScanning');
        if (portTargets !== undefined) await this.#portScan(portTargets);
        else {
          // Every host is down: nothing to port-scan.
          this.#model.update(Date.now(), { stage: 'PortScanning', completed: 0, total: 0, counters: this.#counters() });
        }
      }
      if (this.control.cancelled) outcome = 'cancelled';
      else {
        this.#enter('Finalization');
        this.#publishMetrics(Date.now());
      }
    } catch (err) {
      outcome = 'failed';
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#flush();
      if (this.#job !== undefined && this.#stage === 'PortScanning') this.#checkpoint(Date.now());
      const e = this.#error as Error & { code?: unknown };
      const code = typeof e.code === 'string' ? e.code : 'ERR_SCAN_FAILED';
      bus.publish(scanError(id, Date.now(), e.name, e.message, true, { code, stage: this.#stage ?? 'TargetResolution' }));
    }
    this.#end(outcome);
  }

  /** Host discovery; the live hosts as the port scan's targets (undefined when none is up). */
  async #discover(targets: TargetSet): Promise<TargetSet | undefined> {
    const o = this.options;
    const id = this.#scanId;
    const bus = this.#bus;
    // A resume whose log holds the interrupted run's discovery takes its live hosts, so the
    // port scan's job (and its positions) is the same one.
    const prior = o.resumeFrom === undefined ? [] : o.resumeEvents.filter((e) => e.type === 'HostDiscovered');
    // Nothing to discover: the port scan's job says so (ERR_JOB_EMPTY).
    if (targets.size === 0n) {
      await this.#stageProgressEnd('HostDiscovery', 0, 0);
      return o.type === 'ping' ? undefined : targets;
    }
    if (prior.length > 0) {
      for (const e of prior) if (e.type === 'HostDiscovered' && targets.has(e.ip)) this.#markUp(e.ip);
      this.#discovered = toSafe(targets.size);
    } else {
      const t = o.timing;
      const sink: DiscoverySink = {
        up: (address: string, method: DiscoveryMethod, latencyMs: number, ttl: number | undefined, ts: number) => {
          this.#flush();
          bus.publish(hostDiscovered(id, ts, address, method, latencyMs, ttl));
          this.#markUp(address);
          this.#discovered++;
          this.#discoveryProgress(ts, false);
        },
        down: () => {
          this.#discovered++;
          this.#hostsCompleted++;
          this.#discoveryProgress(Date.now(), false);
        },
      };
      const backend = this.#discoveryBackend();
      if (backend === undefined) {
        // No raw packets (unprivileged): TCP connects to 80 and 443.
        this.#discoveryProgress(Date.now(), true);
        await connectPing({ targets, timeoutMs: Math.round(t.initialRttMs), retries: Math.min(t.maxRetries, 1), concurrency: Math.max(1, Math.floor(o.concurrency / 2)), control: this.control, sink });
      } else {
        this.#link = await prepareLink(backend, targets, {
          interface: o.interface,
          ...neighborTiming(t),
          resolveAll: true,
          warn: (message, code) => this.warn(message, code),
        });
        this.#discoveryProgress(Date.now(), true);
        const figures = await discoverHosts({
          backend,
          link: this.#link,
          targets,
          methods: o.discovery,
          timing: t,
          rate: this.#rate!,
          control: this.control,
          seed: this.#seed,
          sourcePortCount: o.sourcePortCount,
          sink,
        });
        // Counters are cumulative over the scan: discovery's packets count too.
        const c = this.counters;
        if (figures.engine !== undefined) {
          c.packetsSent += figures.engine.sent;
          c.packetsReceived += figures.engine.matched;
          c.retriesSent += figures.engine.retries;
          c.bytesSent += figures.engine.sent * DISCOVERY_PROBE_BYTES;
        }
      }
      if (!this.control.cancelled) this.#discovered = toSafe(targets.size);
    }
    await this.#stageProgressEnd('HostDiscovery', this.#discovered, toSafe(targets.size));
    if (this.#live.length === 0) return undefined;
    return buildTargetSet(parseTargets(this.#live, 'discovered hosts'));
  }

  /**
   * Raw discovery's backend, or undefined for discovery by TCP connects. A connect scan
   * whose targets are all loopback addresses given literally (the quick start) asks the
   * kernel by connects even when privileged: it answers at once, where raw discovery would
   * plan a link and linger for late replies.
   */
  #discoveryBackend(): ProbeBackend | undefined {
    const o = this.options;
    if (o.type !== 'connect' || o.discoveryBackend === undefined) return o.discoveryBackend;
    if (this.#loopbackOnly === undefined) {
      const literal = o.targetTokens.every((t) => t.kind !== 'hostname');
      this.#loopbackOnly = literal && allLoopback(buildTargetSet(o.targetTokens, o.excludeTokens.filter((t) => t.kind !== 'hostname')));
    }
    return this.#loopbackOnly ? undefined : o.discoveryBackend;
  }

  #markUp(address: string): void {
    this.#results.hostUp(address);
    this.#live.push(address);
  }

  #discoveryProgress(ts: number, force: boolean): void {
    const total = this.#hostsTotal;
    if (!force && ts - this.#lastProgressTs < PROGRESS_MIN_GAP_MS) return;
    if (this.#model.update(ts, { stage: 'HostDiscovery', completed: Math.min(this.#discovered, total), total, counters: this.#counters() })) {
      this.#bus.publish(this.#model.toProgressUpdate(this.#scanId, ts));
    }
    this.#lastProgressTs = ts;
  }

  async #stageProgressEnd(stage: Stage, completed: number, total: number): Promise<void> {
    const wait = PROGRESS_MIN_GAP_MS - (Date.now() - this.#lastProgressTs);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const ts = Date.now();
    if (this.#model.update(ts, { stage, completed, total, counters: this.#counters() })) this.#bus.publish(this.#model.toProgressUpdate(this.#scanId, ts));
    this.#lastProgressTs = ts;
  }

  /** The port scan's job over `targets` (all targets, or the live hosts after discovery); checks a resume against it. */
  #createJob(targets: TargetSet): void {
    const o = this.options;
    this.#job = new ScanJob({
      targets,
      ports: o.ports,
      seed: this.#seed,
      order: o.order,
      shard: o.shard,
      position: o.resumeFrom?.lowWater ?? 0,
    });
    const job = this.#job;
    this.#hash = configHash({ type: o.type, targets: targets.toSpecs(), ports: o.ports.toString(), seed: this.#seed, order: o.order, shard: job.shard });
    const cp = o.resumeFrom;
    if (cp !== undefined) {
      checkResumeMatches(cp, this.#hash, job);
      this.#plan = resumePlan(cp, o.resumeEvents, job);
      for (const e of this.#plan.priorPorts) this.#results.recordEvent(e);
      this.#completed = cp.lowWater;
      this.#hostsCompleted = Math.min(this.#plan.counters.hostsCompleted, this.#hostsTotal);
    }
  }

  /** The port scan of the job's targets. */
  async #portScan(targets: TargetSet): Promise<void> {
    const o = this.options;
    const job = this.#job;
    this.#progressStep = Math.max(1, Math.ceil(job.length / 100));
    this.#nextProgressAt = this.#completed + this.#progressStep;
    this.#lastCheckpointTs = Date.now();
    if (o.probeBackend !== undefined) {
      this.#link ??= await prepareLink(o.probeBackend, targets, {
        interface: o.interface,
        ...neighborTiming(o.timing),
        resolveAll: false,
        warn: (message, code) => this.warn(message, code),
      });
      this.#engine = new ProbeScanEngine(o, {
        backend: o.probeBackend,
        link: this.#link,
        rate: this.#rate!,
        publishRateLimit: (currentRate, limit, reason, value) => {
          this.#flush();
          const ts = Date.now();
          this.#bus.publish(rateLimitTriggered(this.#scanId, ts, currentRate, limit));
          // RateLimitTriggered has no reason field: the metric right after it names the cause.
          this.#bus.publish(metricRecorded(this.#scanId, ts, `rate.backoff.${reason}`, value, reason === 'drops' ? 'packets' : 'ratio'));
        },
      });
    } else this.#engine = createEngine(o);
    await this.#engine.run(this);
    this.#flush();
    await this.#finalProgress();
    this.#checkpoint(Date.now());
  }

  #end(outcome: ScanOutcome): void {
    clearInterval(this.#ticker);
    this.#unsubscribeSignal?.();
    const id = this.#scanId;
    let ts = Date.now();
    if (outcome === 'cancelled') {
      this.#bus.publish(scanCancelled(id, ts, this.control.reason));
      ts = Date.now();
    }
    const e = this.#error as (Error & { code?: unknown }) | undefined;
    const error = e === undefined ? undefined : `${typeof e.code === 'string' ? e.code : e.name}: ${e.message}`;
    const durationMs = ts - this.#startTs + (this.#plan?.elapsedMs ?? 0);
    this.#model.finish(ts, outcome);
    const r = this.#results;
    this.#bus.publish(
      scanCompleted(id, ts, {
        outcome,
        targetsScanned: this.#hostsTotal,
        portsScanned: this.#completed,
        openPorts: r.openPorts,
        hostsUp: r.hostsUp,
        durationMs,
        error,
      }),
    );
    this.#state = outcome;
    this.#resolveResults(
      r.build({
        scanId: id,
        scanType: this.options.type,
        outcome,
        error,
        targets: this.options.targetSpecs,
        ports: this.options.portSpec,
        startedAt: this.#plan?.startedAt ?? this.#startTs,
        durationMs,
        targetsScanned: this.#hostsTotal,
        portsScanned: this.#completed,
      }),
    );
  }

  #publishStarted(ts: number): void {
    const o = this.options;
    const cp = o.resumeFrom;
    const options: { [key: string]: JsonValue } = {
      stages: [...this.#stages],
      concurrency: o.concurrency,
      initialTimeoutMs: o.initialTimeoutMs,
      minTimeoutMs: o.minTimeoutMs,
      maxTimeoutMs: o.maxTimeoutMs,
      maxRetries: o.maxRetries,
      report: { open: true, closed: o.reportClosed, filtered: o.reportFiltered },
      exclude: o.excludeTokens.map((t) => t.text),
      seed: seedToHex(this.#seed),
      order: o.order,
      shard: o.shard === undefined ? null : { index: o.shard.index, count: o.shard.count },
      resumedFrom: cp === undefined ? null : { lowWater: cp.lowWater, highWater: cp.highWater, configHash: cp.configHash },
    };
    if (o.probeBackend !== undefined) {
      const t = o.timing;
      options.timing = t.template.name;
      options.initialTimeoutMs = t.initialRttMs;
      options.minTimeoutMs = t.minRttMs;
      options.maxTimeoutMs = t.maxRttMs;
      options.maxRetries = t.maxRetries;
      options.minRate = t.minRate;
      options.maxRate = Number.isFinite(t.maxRate) ? t.maxRate : null;
      options.skipDiscovery = o.skipDiscovery;
      options.discovery = o.skipDiscovery ? null : o.discovery.map((d): JsonValue => (d.port === undefined ? { method: d.method } : { method: d.method, port: d.port }));
    } else if (o.type === 'ping') {
      options.discovery = CONNECT_PING_PORTS.map((port): JsonValue => ({ method: 'connect', port }));
      options.timing = o.timing.template.name;
      options.interface = o.interface ?? null;
    } else {
      // A connect scan: discovery by raw packets when privileged, else by TCP connects.
      options.skipDiscovery = o.skipDiscovery;
      options.discovery = o.skipDiscovery
        ? null
        : this.#discoveryBackend() !== undefined
          ? o.discovery.map((d): JsonValue => (d.port === undefined ? { method: d.method } : { method: d.method, port: d.port }))
          : CONNECT_PING_PORTS.map((port): JsonValue => ({ method: 'connect', port }));
    }
    let targetCount = 0;
    try {
      // Addresses known before hostnames resolve (the count may grow: later ProgressUpdates carry it).
      const literal = buildTargetSet(o.targetTokens.filter((t) => t.kind !== 'hostname'), o.excludeTokens.filter((t) => t.kind !== 'hostname'));
      targetCount = toSafe(literal.size);
    } catch {
      targetCount = 0;
    }
    this.#bus.publish(
      scanStarted(this.#scanId, ts, { scanType: o.type, targetCount, portCount: o.ports.count, targets: o.targetSpecs, ports: o.portSpec, options }),
    );
    this.#model.start(ts, this.#stages);
    this.#model.setPlannedTotals(targetCount, o.ports.count, o.targetTokens.length);
  }

  #enter(stage: Stage): void {
    const ts = Date.now();
    const old = this.#stage;
    this.#stage = stage;
    this.#model.enterStage(ts, stage);
    this.#bus.publish(stageChanged(this.#scanId, ts, stage, old));
  }

  // ---- EngineHost --------------------------------------------------------------

  get job(): ScanJob {
    return this.#job;
  }

  isReported(position: number): boolean {
    return this.#plan !== undefined && this.#plan.reported.has(position);
  }

  skip(position: number): void {
    this.#dPos[this.#dn++] = position;
    if (this.#dn === POSITION_BATCH) this.#flush();
    else this.#scheduleFlush();
  }

  report(position: number, address: string, port: number, udp: boolean, state: number, reason: number, ttl: number | undefined, seenAtMs = NaN): void {
    const o = this.options;
    this.#results.record(address, port, udp, state, reason, ttl);
    if (this.#results.hostCount(address) === this.#portsPerHost) this.#hostsCompleted++;
    if (state === OPEN || (state === CLOSED ? o.reportClosed : o.reportFiltered)) {
      const i = this.#en++;
      this.#eAddr[i] = address;
      this.#ePort[i] = port;
      this.#eState[i] = state;
      this.#eReason[i] = reason;
      this.#eTtl[i] = ttl === undefined ? -1 : ttl;
      this.#eUdp[i] = udp ? 1 : 0;
      this.#eSeen[i] = seenAtMs;
    }
    this.#dPos[this.#dn++] = position;
    if (this.#en === EVENT_BATCH || this.#dn === POSITION_BATCH) this.#flush();
    else this.#scheduleFlush();
  }

  retryScheduled(address: string, port: number, attempt: number, maxAttempts: number, delayMs: number): void {
    this.#retries++;
    // The tick clock (updated every 100 ms) is fine for sampling: no clock read per retry.
    if (this.#now - this.#lastRetryEventTs < RETRY_EVENT_GAP_MS) return;
    this.#lastRetryEventTs = this.#now;
    this.#flush();
    this.#bus.publish(retryScheduled(this.#scanId, Date.now(), address, port, attempt, maxAttempts, delayMs));
  }

  warn(message: string, code: string, target?: string, port?: number): void {
    // The results say what the events say (foldScanEvents reads the same warning).
    if (code === HOST_TIMEOUT && target !== undefined) this.#results.hostTimedOut(target);
    this.#flush();
    this.#bus.publish(warningIssued(this.#scanId, Date.now(), message, target, port, code));
  }

  // ---- Batches -----------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Outcomes arriving in one event-loop turn become one batch; the flush
    // runs after the turn's I/O, so subscribers' streams get to run between batches.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Publishes the pending outcomes with one clock read, then marks their positions done (lowWater never passes an unpublished one). */
  #flush(): void {
    const en = this.#en, dn = this.#dn;
    if (en === 0 && dn === 0) return;
    const ts = Date.now();
    this.#now = ts;
    const bus = this.#bus, id = this.#scanId;
    const STATES = STATE_NAMES;
    for (let i = 0; i < en; i++) {
      const a = this.#eAddr[i];
      const ttl = this.#eTtl[i] < 0 ? undefined : this.#eTtl[i];
      const reason = reasonName(this.#eReason[i]);
      const proto = this.#eUdp[i] === 1 ? 'udp' : 'tcp';
      bus.publish(
        a.includes(':')
          ? ipv6PortFound(id, ts, a, this.#ePort[i], proto, STATES[this.#eState[i]], reason, ttl)
          : portFound(id, ts, a, this.#ePort[i], proto, STATES[this.#eState[i]], reason, ttl),
      );
      this.#eAddr[i] = '';
      const seen = this.#eSeen[i];
      if (seen === seen) this.#latency.add(ts - seen);
    }
    const job = this.#job;
    for (let i = 0; i < dn; i++) job.markDone(this.#dPos[i]);
    this.#en = 0;
    this.#dn = 0;
    this.#completed += dn;
    if (this.#completed >= this.#nextProgressAt && ts - this.#lastProgressTs >= PROGRESS_MIN_GAP_MS) this.#progress(ts);
  }

  #tick(): void {
    const ts = Date.now();
    this.#now = ts;
    if (this.#stage === 'HostDiscovery' && ts - this.#lastProgressTs >= PROGRESS_MAX_GAP_MS) this.#discoveryProgress(ts, true);
    if (this.#stage !== 'PortScanning' || this.#job === undefined) return;
    if (ts - this.#lastCheckpointTs >= this.options.checkpointIntervalMs - TICK_MS / 2) {
      this.#flush();
      this.#checkpoint(ts);
      this.#publishMetrics(ts);
    }
    if (ts - this.#lastProgressTs >= PROGRESS_MAX_GAP_MS) {
      this.#flush();
      if (Date.now() - this.#lastProgressTs >= PROGRESS_MAX_GAP_MS) this.#progress(Date.now());
    }
  }

  #counters() {
    const c = this.counters;
    const b = this.#plan?.counters;
    return {
      packetsSent: (b?.packetsSent ?? 0) + c.packetsSent,
      packetsReceived: (b?.packetsReceived ?? 0) + c.packetsReceived,
      bytesSent: (b?.bytesSent ?? 0) + c.bytesSent,
      retriesSent: (b?.retriesSent ?? 0) + c.retriesSent,
      hostsCompleted: this.#hostsCompleted,
      hostsTotal: this.#hostsTotal,
    };
  }

  #progress(ts: number): void {
    if (ts < this.#lastProgressTs) ts = this.#lastProgressTs;
    const c = this.counters;
    const applied = this.#model.update(ts, {
      stage: 'PortScanning',
      completed: this.#completed,
      total: this.#job.length,
      inFlight: c.inFlight,
      retriesPending: c.retriesPending,
      waitRemainingMs: this.#engine?.waitRemainingMs() ?? 0,
      counters: this.#counters(),
    });
    this.#lastProgressTs = ts;
    this.#nextProgressAt = this.#completed + this.#progressStep;
    if (applied) this.#bus.publish(this.#model.toProgressUpdate(this.#scanId, ts));
  }

  /** The last ProgressUpdate of the port scan, kept 100 ms after the previous one (never more than 10 per second). */
  async #finalProgress(): Promise<void> {
    const wait = PROGRESS_MIN_GAP_MS - (Date.now() - this.#lastProgressTs);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.#flush();
    this.#progress(Date.now());
  }

  #checkpoint(ts: number): ScanCheckpoint {
    const job = this.#job;
    const e = scanCheckpoint(this.#scanId, ts, {
      seed: seedToHex(this.#seed),
      shard: job.shard.count > 1 ? { index: job.shard.index, count: job.shard.count } : undefined,
      stage: this.#stage ?? 'PortScanning',
      lowWater: job.lowWater,
      highWater: job.highWater,
      configHash: this.#hash,
      completed: this.#completed,
    });
    this.#lastCheckpointTs = ts;
    this.#bus.publish(e);
    return e;
  }

  #publishMetrics(ts: number): void {
    const bus = this.#bus, id = this.#scanId;
    const c = this.#counters();
    bus.publish(metricRecorded(id, ts, 'probes.sent', c.packetsSent, 'probes'));
    bus.publish(metricRecorded(id, ts, 'probes.answered', c.packetsReceived, 'probes'));
    bus.publish(metricRecorded(id, ts, 'probes.retried', c.retriesSent, 'probes'));
    bus.publish(metricRecorded(id, ts, 'retries.scheduled', this.#retries, 'probes'));
    if (this.#engine !== undefined) for (const m of this.#engine.metrics()) bus.publish(metricRecorded(id, ts, m.metric, m.value, m.unit));
    const l = this.#latency;
    if (l.count > 0) {
      // Reply captured → its PortFound delivered (results from replies only, not timeouts).
      bus.publish(metricRecorded(id, ts, 'results.latency.p50', Math.round(l.quantile(0.5) * 10) / 10, 'ms'));
      bus.publish(metricRecorded(id, ts, 'results.latency.p99', Math.round(l.quantile(0.99) * 10) / 10, 'ms'));
      bus.publish(metricRecorded(id, ts, 'results.latency.max', Math.round(l.maxMs * 10) / 10, 'ms'));
    }
  }
}

const STATE_NAMES = ['open', 'closed', 'filtered', 'unfiltered', 'open-filtered'] as const;

function seedValue(seed: bigint | number | string): bigint {
  try {
    return BigInt(seed);
  } catch {
    throw new ScanOptionError('seed', `scan: seed ${String(seed)} is not an integer from 0 to 2^64 - 1`);
  }
}

/**
 * ARP/NDP pacing: a neighbour on the segment answers within milliseconds, so a round waits
 * half the template's initial timeout (100–500 ms), and silent addresses get 1–2 more rounds.
 */
function neighborTiming(t: ResolvedTiming): { resolveTimeoutMs: number; resolveRetries: number } {
  return { resolveTimeoutMs: Math.max(100, Math.min(500, Math.round(t.initialRttMs / 2))), resolveRetries: Math.min(Math.max(t.maxRetries, 1), 2) };
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.message;
  return r === undefined ? 'aborted' : String(r);
}

function toSafe(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
