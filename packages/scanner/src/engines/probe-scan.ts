// The SYN and UDP scans: the native probe engine sends and captures on its
// own threads; this engine drains its two record rings in batches (one clock
// read per batch, nothing allocated per record but the address text of a
// result), classifies each record (record-classifier.ts), finds the record's
// position in the scan's job and hands the result to the scan, which batches
// the events and advances the job's water marks. It also drives the sender:
// pause/resume at once, the rate from rate control, and a second pass over
// positions whose record was lost (a full ring).
import { bytesToIp, ProbeBatch, RecordKind, RecordOffset, RECORD_SIZE, type ProbeEngineCounters, type ProbeEngineOptions, type RecordBatch } from '@portflow/native';
import { IcmpRateLimitDetector } from '../icmp-ratelimit.js';
import { RateController } from '../rate-control.js';
import { reasonCode } from '../results.js';
import { ScanEngineError } from '../scan-errors.js';
import type { ResolvedScanOptions } from '../scan-options.js';
import { defaultUdpPayloads } from '../udp-payloads.js';
import type { EngineHost, EngineMetric, ScanEngine } from './engine.js';
import { FinalPositions } from './final-positions.js';
import { HostTimeouts } from './host-timeout.js';
import type { ProbeBackend, ProbeEngineHandle, PreparedLink } from './probe-backend.js';
import { RttEstimator } from './rtt-estimator.js';
import { TryLoss, tryOfReply } from './try-loss.js';
import {
  classifyNoAnswer,
  classifySynReply,
  classifyUdpReply,
  CLOSED,
  IGNORE,
  OPEN,
  OPEN_FILTERED,
  outcomeReason,
  outcomeState,
  R_PORT_UNREACH,
} from './record-classifier.js';

export const R_ICMP_RATELIMIT = reasonCode('icmp-ratelimit');

/** Rate control and engine figures are looked at this often. */
const TICK_MS = 100;
/** Rate control decides once per this many ticks; every tick in slow start (a -T5 scan doubles 50,000 → 400,000 pps in 300 ms, not 600). */
const RATE_TICKS = 2;
/** Passes over positions whose record never came (lost to a full ring) before the scan fails. */
const MAX_PASSES = 3;
const PRUNE_MIN = 8192;
/** IP-layer sizes: Linux-like SYN (MSS, SACK, timestamps, WS: 20 option bytes); UDP headers. */
const SYN_BYTES = { 4: 60, 6: 80 } as const;
const UDP_HEADER_BYTES = { 4: 28, 6: 48 } as const;

/** Everything the scan hands a probe engine run; `link` is prepared once per scan. */
export interface ProbeScanSetup {
  readonly backend: ProbeBackend;
  readonly link: PreparedLink;
  readonly rate: RateController;
  /**
   * Publishes RateLimitTriggered and, next to it, MetricRecorded `rate.backoff.<reason>`
   * with what triggered it: kernel/ring drops (packets), or loss among the answering
   * hosts (the worst host's share of answers that needed a resend). The scan owns the bus.
   */
  readonly publishRateLimit: (currentRate: number, limit: number, reason: 'drops' | 'loss', value: number) => void;
}

export class ProbeScanEngine implements ScanEngine {
  readonly type: 'syn' | 'udp';
  readonly #o: ResolvedScanOptions;
  readonly #setup: ProbeScanSetup;
  readonly #udp: boolean;
  readonly #classify: (b: Uint8Array, off: number) => number;
  readonly #payloads: Map<number, Uint8Array>;
  readonly #icmp = new IcmpRateLimitDetector();

