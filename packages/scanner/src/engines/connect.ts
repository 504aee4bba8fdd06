// The connect scan: non-blocking TCP connects through the kernel (no privileges), run by
// the native connect engine (@portflow/native, src/connect/): one native thread walks its
// own copy of the scan job, keeps at most `concurrency` connects in flight with epoll,
// adapts the timeout to observed answer times and retries, and writes one record per
// outcome to a ring. This side reads the records in place, in batches (no object per
// probe), reports them to the scan, and keeps the scan's job (checkpoints) in step:
// the native thread may only hand out positions the scan's job has already handed out.
//
// open = connected, closed = refused (or a TCP self-connect), filtered = no answer after
// the retries, or an unreachable. Why native: on loopback a Node-socket engine spent 61%
// in the kernel's connect/close and most of the rest in per-socket objects and callbacks;
// it could not beat nmap -sT (packages/scanner/README.md, "Figures").
//
// The host timeout (hostTimeoutMs): host clocks start as the native engine hands positions
// out (its high water, read after each drain), not as this side does (up to `lead` ahead).
// A host given up is skipped natively, its positions without a result become final
// unreported, and the records still to come for it (connects that were in flight, records
// unread in the ring) are dropped by address: their positions are final already.
import { ConnectEngine as NativeConnect, ConnectStatus as S, RecordFlag, RecordKind, RecordOffset, RECORD_SIZE, bytesToIp, type RecordBatch } from '@portflow/native';
import { resumePlan } from '../checkpoint.js';
import type { ProbeBatch } from '../job.js';
import { reasonCode, STATE_CODE } from '../results.js';
import { ScanResourceError } from '../scan-errors.js';
import type { ResolvedScanOptions } from '../scan-options.js';
import { FinalPositions } from './final-positions.js';
import { HostTimeouts } from './host-timeout.js';
import { classifyConnectRecord, errnoName, outcomeReason, outcomeState, recordErrno, shortageWhat, UNKNOWN_ERRNO } from './connect-native.js';
import type { EngineHost, EngineMetric, ScanEngine } from './engine.js';

const FILTERED = STATE_CODE.filtered;
const FETCH = 4096;
/** How often the engine's status is read when no record arrives (a slow target, a pause). */
const POLL_MS = 20;
/** Final positions kept for the host timeout are pruned (below lowWater) once the set doubled from this. */
const PRUNE_MIN = 1024;

// Record offsets (docs/ARCHITECTURE.md, "Native record format").
const KIND = 1;
const FAMILY = 2;
const FLAGS = 3;
const PORT = 4;
const ADDR = 16;
const ATTEMPT = 36;
const POSITION = 56;

export class ConnectEngine implements ScanEngine {
  readonly type = 'connect' as const;
  readonly #options: ResolvedScanOptions;
  /** Positions handed to the native engine ahead of its own high water (2 × concurrency): it never waits for JavaScript. */
  readonly #lead: number;
  readonly #status = new Float64Array(19);

  #host!: EngineHost;
  #native: NativeConnect | undefined;
  #scratch!: ProbeBatch;
  #skip: Float64Array = new Float64Array(0);
  #skipAt = 0;
  #nativePaused = false;
  #shortagesSeen = 0;
  readonly #unknownWarned = new Set<number>();
  #poll: NodeJS.Timeout | undefined;
  #done = false;
  #resolve!: () => void;
  #reject!: (err: Error) => void;
  // The last address decoded, per family: records of one target in a row cost no string.
  #v4Key = -1;
  #v4 = '';
  readonly #v6Key = new Uint8Array(16);
  #v6 = '';

  // ---- The host timeout (all unused without hostTimeoutMs) ----
  #hostTimeouts: HostTimeouts | undefined;
  /** Final positions at or above the job's lowWater: which of a host's positions are left when it is given up. */
  #final!: FinalPositions;
  /** The native high water the host clocks have followed to. */
  #clockedTo = 0;
  /** Hosts given up on: their records are dropped (their positions were made final at the warning). */
  readonly #givenUp = new Set<string>();
  #pausedMs = 0;
  #pausedAt = -1;
  #stopControl: (() => void) | undefined;

