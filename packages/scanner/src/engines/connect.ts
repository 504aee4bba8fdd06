// The connect scan: non-blocking TCP connects through the kernel (no
// privileges), a bounded number in flight, timeouts adapted to the observed
// answer times. open = connected, closed = refused (or a TCP self-connect),
// filtered = no answer after the retries, or an ICMP unreachable.
//
// Node sockets cost an object per connect; nothing else is allocated per
// probe: slots are parallel arrays, handlers are shared functions bound to
// their socket through `this`, timeouts are one sweep over the slots.
import { Socket } from 'node:net';
import type { ProbeBatch } from '../job.js';
import { reasonCode, STATE_CODE } from '../results.js';
import { ScanResourceError } from '../scan-errors.js';
import type { ResolvedScanOptions } from '../scan-options.js';
import type { EngineHost, EngineMetric, ScanEngine } from './engine.js';
import { RttEstimator } from './rtt-estimator.js';

const OPEN = STATE_CODE.open;
const CLOSED = STATE_CODE.closed;
const FILTERED = STATE_CODE.filtered;
// nmap's reason words for a connect scan, plus self-connect.
const R_SYN_ACK = reasonCode('syn-ack');
const R_CONN_REFUSED = reasonCode('conn-refused');
const R_SELF_CONNECT = reasonCode('self-connect');
const R_NO_RESPONSE = reasonCode('no-response');
const R_HOST_UNREACH = reasonCode('host-unreach');
const R_NET_UNREACH = reasonCode('net-unreach');
const R_ADMIN_PROHIBITED = reasonCode('admin-prohibited');
const R_RESET = reasonCode('reset');

/** Answers that say something about the target (errno → state, reason). */
const ANSWER_ERRORS: Record<string, readonly [state: number, reason: number]> = {
  ECONNREFUSED: [CLOSED, R_CONN_REFUSED],
  ECONNRESET: [CLOSED, R_RESET],
  EHOSTUNREACH: [FILTERED, R_HOST_UNREACH],
  EHOSTDOWN: [FILTERED, R_HOST_UNREACH],
  ENETUNREACH: [FILTERED, R_NET_UNREACH],
  ENONET: [FILTERED, R_NET_UNREACH],
  EACCES: [FILTERED, R_ADMIN_PROHIBITED],
  EPERM: [FILTERED, R_ADMIN_PROHIBITED],
  ETIMEDOUT: [FILTERED, R_NO_RESPONSE],
};
/** Local shortages: they say nothing about the target, so the probe is sent again later with fewer in flight. */
const RESOURCE_ERRORS = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EAGAIN']);

/** SYN sizes at the IP layer as Linux builds them (MSS, SACK-permitted, timestamps, window scale: 20 option bytes). */
const SYN_BYTES_V4 = 60;
const SYN_BYTES_V6 = 80;

/** Resource errors in a row, at a concurrency of 1, before the scan gives up. */
const MAX_RESOURCE_STREAK = 200;
const FETCH = 256;

const kSlot = Symbol('portflow.connect.slot');
const kEngine = Symbol('portflow.connect.engine');
interface ProbeSocket extends Socket {
  [kSlot]: number;
  [kEngine]: ConnectEngine;
}

function onConnect(this: ProbeSocket): void {
  this[kEngine].connected(this);
}
function onError(this: ProbeSocket, err: NodeJS.ErrnoException): void {
  this[kEngine].failed(this, err);
}

export class ConnectEngine implements ScanEngine {
  readonly type = 'connect' as const;
  readonly #concurrency: number;
  readonly #maxRetries: number;
  readonly rtt: RttEstimator;

  // Slots: one per probe in flight.
  readonly #socket: (ProbeSocket | null)[];
  readonly #address: string[];
  readonly #port: Uint16Array;
  readonly #position: Float64Array;
  readonly #attempt: Uint8Array;
  readonly #started: Float64Array;
  readonly #deadline: Float64Array;
  readonly #expired: Uint8Array;
  readonly #free: Int32Array;
  #nfree: number;

  // Probes to send again (timeouts, local shortages), FIFO.
  #rq: { address: string; port: number; position: number; attempt: number }[] = [];
  #rqHead = 0;