  #host!: EngineHost;
  #engine: ProbeEngineHandle | undefined;
  #scratch = new ProbeBatch(256);
  readonly #addr = new Uint8Array(16);
  /** Positions at or above the job's lowWater that have a final state in this run. */
  #final!: FinalPositions;
  #countersBase = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, retriesSent: 0 };
  /** Round trips from the send times replies echo (one sample per batch): the wait estimate. */
  readonly #rtt: RttEstimator;
  #finals = 0;
  /** UDP probes without an answer, held to the end: an ICMP rate limit may explain them. */
  readonly #held = new Map<string, number[]>();

  // Figures.
  #duplicates = 0;
  #strays = 0;
  #answered = 0;
  #answeredAtDecision = 0;
  /** Which try each TCP answer answered, per host: rate control's loss signal. */
  readonly #loss = new TryLoss();
  /** The current pass's source ports (a reply's local port gives its try back). */
  #srcFirst = 0;
  #srcCount = 1;
  #noAnswerRetries = 0;
  #base: ProbeEngineCounters | undefined;
  #total = { sent: 0, probes: 0, retries: 0, matched: 0, drops: 0, sendErrors: 0, noRoute: 0, captureErrors: 0 };
  #dropsAtDecision = 0;
  #sentAtDecision = 0;
  #decisionAt = 0;
  #lastRetrySample = 0;
  #ticks = 0;
  #bytesPerProbe: number;
  #passes = 0;
  #lastSend = 0;
  #ticker: NodeJS.Timeout | undefined;
  #stopControl: (() => void) | undefined;
  /** The host timeout's clocks (undefined: no hostTimeoutMs). */
  #hostTimeouts: HostTimeouts | undefined;
  /** Time spent paused, ms: host clocks stand still while the sender does. */
  #pausedMs = 0;
  #pausedAt = -1;

  constructor(options: ResolvedScanOptions, setup: ProbeScanSetup) {
    if (options.type !== 'syn' && options.type !== 'udp') throw new Error(`ProbeScanEngine: type ${options.type} is not a probe-engine scan`);
    this.type = options.type;
    this.#o = options;
    this.#setup = setup;
    this.#udp = options.type === 'udp';
    this.#classify = this.#udp ? classifyUdpReply : classifySynReply;
    this.#payloads = this.#udp ? defaultUdpPayloads() : new Map();
    this.#bytesPerProbe = 0;
    const t = options.timing;
    this.#rtt = new RttEstimator(t.initialRttMs, t.minRttMs, t.maxRttMs);
  }