  constructor(options: ResolvedScanOptions) {
    this.#options = options;
    this.#lead = Math.max(512, 2 * options.concurrency);
  }

  run(host: EngineHost): Promise<void> {
    this.#host = host;
    this.#final = new FinalPositions(host.job, PRUNE_MIN);
    const o = this.#options;
    const job = host.job;
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      try {
        this.#scratch = job.createBatch(FETCH);
        const start = job.highWater;
        if (o.resumeFrom !== undefined) {
          // Positions the interrupted run already reported: the native engine must not probe them.
          const reported = [...resumePlan(o.resumeFrom, o.resumeEvents, job).reported].filter((p) => p >= start && host.isReported(p));
          this.#skip = Float64Array.from(reported.sort((a, b) => a - b));
        }
        const hostTimeoutMs = o.timing.hostTimeoutMs;
        if (hostTimeoutMs !== undefined) {
          this.#hostTimeouts = new HostTimeouts(hostTimeoutMs, job);
          this.#clockedTo = start;
          if (host.control.paused) this.#pausedAt = performance.now();
          this.#stopControl = host.control.onChange((state) => {
            if (state === 'paused' && this.#pausedAt < 0) this.#pausedAt = performance.now();
            else if (state !== 'paused' && this.#pausedAt >= 0) {
              this.#pausedMs += performance.now() - this.#pausedAt;
              this.#pausedAt = -1;
            }
          });
        }
        const layout = job.jobLayout(start);
        this.#advance(Math.min(job.length, start + this.#lead));
        this.#nativePaused = host.control.paused;
        this.#native = new NativeConnect({
          job: layout,
          end: job.highWater,
          concurrency: o.concurrency,
          maxRetries: o.maxRetries,
          initialTimeoutMs: o.initialTimeoutMs,
          minTimeoutMs: o.minTimeoutMs,
          maxTimeoutMs: o.maxTimeoutMs,
          skip: this.#skip,
          paused: this.#nativePaused,
          onRecords: (b) => this.#onRecords(b),
          onDrained: () => this.#afterDrain(),
          onError: (err) => this.#fail(err instanceof Error ? err : new Error(String(err))),
        });
        if (this.#nativePaused) host.control.whenRunnable(() => this.#syncPause());
        host.control.onCancel(() => this.#abort());
        this.#poll = setInterval(() => this.#afterDrain(), POLL_MS);
        if (!this.#done) this.#native.start();
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  waitRemainingMs(): number {
    const st = this.#status;
    if (st[S.inFlight] === 0 && st[S.retriesPending] === 0) return 0;
    return Math.round(st[S.timeoutMs]);
  }

  metrics(): readonly EngineMetric[] {
    const st = this.#status;
    return [
      { metric: 'connect.srtt', value: round3(st[S.srttMs]), unit: 'ms' },
      { metric: 'connect.rttvar', value: round3(st[S.rttvarMs]), unit: 'ms' },
      { metric: 'connect.timeout', value: round3(st[S.timeoutMs]), unit: 'ms' },
      { metric: 'connect.concurrency', value: st[S.limit], unit: 'probes' },
      { metric: 'connect.timeouts', value: st[S.timeouts], unit: 'probes' },
      { metric: 'connect.self_connects', value: st[S.selfConnects], unit: 'probes' },
    ];
  }

  // ---- The scan's job, kept ahead of the native one ----------------------------

  /** Hands out the scan job's positions up to `target`; positions a resumed run already reported are skipped here too. */
  #advance(target: number): void {
    const job = this.#host.job;
    const b = this.#scratch;
    while (job.highWater < target) {
      const n = job.nextBatch(b, Math.min(FETCH, target - job.highWater));
      if (n === 0) break;
      const end = b.start + n;
      const skip = this.#skip;
      const ht = this.#hostTimeouts;
      while (this.#skipAt < skip.length && skip[this.#skipAt] < end) {
        const p = skip[this.#skipAt++];
        this.#host.skip(p);
        ht?.final(job.indexAt(p));
      }
    }
  }

  // ---- Records ---------------------------------------------------------------------

  #onRecords(batch: RecordBatch): void {
    if (this.#done) return;
    const host = this.#host;
    const control = host.control;
    const { bytes, view } = batch;
    const maxAttempts = this.#options.maxRetries + 1;
    for (let off = batch.start * RECORD_SIZE, end = off + batch.count * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      const kind = bytes[off + KIND];
      if ((bytes[off + FLAGS] & RecordFlag.JobPosition) === 0) continue; // Counters
      const port = view.getUint16(off + PORT, true);
      const address = this.#address(bytes, view, off);
      // A host given up on: its positions are final already (unreported).
      if (this.#givenUp.size !== 0 && this.#givenUp.has(address)) continue;
      if (kind === RecordKind.RetriesSent) {
        host.retryScheduled(address, port, view.getUint32(off + ATTEMPT, true), maxAttempts, 0);
        continue;
      }
      const position = view.getFloat64(off + POSITION, true);
      const o = classifyConnectRecord(bytes, view, off);
      if (o === UNKNOWN_ERRNO) {
        // An errno this engine does not know says nothing reliable about the port:
        // filtered, with the errno as the reason, and one warning per errno.
        const errno = recordErrno(view, off);
        const code = errnoName(errno);
        if (!this.#unknownWarned.has(errno)) {
          this.#unknownWarned.add(errno);
          host.warn(`connect to ${address}:${port} failed with ${code}; such ports are reported filtered with reason "${code.toLowerCase()}"`, code, address, port);
        }
        host.report(position, address, port, false, FILTERED, reasonCode(code.toLowerCase()), undefined);
      } else {
        // A NoAnswer is a timeout, not an answer seen at its record's time.
        const seen = kind === RecordKind.NoAnswer ? NaN : view.getFloat64(off + RecordOffset.timeMs, true);
        host.report(position, address, port, false, outcomeState(o), outcomeReason(o), undefined, seen);
      }
      const ht = this.#hostTimeouts;
      if (ht !== undefined) {
        this.#final.add(position);
        ht.final(host.job.indexAt(position));
      }
      // A subscriber may pause or cancel from inside report(): stop here, at once.
      if (this.#done) return;
      if (control.paused !== this.#nativePaused) this.#syncPause();
    }
  }

  #address(bytes: Uint8Array, view: DataView, off: number): string {
    if (bytes[off + FAMILY] === 4) {
      const key = view.getUint32(off + ADDR, false);
      if (key !== this.#v4Key) {
        this.#v4Key = key;
        this.#v4 = bytesToIp(bytes, off + ADDR, 4);
      }
      return this.#v4;
    }
    const k = this.#v6Key;
    let same = this.#v6 !== '';
    for (let i = 0; i < 16 && same; i++) same = k[i] === bytes[off + ADDR + i];
    if (!same) {
      k.set(bytes.subarray(off + ADDR, off + ADDR + 16));
      this.#v6 = bytesToIp(bytes, off + ADDR, 6);
    }
    return this.#v6;
  }

  #syncPause(): void {
    const n = this.#native;
    if (n === undefined || this.#done) return;
    const paused = this.#host.control.paused;
    if (paused === this.#nativePaused) return;
    this.#nativePaused = paused;
    if (paused) {
      n.pause();
      this.#host.control.whenRunnable(() => this.#syncPause());
    } else n.resume();
  }

  /** After each drain (and every POLL_MS): counters, warnings, the native engine's end, the finish. */
  #afterDrain(): void {
    const n = this.#native;
    if (n === undefined || this.#done) return;
    n.readStatus();
    const st = n.status;
    this.#status.set(st);
    const host = this.#host;
    const c = host.counters;
    c.packetsSent = st[S.sent];
    c.packetsReceived = st[S.received];
    c.bytesSent = st[S.bytesSent];
    c.retriesSent = st[S.retries];
    c.inFlight = st[S.inFlight];
    c.retriesPending = st[S.retriesPending];
    if (st[S.shortages] > this.#shortagesSeen) {
      this.#shortagesSeen = st[S.shortages];
      for (const s of n.takeShortages()) {
        host.warn(`connect to ${s.address}:${s.port}: ${s.code} (a local shortage of ${shortageWhat(s.code).short}); probing again with at most ${s.limit} in flight`, s.code, s.address, s.port);
      }
    }
    if (this.#host.control.paused !== this.#nativePaused) this.#syncPause();
    if (st[S.done] === 1) {
      this.#finish();
      return;
    }
    if (this.#hostTimeouts !== undefined) this.#expireHosts(n);
    const job = host.job;
    if (job.highWater < job.length && job.highWater - st[S.highWater] < this.#lead / 2) this.#advance(Math.min(job.length, st[S.highWater] + this.#lead));
    // Also wakes the engine when it waits for this side to read records.
    n.setEnd(job.highWater);
  }

  // ---- The host timeout -------------------------------------------------------------

  /** The clock of host timeouts: monotonic time less the time spent paused, ms. */
  #activeNow(): number {
    return performance.now() - this.#pausedMs;
  }

  /**
   * Starts the clocks of hosts the native engine has sent to since the last call, then gives
   * up the hosts not finished hostTimeoutMs after their first probe: the native engine skips
   * them from its next probe on, one WarningIssued HOST_TIMEOUT names each (the scan marks
   * the host timed out in its results) and its positions without a result become final
   * unreported, so lowWater, checkpoints and the scan move on.
   */
  #expireHosts(n: NativeConnect): void {
    const ht = this.#hostTimeouts!;
    const host = this.#host;
    const job = host.job;
    const now = this.#activeNow();
    const sent = n.status[S.highWater];
    for (; this.#clockedTo < sent; this.#clockedTo++) {
      // Positions a resumed run reported are not probed: they start no clock.
      if (!host.isReported(this.#clockedTo)) ht.sentAt(this.#clockedTo, now);
    }
    if (this.#pausedAt >= 0) return;
    const expired = ht.expired(now);
    if (expired.length === 0) return;
    // A given-up host's clock restarted by a position of its own the native engine dropped is not given up twice.
    const fresh = expired.filter((x) => !this.#givenUp.has(x.address));
    const found = ht.unfinished(fresh, (p) => this.#final.has(p) || host.isReported(p));
    if (found.length === 0) return;
    const skip = found.map((f) => f.address);
    // First stop the native engine, then report: nothing more goes to these hosts.
    n.skipHosts(skip);
    for (const a of skip) this.#givenUp.add(a);
    for (const f of found) {
      host.warn(ht.warning(f, 'TCP'), 'HOST_TIMEOUT', f.address);
      // Positions not handed out yet on the scan's job are handed out first (the native
      // engine may then walk up to them: it drops this host's).
      const last = f.positions[f.positions.length - 1];
      if (last >= job.highWater) this.#advance(last + 1);
      for (const p of f.positions) {
        this.#final.add(p);
        host.skip(p);
      }
    }
  }

  // ---- End -------------------------------------------------------------------------

  #finish(): void {
    const n = this.#native!;
    // `done` is set after the last record was published: read what is left.
    n.ring.drain((b) => this.#onRecords(b));
    if (this.#done) return;
    n.readStatus();
    this.#status.set(n.status);
    const fatal = n.status[S.fatalErrno];
    this.#stop();
    if (fatal !== 0) {
      const code = errnoName(fatal);
      this.#reject(new ScanResourceError(code, `connect scan: every connect fails with ${code} even one at a time; free ${shortageWhat(code).fix} and resume from the last checkpoint`));
      return;
    }
    const c = this.#host.counters;
    c.inFlight = 0;
    c.retriesPending = 0;
    this.#resolve();
  }

  #abort(): void {
    if (this.#done) return;
    // Answers to probes still in flight are not awaited: their positions stay below
    // highWater and a resume probes them again.
    this.#stop();
    const c = this.#host.counters;
    c.inFlight = 0;
    c.retriesPending = 0;
    this.#resolve();
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#stop();
    this.#reject(err);
  }

  #stop(): void {
    this.#done = true;
    clearInterval(this.#poll);
    this.#stopControl?.();
    const n = this.#native;
    if (n === undefined) return;
    n.stop();
    this.#status.set(n.status);
    // Closed after the current drain returns: a batch being read stays valid until then.
    setImmediate(() => n.ring.close());
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