  #host!: EngineHost;
  #batch!: ProbeBatch;
  #cursor = 0;
  #exhausted = false;
  #limit: number;
  #resourceStreak = 0;
  #resourceWarned = new Set<string>();
  #unknownWarned = new Set<string>();
  #selfConnects = 0;
  #timeouts = 0;
  #fillScheduled = false;
  #awaitingResume = false;
  #expiryScheduled = false;
  #backoff: NodeJS.Timeout | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #done = false;
  #resolve!: () => void;
  #reject!: (err: Error) => void;

  constructor(options: ResolvedScanOptions) {
    const n = options.concurrency;
    this.#concurrency = n;
    this.#limit = n;
    this.#maxRetries = options.maxRetries;
    this.rtt = new RttEstimator(options.initialTimeoutMs, options.minTimeoutMs, options.maxTimeoutMs);
    this.#socket = new Array<ProbeSocket | null>(n).fill(null);
    this.#address = new Array<string>(n).fill('');
    this.#port = new Uint16Array(n);
    this.#position = new Float64Array(n);
    this.#attempt = new Uint8Array(n);
    this.#started = new Float64Array(n);
    this.#deadline = new Float64Array(n);
    this.#expired = new Uint8Array(n);
    this.#free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#free[i] = n - 1 - i;
    this.#nfree = n;
  }