  waitRemainingMs(): number {
    const c = this.#engine?.counters();
    const timeout = this.#rtt.timeoutMs;
    if (c === undefined || c.highWater < this.#host.job.length) return Math.round(timeout);
    // After the last first try: the probes in flight may still need every retry's timeout.
    if (c.inFlight === 0) return 0;
    return Math.max(0, Math.round(this.#lastSend + (this.#o.timing.maxRetries + 1) * timeout - performance.now()));
  }

  metrics(): readonly EngineMetric[] {
    const t = this.#total;
    return [
      { metric: 'probe.srtt', value: round3(this.#rtt.srttMs), unit: 'ms' },
      { metric: 'probe.timeout', value: round3(this.#rtt.timeoutMs), unit: 'ms' },
      { metric: 'probe.rate', value: round3(this.#setup.rate.rate === Infinity ? -1 : this.#setup.rate.rate), unit: 'pps' },
      { metric: 'probe.backoffs', value: this.#setup.rate.backoffs, unit: 'events' },
      { metric: 'probe.duplicates', value: this.#duplicates, unit: 'records' },
      { metric: 'probe.strays', value: this.#strays, unit: 'records' },
      { metric: 'probe.drops', value: t.drops, unit: 'packets' },
      { metric: 'probe.send_errors', value: t.sendErrors, unit: 'packets' },
      { metric: 'probe.no_route', value: t.noRoute, unit: 'probes' },
      { metric: 'probe.capture_errors', value: t.captureErrors, unit: 'errors' },
      { metric: 'probe.matched', value: t.matched, unit: 'packets' },
      { metric: 'probe.passes', value: this.#passes, unit: 'passes' },
      { metric: 'probe.no_answer_retries', value: this.#noAnswerRetries, unit: 'packets' },
      { metric: 'probe.first_try_answers', value: this.#loss.firstTryAnswers, unit: 'records' },
      { metric: 'probe.resent_answers', value: this.#loss.resentAnswers, unit: 'records' },
      { metric: 'probe.loss_share', value: round3(this.#loss.lastShare), unit: 'ratio' },
    ];
  }

  async run(host: EngineHost): Promise<void> {
    this.#host = host;
    this.#final = new FinalPositions(host.job, PRUNE_MIN);
    // What earlier stages (discovery) counted: this engine's packets add to it.
    this.#countersBase = { ...host.counters };
    const job = host.job;
    this.#bytesPerProbe = this.#estimateBytes();
    const start = job.lowWater;
    const expected = job.length - start;
    this.#stopControl = host.control.onChange((state) => {
      if (state === 'paused' && this.#pausedAt < 0) this.#pausedAt = performance.now();
      else if (state !== 'paused' && this.#pausedAt >= 0) {
        this.#pausedMs += performance.now() - this.#pausedAt;
        this.#pausedAt = -1;
      }
      const e = this.#engine;
      if (e === undefined) return;
      if (state === 'paused') e.pause();
      else if (state === 'running') e.resume();
      else if (state === 'cancelled') void e.stop();
    });
    const hostTimeoutMs = this.#o.timing.hostTimeoutMs;
    if (hostTimeoutMs !== undefined) this.#hostTimeouts = new HostTimeouts(hostTimeoutMs, job);
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    try {
      while (!host.control.cancelled && this.#finals < expected) {
        if (this.#passes === MAX_PASSES) {
          throw new ScanEngineError(
            'ERR_SCAN_RECORDS_LOST',
            `${this.type} scan: ${expected - this.#finals} probes never got an outcome from the probe engine after ${MAX_PASSES} passes (records lost: ${this.#total.drops} dropped); resume from the last checkpoint with a lower maxRate`,
          );
        }
        await this.#pass(job.lowWater);
      }
      this.#sampleRetries();
      if (!host.control.cancelled) this.#releaseHeld();
    } finally {
      clearInterval(this.#ticker);
      this.#stopControl?.();
      await this.#engine?.stop();
    }
  }

  /** One engine run from `position` to the end of the job. */
  async #pass(position: number): Promise<void> {
    const o = this.#o;
    const t = o.timing;
    const job = this.#host.job;
    const sourcePorts = this.#setup.backend.chooseSourcePorts(o.sourcePortCount);
    this.#srcFirst = sourcePorts.first;
    this.#srcCount = sourcePorts.count;
    const options: ProbeEngineOptions = {
      mode: this.#udp ? 'udp' : 'tcp-syn',
      job: job.jobLayout(position),
      link: this.#setup.link.plan,
      sourcePorts,
      rate: this.#setup.rate.rate,
      maxRetries: t.maxRetries,
      initialRttMs: t.initialRttMs,
      minRttMs: t.minRttMs,
      maxRttMs: t.maxRttMs,
      window: t.window,
      udpPayloads: this.#udp ? this.#payloads : undefined,
      // Every position is final before the linger starts, so it changes no result: late replies
      // are duplicates. UDP keeps 250 ms for the ICMP rate-limit detector's late unreachables.
      lingerMs: Math.min(1000, Math.max(this.#udp ? 250 : 100, Math.round(t.minRttMs * 2))),
    };
    if (this.#engine !== undefined) await this.#engine.stop();
    this.#base = undefined; // a new engine counts from 0
    const engine = this.#setup.backend.createProbeEngine(options, (b) => this.#onReplies(b), (b) => this.#onOutcomes(b));
    this.#engine = engine;
    this.#passes++;
    // Hosts an earlier pass gave up on stay given up.
    if (this.#hostTimeouts !== undefined && this.#hostTimeouts.timedOut.length > 0) engine.skipHosts(this.#hostTimeouts.timedOut);
    if (this.#host.control.paused) {
      engine.start();
      engine.pause();
    } else engine.start();
    // This pass's first rate decision measures from its start.
    this.#decisionAt = performance.now();
    this.#sentAtDecision = this.#total.sent;
    if (this.#host.control.cancelled) await engine.stop();
    await engine.done;
    // Records published just before the end.
    engine.replies.drain((b) => this.#onReplies(b));
    engine.outcomes.drain((b) => this.#onOutcomes(b));
    this.#accumulate(engine.counters());
    this.#publishCounters(0);
  }

  // ---- Records -------------------------------------------------------------------

  #onReplies(batch: RecordBatch): void {
    const b = batch.bytes;
    const classify = this.#classify;
    const time = Date.now(); // one clock read per batch
    const end = (batch.start + batch.count) * RECORD_SIZE;
    this.#sampleRtt(batch.view, batch.start * RECORD_SIZE, end);
    for (let off = batch.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      const kind = b[off + RecordOffset.kind];
      if (kind === RecordKind.Counters) continue;
      const outcome = classify(b, off);
      if (outcome === IGNORE) {
        this.#strays++;
        continue;
      }
      this.#deliver(b, off, outcome, b[off + RecordOffset.ttl], time);
    }
  }

  /** One round-trip sample per batch: the first reply that echoes our send clock (µs mod 2^32). */
  #sampleRtt(v: DataView, start: number, end: number): void {
    for (let off = start; off < end; off += RECORD_SIZE) {
      const echoed = v.getUint32(off + RecordOffset.echoedSend, true);
      if (echoed === 0) continue;
      const nowUs = Math.floor(v.getFloat64(off + RecordOffset.timeMs, true) * 1000) % 2 ** 32;
      const rttMs = (((nowUs - echoed) % 2 ** 32) + 2 ** 32) % 2 ** 32 / 1000;
      if (rttMs < 600_000) this.#rtt.observe(rttMs);
      return;
    }
  }

  #onOutcomes(batch: RecordBatch): void {
    const b = batch.bytes;
    const v = batch.view;
    const time = Date.now();
    const end = (batch.start + batch.count) * RECORD_SIZE;
    for (let off = batch.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      const kind = b[off + RecordOffset.kind];
      if (kind === RecordKind.NoAnswer) {
        const tries = v.getUint32(off + RecordOffset.count, true);
        if (tries > 1) {
          this.#noAnswerRetries += tries - 1;
          // A probe that was resent: the sample RetryScheduled names (no text built here).
          this.#retryFamily = b[off + RecordOffset.family];
          for (let i = 0; i < 16; i++) this.#retryAddr[i] = b[off + RecordOffset.addr + i];
          this.#retryPort = v.getUint16(off + RecordOffset.port, true);
          this.#retryTries = tries;
        }
        this.#deliver(b, off, classifyNoAnswer(b, off), -1, time);
      }
    }
  }
  readonly #retryAddr = new Uint8Array(16);
  #retryFamily = 0;
  #retryPort = 0;
  #retryTries = 0;

  /** A final outcome for the probe a record names. */
  #deliver(b: Uint8Array, off: number, outcome: number, ttl: number, time: number): void {
    const host = this.#host;
    const job = host.job;
    const family = b[off + RecordOffset.family] as 4 | 6;
    if (family !== 4 && family !== 6) {
      this.#strays++;
      return;
    }
    const a = this.#addr;
    const n = family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) a[i] = b[off + RecordOffset.addr + i];
    const port = b[off + RecordOffset.port] | (b[off + RecordOffset.port + 1] << 8);
    const index = job.indexOfBytes(family, a, port, this.#udp ? 'udp' : 'tcp');
    const position = index < 0 ? -1 : job.positionOf(index);
    if (position < 0) {
      this.#strays++;
      return;
    }
    if (this.#final.has(position)) {
      this.#duplicates++;
      return;
    }
    // The engine walks its own copy of the job: hand the position out here too.
    this.#issueThrough(position);
    this.#final.add(position);
    this.#finals++;
    this.#hostTimeouts?.final(index);
    const state = outcomeState(outcome);
    let address: string | undefined;
    if (state === OPEN || state === CLOSED) {
      this.#answered++;
      if (!this.#udp) {
        // Which try this answer answers (UDP's source port is its cookie, the same for every try).
        address = bytesToIp(b, off + RecordOffset.addr, family);
        const localPort = b[off + RecordOffset.localPort] | (b[off + RecordOffset.localPort + 1] << 8);
        this.#loss.answer(address, tryOfReply(localPort, index, this.#srcFirst, this.#srcCount));
      }
    }
    if (host.isReported(position)) {
      host.skip(position);
      return;
    }
    address ??= bytesToIp(b, off + RecordOffset.addr, family);
    if (this.#udp) {
      const reason = outcomeReason(outcome);
      // The limiter's pace shows in capture times, not in when a batch was drained.
      if (reason === R_PORT_UNREACH) this.#icmp.unreachable(address, family, readF64(b, off + RecordOffset.timeMs));
      if (state === OPEN_FILTERED) {
        // Held: decided at the end, when it is known whether the host limits ICMP.
        this.#icmp.unanswered(address, family);
        let list = this.#held.get(address);
        if (list === undefined) this.#held.set(address, (list = []));
        list.push(position, port);
        return;
      }
    }
    // ttl < 0 marks an outcome record (a timeout): no reply, no capture time.
    host.report(position, address, port, this.#udp, state, outcomeReason(outcome), ttl < 0 ? undefined : ttl, ttl < 0 ? NaN : readF64(b, off + RecordOffset.timeMs));
  }

  /** RetryScheduled samples for the retries counted since the last (the scan samples them to ≤ 2/s and counts each). */
  #sampleRetries(): void {
    const t = this.#total;
    if (t.retries <= this.#lastRetrySample || this.#retryFamily === 0) return;
    const n = t.retries - this.#lastRetrySample;
    this.#lastRetrySample = t.retries;
    const address = bytesToIp(this.#retryAddr, 0, this.#retryFamily as 4 | 6);
    const rtt = Math.round(this.#o.timing.initialRttMs);
    for (let i = 0; i < n; i++) this.#host.retryScheduled(address, this.#retryPort, this.#retryTries, this.#o.timing.maxRetries + 1, rtt);
  }

  /**
   * Hands the job's positions out through `position` (the engine has sent them). `sent`:
   * false when they are handed out only to make a timed-out host's positions final (the
   * other hosts among them were not probed yet: their clocks must not start).
   */
  #issueThrough(position: number, sent = true): void {
    // Most records name a position handed out long ago: a field read, not the job's getter
    // (it only grows, so a stale copy errs towards the full check below).
    if (position < this.#issued) return;
    const job = this.#host.job;
    if (job.highWater > position) {
      this.#issued = job.highWater;
      return;
    }
    const ht = sent ? this.#hostTimeouts : undefined;
    const now = ht === undefined ? 0 : this.#activeNow();
    while (job.highWater <= position) {
      const n = job.nextBatch(this.#scratch, Math.min(this.#scratch.capacity, position + 1 - job.highWater));
      ht?.handedOut(this.#scratch, n, now);
    }
    this.#issued = job.highWater;
  }
  /** The job's highWater when last read here (a lower bound of it). */
  #issued = 0;

  /** The clock of host timeouts: monotonic time less the time spent paused, ms. */
  #activeNow(): number {
    return performance.now() - this.#pausedMs;
  }

  /**
   * Hosts not finished hostTimeoutMs after their first probe: the sender skips them from its
   * next batch on, one WarningIssued HOST_TIMEOUT names each (the scan marks the host timed
   * out in its results) and its positions without a final state become final unreported, so
   * lowWater, checkpoints and the scan move on.
   */
  #expireHosts(e: ProbeEngineHandle): void {
    const ht = this.#hostTimeouts;
    if (ht === undefined) return;
    if (this.#pausedAt >= 0) return;
    const expired = ht.expired(this.#activeNow());
    if (expired.length === 0) return;
    const host = this.#host;
    const found = ht.unfinished(expired, (p) => this.#final.has(p));
    if (found.length === 0) return;
    const skip = found.map((f) => f.address);
    // First stop the sender, then report: nothing more goes to these hosts.
    e.skipHosts(skip);
    ht.timedOut.push(...skip);
    for (const f of found) {
      host.warn(ht.warning(f, this.#udp ? 'UDP' : 'TCP'), 'HOST_TIMEOUT', f.address);
      for (const p of f.positions) {
        this.#issueThrough(p, false);
        this.#final.add(p);
        this.#finals++;
        host.skip(p);
      }
    }
  }

  /** The held UDP outcomes: open|filtered, and why (no-response, or an ICMP rate limit). */
  #releaseHeld(): void {
    const host = this.#host;
    const limited = new Set(this.#icmp.limitedHosts());
    for (const address of limited) {
      const f = this.#icmp.figures(address)!;
      const n = (this.#held.get(address)?.length ?? 0) / 2;
      if (n === 0) continue;
      host.warn(
        `${address} rate-limits ICMP: ${f.unreachables} port unreachables in ${f.seconds.toFixed(1)} s is the ceiling of a Linux-default limiter (6 + ${f.family === 6 ? 10 : 1}/s), so ${n} UDP ports without an answer may be closed; they are reported open|filtered with reason icmp-ratelimit. Rescan them with a lower maxRate, more maxRetries, or with the target's ICMP limit lifted`,
        'ICMP_RATE_LIMITED',
        address,
      );
    }
    for (const [address, list] of this.#held) {
      const reason = limited.has(address) ? R_ICMP_RATELIMIT : outcomeReason(classifyNoAnswer(UDP_NOANSWER, 0));
      for (let i = 0; i < list.length; i += 2) host.report(list[i], address, list[i + 1], true, OPEN_FILTERED, reason, undefined);
    }
    this.#held.clear();
  }

  // ---- Ticks: control, counters, rate ------------------------------------------------

  #accumulate(c: ProbeEngineCounters): void {
    const b = this.#base;
    const t = this.#total;
    t.sent += c.sent - (b?.sent ?? 0);
    t.probes += c.probes - (b?.probes ?? 0);
    t.retries += c.retries - (b?.retries ?? 0);
    t.matched += c.matched - (b?.matched ?? 0);
    t.drops += c.kernelDrops + c.softnetDrops + c.ringOverflows - ((b?.kernelDrops ?? 0) + (b?.softnetDrops ?? 0) + (b?.ringOverflows ?? 0));
    t.sendErrors += (c.sendErrors ?? 0) - (b?.sendErrors ?? 0);
    t.noRoute += (c.noRoute ?? 0) - (b?.noRoute ?? 0);
    t.captureErrors += (c.captureErrors ?? 0) - (b?.captureErrors ?? 0);
    this.#base = c;
  }

  /** The scan's live counters (ProgressUpdate, MetricRecorded) from the engine's. */
  #publishCounters(inFlight: number): void {
    const hc = this.#host.counters;
    const t = this.#total;
    const b = this.#countersBase;
    hc.packetsSent = b.packetsSent + t.sent;
    hc.packetsReceived = b.packetsReceived + t.matched;
    hc.retriesSent = b.retriesSent + t.retries;
    hc.bytesSent = b.bytesSent + Math.round(t.sent * this.#bytesPerProbe);
    hc.inFlight = inFlight;
    // The engine resends on its own thread; what is pending is in inFlight.
    hc.retriesPending = 0;
  }

  #tick(): void {
    const e = this.#engine;
    if (e === undefined || e.state === 'stopped' || e.state === 'done' || e.state === 'created') return;
    const host = this.#host;
    const c = e.counters();
    const sentBefore = this.#total.sent;
    this.#accumulate(c);
    if (this.#total.sent > sentBefore) this.#lastSend = performance.now();
    // The engine's highWater: positions it has sent. Checkpoints say so too.
    if (c.highWater > 0) this.#issueThrough(Math.min(c.highWater, host.job.length) - 1);
    this.#expireHosts(e);
    this.#publishCounters(c.inFlight);
    const t = this.#total;
    // Retries become RetryScheduled through the scan, which samples them (≤ 2/s) and counts
    // every one; the sample names the latest resent probe a NoAnswer record told of.
    this.#sampleRetries();
    const rc = this.#setup.rate;
    if ((++this.#ticks % RATE_TICKS !== 0 && !rc.slowStart) || host.control.paused) return;
    // The rate achieved over this interval (the engine's own figure averages a whole second,
    // which would hold slow start back for a second after every step).
    const now = performance.now();
    const achieved = this.#decisionAt === 0 ? c.achievedRate : ((t.sent - this.#sentAtDecision) * 1000) / Math.max(1, now - this.#decisionAt);
    this.#decisionAt = now;
    this.#sentAtDecision = t.sent;
    const drops = t.drops - this.#dropsAtDecision;
    const answered = this.#answered - this.#answeredAtDecision;
    this.#dropsAtDecision = t.drops;
    this.#answeredAtDecision = this.#answered;
    const before = rc.rate;
    const lossShare = this.#udp ? 0 : this.#loss.take();
    const d = rc.update({ drops, answered, achievedRate: achieved, lossShare });
    if (rc.rate !== before) e.setRate(rc.rate);
    const limit = Math.round(before === Infinity ? c.achievedRate : before);
    if (d === 'backoff-drops') this.#setup.publishRateLimit(Math.round(rc.rate), limit, 'drops', drops);
    else if (d === 'backoff-loss') this.#setup.publishRateLimit(Math.round(rc.rate), limit, 'loss', round3(lossShare));
  }

  #estimateBytes(): number {
    const job = this.#host.job;
    const v4 = job.targets.ipv4Count;
    const v6 = Number(job.targets.ipv6Count);
    const share6 = v4 + v6 === 0 ? 0 : v6 / (v4 + v6);
    if (!this.#udp) return SYN_BYTES[4] * (1 - share6) + SYN_BYTES[6] * share6;
    let payload = 0, ports = 0;
    for (const [lo, hi] of job.ports.udp) {
      for (let p = lo; p <= hi; p++) payload += this.#payloads.get(p)?.length ?? 0;
      ports += hi - lo + 1;
    }
    const avg = ports === 0 ? 0 : payload / ports;
    return UDP_HEADER_BYTES[4] * (1 - share6) + UDP_HEADER_BYTES[6] * share6 + avg;
  }
}

const f64 = new DataView(new ArrayBuffer(8));
/** A little-endian f64 from bytes (the batch's DataView may be a different view of the same memory). */
function readF64(b: Uint8Array, off: number): number {
  for (let i = 0; i < 8; i++) f64.setUint8(i, b[off + i]);
  return f64.getFloat64(0, true);
}

/** A NoAnswer record of a UDP probe (to reuse the classifier's reason for it). */
const UDP_NOANSWER = (() => {
  const r = new Uint8Array(RECORD_SIZE);
  r[RecordOffset.kind] = RecordKind.NoAnswer;
  r[RecordOffset.proto] = 17;
  return r;
})();

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

