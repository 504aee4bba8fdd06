// The host timeout (nmap --host-timeout): a host not finished hostTimeoutMs after its first
// probe is given up. This keeps the clocks; the probe scan engine acts on what expired
// (tells the sender to skip the host, warns, makes the host's remaining positions final);
// the connect scan's engine does the same with the native connect engine.
//
// Hosts are keyed by their host index (index = portIndex × hostCount + hostIndex), so the
// probes the engine sends are followed without building address text per probe: a host's
// clock starts when the first of its positions is handed out on the scanner's job, which
// follows the sender's highWater (every tick) and the records (every batch), so it starts
// at most one tick after the host's first probe left.
import type { ProbeBatch } from '@portflow/native';
import type { ScanJob } from '../job.js';

interface HostClock {
  readonly start: number;
  readonly address: string;
  finals: number;
}

export interface ExpiredHost {
  readonly hostIndex: number;
  readonly address: string;
}

export interface UnfinishedHost {
  readonly address: string;
  /** Its positions not final yet, ascending. */
  readonly positions: number[];
  /** Its positions in this shard. */
  readonly total: number;
}

export class HostTimeouts {
  readonly timeoutMs: number;
  readonly #job: ScanJob;
  readonly #hostCount: number;
  /** Positions of one host in this shard: known only without shards (else found at expiry). */
  readonly #perHost: number;
  /** Hosts started and not finished, in start order (Map keeps insertion order). */
  readonly #clocks = new Map<number, HostClock>();
  /** Hosts given up on (their addresses, for the sender of a later pass). */
  readonly timedOut: string[] = [];

  constructor(timeoutMs: number, job: ScanJob) {
    this.timeoutMs = timeoutMs;
    this.#job = job;
    this.#hostCount = job.hostCount;
    this.#perHost = job.shard.count === 1 ? job.portCount : Infinity;
  }

  /** Probes i in [0, n) of `batch` were just handed out (sent by the engine), at `now` (ms). */
  handedOut(batch: ProbeBatch, n: number, now: number): void {
    const hc = this.#hostCount;
    for (let i = 0; i < n; i++) {
      const h = batch.index(i) % hc;
      if (!this.#clocks.has(h)) this.#clocks.set(h, { start: now, address: batch.address(i), finals: 0 });
    }
  }

  /**
   * The probe at `position` was just sent, at `now` (ms): starts its host's clock if it is
   * the host's first. For engines that follow a sender's high water position by position
   * (the connect scan); reads the index natively, builds the address only for a new host.
   */
  sentAt(position: number, now: number): void {
    const h = this.#job.indexAt(position) % this.#hostCount;
    if (!this.#clocks.has(h)) this.#clocks.set(h, { start: now, address: this.#job.probeAt(position).address, finals: 0 });
  }

  /** The position of a probe of host index `index % hostCount` became final. */
  final(index: number): void {
    const h = index % this.#hostCount;
    const c = this.#clocks.get(h);
    if (c !== undefined && ++c.finals >= this.#perHost) this.#clocks.delete(h);
  }

  /** Hosts whose time ran out at `now` (removed from the clocks). */
  expired(now: number): ExpiredHost[] {
    const out: ExpiredHost[] = [];
    for (const [h, c] of this.#clocks) {
      // Start order: the first host still within its time ends the search.
      if (now - c.start < this.timeoutMs) break;
      this.#clocks.delete(h);
      out.push({ hostIndex: h, address: c.address });
    }
    return out;
  }

  /**
   * The host's positions in this shard that `isFinal` does not call final yet, ascending;
   * `total`: all of its positions in this shard.
   */
  /**
   * The hosts among `expired` with positions not final yet, and those positions (ascending);
   * a host that finished in time after all (a shard's count was unknown) is left out.
   */
  unfinished(expired: readonly ExpiredHost[], isFinal: (position: number) => boolean): UnfinishedHost[] {
    const out: UnfinishedHost[] = [];
    for (const x of expired) {
      const r = this.#remaining(x.hostIndex, isFinal);
      if (r.positions.length > 0) out.push({ address: x.address, ...r });
    }
    return out;
  }

  /** The HOST_TIMEOUT warning for a host given up on. */
  warning(h: UnfinishedHost, protocol: 'TCP' | 'UDP'): string {
    return `${h.address}: skipped due to host timeout: not finished ${this.timeoutMs} ms after its first probe; ${h.positions.length} of its ${h.total} ${protocol} ports were left unscanned and are not reported (raise hostTimeoutMs to scan it fully)`;
  }

  #remaining(hostIndex: number, isFinal: (position: number) => boolean): { positions: number[]; total: number } {
    const job = this.#job;
    const positions: number[] = [];
    let total = 0;
    for (let p = 0; p < job.portCount; p++) {
      const position = job.positionOf(p * this.#hostCount + hostIndex);
      if (position < 0) continue;
      total++;
      if (!isFinal(position)) positions.push(position);
    }
    positions.sort((a, b) => a - b);
    return { positions, total };
  }
}