  run(host: EngineHost): Promise<void> {
    this.#host = host;
    this.#batch = host.job.createBatch(FETCH);
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      host.control.onCancel(() => this.#abort());
      // The sweep period follows the timeout: fine enough to keep timeouts
      // within a quarter of their length, coarse enough to cost nothing.
      this.#sweep = setInterval(() => this.#sweepTimeouts(), Math.max(5, Math.min(50, host.options.minTimeoutMs / 4)));
      this.#fill();
    });
  }

  get inFlight(): number {
    return this.#concurrency - this.#nfree;
  }

  waitRemainingMs(): number {
    if (!this.#exhausted || this.#rq.length > this.#rqHead) return Math.round(this.rtt.timeoutMs);
    let last = 0;
    for (let i = 0; i < this.#concurrency; i++) if (this.#socket[i] !== null && this.#deadline[i] > last) last = this.#deadline[i];
    return last === 0 ? 0 : Math.max(0, Math.round(last - performance.now()));
  }

  metrics(): readonly EngineMetric[] {
    return [
      { metric: 'connect.srtt', value: round3(this.rtt.srttMs), unit: 'ms' },
      { metric: 'connect.rttvar', value: round3(this.rtt.rttvarMs), unit: 'ms' },
      { metric: 'connect.timeout', value: round3(this.rtt.timeoutMs), unit: 'ms' },
      { metric: 'connect.concurrency', value: this.#limit, unit: 'probes' },
      { metric: 'connect.timeouts', value: this.#timeouts, unit: 'probes' },
      { metric: 'connect.self_connects', value: this.#selfConnects, unit: 'probes' },
    ];
  }

  // ---- Sending ---------------------------------------------------------------

  #scheduleFill(): void {
    if (this.#fillScheduled || this.#done) return;
    this.#fillScheduled = true;
    setImmediate(() => {
      this.#fillScheduled = false;
      this.#fill();
    });
  }

  #fill(): void {
    const host = this.#host;
    const control = host.control;
    if (this.#done) return;
    if (control.paused) {
      if (!this.#awaitingResume) {
        this.#awaitingResume = true;
        control.whenRunnable(() => {
          this.#awaitingResume = false;
          this.#scheduleFill();
        });
      }
      this.#maybeFinish();
      return;
    }
    if (control.cancelled || this.#backoff !== undefined) return;
    const now = performance.now();
    while (this.inFlight < this.#limit) {
      if (this.#rqHead < this.#rq.length) {
        const r = this.#rq[this.#rqHead++];
        if (this.#rqHead === this.#rq.length) {
          this.#rq = [];
          this.#rqHead = 0;
        }
        host.counters.retriesPending--;
        this.#start(r.address, r.port, r.position, r.attempt, now);
        continue;
      }
      const b = this.#batch;
      if (this.#cursor >= b.size) {
        if (this.#exhausted) break;
        // Hand out no more than can start now: highWater stays close to what is in flight.
        if (host.job.nextBatch(b, Math.min(FETCH, this.#limit - this.inFlight)) === 0) {
          this.#exhausted = true;
          break;
        }
        this.#cursor = 0;
      }
      const i = this.#cursor++;
      const position = b.start + i;
      if (host.isReported(position)) {
        host.skip(position);
        continue;
      }
      this.#start(b.address(i), b.port(i), position, 0, now);
    }
    this.#maybeFinish();
  }

  #start(address: string, port: number, position: number, attempt: number, now: number): void {
    const slot = this.#free[--this.#nfree];
    const s = new Socket() as ProbeSocket;
    s[kSlot] = slot;
    s[kEngine] = this;
    s.on('connect', onConnect);
    s.on('error', onError);
    this.#socket[slot] = s;
    this.#address[slot] = address;
    this.#port[slot] = port;
    this.#position[slot] = position;
    this.#attempt[slot] = attempt;
    this.#started[slot] = now;
    this.#deadline[slot] = now + this.rtt.timeoutMs;
    this.#expired[slot] = 0;
    const c = this.#host.counters;
    c.inFlight++;
    c.packetsSent++;
    c.bytesSent += address.includes(':') ? SYN_BYTES_V6 : SYN_BYTES_V4;
    if (attempt > 0) c.retriesSent++;
    s.connect(port, address);
  }

  #release(slot: number): void {
    this.#socket[slot] = null;
    this.#free[this.#nfree++] = slot;
    this.#host.counters.inFlight--;
  }

  // ---- Answers ---------------------------------------------------------------

  /** @internal 'connect' of a probe socket. */
  connected(s: ProbeSocket): void {
    const slot = s[kSlot];
    if (this.#socket[slot] !== s) return;
    const now = performance.now();
    this.rtt.observe(now - this.#started[slot]);
    const address = this.#address[slot], port = this.#port[slot];
    // A connect to a free port of our own address in the ephemeral range can
    // get that very port as its source and "connect" to itself (simultaneous
    // open): nothing listens there, so the port is closed.
    const self = s.localPort === port && s.localAddress === s.remoteAddress;
    // RST, not FIN: no TIME_WAIT left behind per open port, as nmap does.
    s.resetAndDestroy();
    this.#release(slot);
    this.#host.counters.packetsReceived++;
    this.#resourceStreak = 0;
    if (self) {
      this.#selfConnects++;
      this.#host.report(this.#position[slot], address, port, false, CLOSED, R_SELF_CONNECT, undefined);
    } else {
      this.#host.report(this.#position[slot], address, port, false, OPEN, R_SYN_ACK, undefined);
    }
    if (this.#limit < this.#concurrency) this.#limit++;
    this.#scheduleFill();
  }

  /** @internal 'error' of a probe socket. */
  failed(s: ProbeSocket, err: NodeJS.ErrnoException): void {
    const slot = s[kSlot];
    if (this.#socket[slot] !== s) return;
    const code = err.code ?? 'EUNKNOWN';
    const address = this.#address[slot], port = this.#port[slot], position = this.#position[slot];
    s.destroy();
    this.#release(slot);
    if (RESOURCE_ERRORS.has(code)) {
      this.#shortage(code, address, port, position, this.#attempt[slot]);
      return;
    }
    this.#resourceStreak = 0;
    const answer = ANSWER_ERRORS[code];
    if (answer !== undefined) {
      if (answer[0] === CLOSED) this.rtt.observe(performance.now() - this.#started[slot]);
      if (code !== 'ETIMEDOUT') this.#host.counters.packetsReceived++;
      this.#host.report(position, address, port, false, answer[0], answer[1], undefined);
    } else {
      // An errno this engine does not know says nothing reliable about the
      // port: filtered, with the errno as the reason, and one warning per errno.
      if (!this.#unknownWarned.has(code)) {
        this.#unknownWarned.add(code);
        this.#host.warn(`connect to ${address}:${port} failed with ${code} (${err.message}); such ports are reported filtered with reason "${code.toLowerCase()}"`, code, address, port);
      }
      this.#host.report(position, address, port, false, FILTERED, reasonCode(code.toLowerCase()), undefined);
    }
    if (this.#limit < this.#concurrency) this.#limit++;
    this.#scheduleFill();
  }

  #shortage(code: string, address: string, port: number, position: number, attempt: number): void {
    this.#rq.push({ address, port, position, attempt });
    this.#host.counters.retriesPending++;
    this.#limit = Math.max(1, Math.floor(this.inFlight * 0.75));
    if (!this.#resourceWarned.has(code)) {
      this.#resourceWarned.add(code);
      this.#host.warn(
        `connect to ${address}:${port}: ${code} (a local shortage of ${code === 'EMFILE' || code === 'ENFILE' ? 'file descriptors' : code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE' ? 'local ports' : 'kernel memory'}); probing again with at most ${this.#limit} in flight`,
        code,
        address,
        port,
      );
    }
    if (this.#limit === 1 && this.inFlight === 0 && ++this.#resourceStreak >= MAX_RESOURCE_STREAK) {
      this.#fail(new ScanResourceError(code, `connect scan: every connect fails with ${code} even one at a time; free ${code === 'EMFILE' || code === 'ENFILE' ? 'file descriptors (ulimit -n)' : 'local ports (net.ipv4.ip_local_port_range, TIME_WAIT sockets)'} and resume from the last checkpoint`));
      return;
    }
    // Give the kernel a moment (TIME_WAIT, closing sockets) before trying again.
    if (this.#backoff === undefined) {
      this.#backoff = setTimeout(() => {
        this.#backoff = undefined;
        this.#fill();
      }, 10);
    }
  }

  // ---- Timeouts --------------------------------------------------------------

  #sweepTimeouts(): void {
    const now = performance.now();
    let any = false;
    for (let i = 0; i < this.#concurrency; i++) {
      if (this.#socket[i] !== null && this.#expired[i] === 0 && this.#deadline[i] <= now) {
        this.#expired[i] = 1;
        any = true;
      }
    }
    // Expire in the check phase, after this loop turn has polled for I/O: an
    // answer that arrived while JavaScript was busy is read first, not lost.
    if (any && !this.#expiryScheduled) {
      this.#expiryScheduled = true;
      setImmediate(() => this.#expire());
    }
  }

  #expire(): void {
    this.#expiryScheduled = false;
    if (this.#done) return;
    const host = this.#host;
    for (let i = 0; i < this.#concurrency; i++) {
      const s = this.#socket[i];
      if (s === null || this.#expired[i] === 0) continue;
      const address = this.#address[i], port = this.#port[i], position = this.#position[i], attempt = this.#attempt[i];
      s.destroy();
      this.#release(i);
      this.#timeouts++;
      if (attempt < this.#maxRetries) {
        this.#rq.push({ address, port, position, attempt: attempt + 1 });
        host.counters.retriesPending++;
        host.retryScheduled(address, port, attempt + 2, this.#maxRetries + 1, 0);
      } else {
        host.report(position, address, port, false, FILTERED, R_NO_RESPONSE, undefined);
      }
    }
    this.#fill();
  }

  // ---- End -------------------------------------------------------------------

  #maybeFinish(): void {
    if (this.#done || !this.#exhausted || this.inFlight > 0 || this.#rqHead < this.#rq.length) return;
    this.#stop();
    this.#resolve();
  }

  #abort(): void {
    if (this.#done) return;
    // Answers to probes still in flight are not awaited: their positions stay
    // below highWater and a resume probes them again.
    for (let i = 0; i < this.#concurrency; i++) {
      const s = this.#socket[i];
      if (s !== null) {
        s.destroy();
        this.#release(i);
      }
    }
    this.#host.counters.retriesPending -= this.#rq.length - this.#rqHead;
    this.#rq = [];
    this.#rqHead = 0;
    this.#stop();
    this.#resolve();
  }

  #fail(err: Error): void {
    if (this.#done) return;
    for (let i = 0; i < this.#concurrency; i++) {
      const s = this.#socket[i];
      if (s !== null) {
        s.destroy();
        this.#release(i);
      }
    }
    this.#stop();
    this.#reject(err);
  }

  #stop(): void {
    this.#done = true;
    clearInterval(this.#sweep);
    if (this.#backoff !== undefined) clearTimeout(this.#backoff);
    this.#backoff = undefined;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
