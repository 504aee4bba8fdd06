// A fake probe engine for unit tests (no root, no packets): it walks its own
// copy of the scan job exactly as the native engine does (the same NativeJob
// from the layout it is given) and writes, for every probe, the records a
// network described by the test would produce, in the native record format
// (RecordOffset), into JavaScript rings that hand out batches like RecordRing.
import {
  NativeJob,
  ProbeBatch,
  RECORD_SIZE,
  RecordKind,
  RecordOffset,
  type LinkPlan,
  type ProbeEngineCounters,
  type ProbeEngineOptions,
  type ProbeEngineState,
  type RecordBatch,
} from '@portflow/native';
import type { ProbeBackend, ProbeEngineHandle, RecordSource } from '../../src/engines/probe-backend.js';

/** What the fake network answers to one probe (each answer is one reply record). */
export type FakeAnswer =
  | { kind: 'syn-ack' | 'rst' | 'udp' }
  | { kind: 'icmp'; type: number; code: number; reporter?: 'target' | 'router' }
  | { kind: 'echo-reply' | 'timestamp-reply' }
  | { kind: 'none' };

export interface FakeProbe {
  address: string;
  family: 4 | 6;
  /** Destination port (scan) or method number (discovery, 1-based). */
  port: number;
  proto: 'tcp' | 'udp';
  mode: ProbeEngineOptions['mode'];
  position: number;
}

export interface FakeNetwork {
  /** The answers to `probe` (several: duplicates). */
  answer(probe: FakeProbe): FakeAnswer[];
  /**
   * True: the probe never gets an outcome while its host is not skipped: it stays in flight
   * and is resent every turn (a host that never finishes), as if its timeout were endless.
   */
  stalls?(probe: FakeProbe): boolean;
  /** Tries the probe needs before an answer arrives (1 = first try; loss); default 1. */
  tries?(probe: FakeProbe): number;
  ttl?: number;
  /** Probes per turn (the fake's "rate"). */
  perTurn?: number;
  /** Milliseconds between turns (default: the next event-loop turn). */
  turnMs?: number;
  /** Kernel drops to report after this many probes. */
  dropsAfter?: { probes: number; drops: number };
  /** Error counters the engine reports (fixed from the start). */
  errors?: { sendErrors?: number; noRoute?: number; captureErrors?: number };
}

class FakeRing implements RecordSource {
  #buf = new Uint8Array(RECORD_SIZE * 64);
  #n = 0;
  readonly #batch: RecordBatch = { bytes: this.#buf, view: new DataView(this.#buf.buffer), start: 0, count: 0 };

  /** Room for one record; returns its byte offset. */
  claim(): { bytes: Uint8Array; view: DataView; off: number } {
    if ((this.#n + 1) * RECORD_SIZE > this.#buf.length) {
      const next = new Uint8Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    const off = this.#n++ * RECORD_SIZE;
    this.#buf.fill(0, off, off + RECORD_SIZE);
    return { bytes: this.#buf, view: new DataView(this.#buf.buffer), off };
  }

  get pending(): number {
    return this.#n;
  }

  drain(handler: (b: RecordBatch) => void, limit = Infinity): number {
    if (this.#n === 0) return 0;
    const n = Math.min(this.#n, limit);
    const b = this.#batch as { bytes: Uint8Array; view: DataView; start: number; count: number };
    b.bytes = this.#buf;
    b.view = new DataView(this.#buf.buffer);
    b.start = 0;
    b.count = n;
    handler(b);
    this.#buf.copyWithin(0, n * RECORD_SIZE, this.#n * RECORD_SIZE);
    this.#n -= n;
    return n;
  }
}

export class FakeProbeEngine implements ProbeEngineHandle {
  readonly replies = new FakeRing();
  readonly outcomes = new FakeRing();
  readonly done: Promise<void>;
  readonly options: ProbeEngineOptions;
  /** Rates set by rate control, in order. */
  readonly rates: number[] = [];
  /** Probes sent while paused (must stay 0). */
  sentWhilePaused = 0;
  /** skipHosts calls, in order. */
  readonly skipCalls: string[][] = [];
  /** Positions made final without a probe (first try or resend) because their host was skipped. */
  skipped = 0;
  /** Packets sent per address (first tries and resends). */
  readonly sentTo = new Map<string, number>();
  /** sentTo of each skipped address when skipHosts named it. */
  readonly sentAtSkip = new Map<string, number>();
  readonly #skip = new Set<string>();
  /** Probes in flight for good (stalls), resent every turn until their host is skipped. */
  #stalled: FakeProbe[] = [];
  #state: ProbeEngineState = 'created';
  readonly #net: FakeNetwork;
  readonly #job: NativeJob;
  readonly #end: number;
  readonly #batch = new ProbeBatch(256);
  readonly #onReplies: (b: RecordBatch) => void;
  readonly #onOutcomes: (b: RecordBatch) => void;
  #resolve!: () => void;
  readonly #c: ProbeEngineCounters = {
    sent: 0, probes: 0, retries: 0, received: 0, matched: 0, duplicates: 0, strays: 0, ringOverflows: 0,
    kernelDrops: 0, softnetDrops: 0, sendBackpressure: 0, lowWater: 0, highWater: 0, inFlight: 0, achievedRate: 0,
  };

  constructor(options: ProbeEngineOptions, net: FakeNetwork, onReplies: (b: RecordBatch) => void, onOutcomes: (b: RecordBatch) => void) {
    this.options = options;
    this.#net = net;
    this.#job = new NativeJob(options.job);
    this.#end = options.end ?? this.#job.length;
    this.#onReplies = onReplies;
    this.#onOutcomes = onOutcomes;
    this.done = new Promise((r) => (this.#resolve = r));
    this.#c.lowWater = this.#c.highWater = options.job.position;
  }

  get state(): ProbeEngineState {
    return this.#state;
  }
  start(): void {
    this.#state = 'running';
    setImmediate(() => this.#turn());
  }
  pause(): void {
    if (this.#state === 'running') this.#state = 'paused';
  }
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    setImmediate(() => this.#turn());
  }
  setRate(pps: number): void {
    this.rates.push(pps);
  }
  skipHosts(addresses: readonly string[]): void {
    this.skipCalls.push([...addresses]);
    for (const a of addresses) {
      this.#skip.add(a);
      this.sentAtSkip.set(a, this.sentTo.get(a) ?? 0);
    }
  }
  counters(): ProbeEngineCounters {
    return { ...this.#c, ...this.#net.errors, achievedRate: this.options.rate };
  }
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'done') return;
    this.#state = 'stopped';
    this.#resolve();
  }

  #turn(): void {
    if (this.#state !== 'running') return;
    // As the native sender: resends of probes in flight first, none to skipped hosts.
    const c0 = this.#c;
    this.#stalled = this.#stalled.filter((p) => {
      if (this.#skip.has(p.address)) {
        this.skipped++;
        return false;
      }
      c0.sent++;
      c0.retries++;
      this.#count(p.address);
      return true;
    });
    c0.inFlight = this.#stalled.length;
    const job = this.#job;
    const left = this.#end - job.highWater;
    const n = left <= 0 ? 0 : job.nextBatch(this.#batch, Math.min(this.#net.perTurn ?? 64, left));
    const b = this.#batch;
    for (let i = 0; i < n; i++) this.#probe(b, i);
    this.#c.highWater = job.highWater;
    this.#c.lowWater = job.highWater;
    const d = this.#net.dropsAfter;
    if (d && this.#c.probes >= d.probes && this.#c.kernelDrops === 0) this.#c.kernelDrops = d.drops;
    // The doorbell: each ring's consumer gets what was written this turn.
    this.replies.drain(this.#onReplies);
    this.outcomes.drain(this.#onOutcomes);
    if (job.highWater >= this.#end && this.#stalled.length === 0) {
      this.#state = 'done';
      this.#resolve();
      return;
    }
    this.#next();
  }

  #next(): void {
    if (this.#net.turnMs) setTimeout(() => this.#turn(), this.#net.turnMs);
    else setImmediate(() => this.#turn());
  }

  #probe(b: ProbeBatch, i: number): void {
    if (this.#state === 'paused') this.sentWhilePaused++;
    const mode = this.options.mode;
    const family = b.family(i);
    const p: FakeProbe = { address: b.address(i), family, port: b.port(i), proto: b.kindName(i), mode, position: b.position(i) };
    if (this.#skip.has(p.address)) {
      this.skipped++;
      return;
    }
    if (this.#net.stalls?.(p)) {
      this.#c.probes++;
      this.#c.sent++;
      this.#count(p.address);
      this.#stalled.push(p);
      return;
    }
    const answers = this.#net.answer(p);
    const tries = Math.min(this.#net.tries?.(p) ?? 1, this.options.maxRetries + 1);
    const c = this.#c;
    c.probes++;
    const answered = answers.some((a) => a.kind !== 'none') && (this.#net.tries?.(p) ?? 1) <= this.options.maxRetries + 1;
    const sent = answered ? tries : this.options.maxRetries + 1;
    c.sent += sent;
    this.sentTo.set(p.address, (this.sentTo.get(p.address) ?? 0) + sent);
    c.retries += sent - 1;
    if (sent > 1) {
      const r = this.outcomes.claim();
      r.bytes[r.off + RecordOffset.version] = 1;
      r.bytes[r.off + RecordOffset.kind] = RecordKind.RetriesSent;
      r.view.setUint32(r.off + RecordOffset.count, sent - 1, true);
    }
    // Where the destination of the probe is, as the engine sees it (discovery: the method's port / ICMP type).
    let dport = p.port;
    let proto = p.proto === 'udp' ? 17 : 6;
    if (mode === 'discovery') {
      const m = this.options.discovery![p.port - 1];
      if (m.method === 'icmp-echo') (dport = 0), (proto = family === 6 ? 58 : 1);
      else if (m.method === 'icmp-timestamp') (dport = 0), (proto = 1);
      else dport = m.port ?? (m.method === 'tcp-syn' ? 443 : 80);
    }
    // As the engine: TCP try t leaves from first + (index + t) mod count, so a reply's local
    // port says which try it answers; UDP's port is its cookie, one for every try (61000 here).
    const sp = this.options.sourcePorts;
    const localPort = (t: number) => (proto === 6 ? sp.first + ((b.index(i) + t) % sp.count) : 61000);
    if (!answered) {
      const r = this.outcomes.claim();
      this.#head(r, RecordKind.NoAnswer, family, b, i, dport, proto, localPort(sent - 1));
      r.view.setUint32(r.off + RecordOffset.count, sent, true);
      return;
    }
    for (const a of answers) {
      if (a.kind === 'none') continue;
      c.received++;
      c.matched++;
      const r = this.replies.claim();
      const o = r.off;
      const kind =
        a.kind === 'syn-ack' || a.kind === 'rst' ? RecordKind.TcpReply : a.kind === 'udp' ? RecordKind.UdpReply : a.kind === 'icmp' ? RecordKind.IcmpError : RecordKind.IcmpReply;
      this.#head(r, kind, family, b, i, dport, proto, localPort(tries - 1));
      r.bytes[o + RecordOffset.ttl] = this.#net.ttl ?? 64;
      if (a.kind === 'syn-ack') r.bytes[o + RecordOffset.tcpFlags] = 0x12;
      else if (a.kind === 'rst') r.bytes[o + RecordOffset.tcpFlags] = 0x14;
      else if (a.kind === 'icmp') {
        r.bytes[o + RecordOffset.icmpType] = a.type;
        r.bytes[o + RecordOffset.icmpCode] = a.code;
        if (a.reporter !== 'router') r.bytes.copyWithin(o + RecordOffset.reporter, o + RecordOffset.addr, o + RecordOffset.addr + 16);
        else r.bytes[o + RecordOffset.reporter] = 10;
      } else if (a.kind === 'echo-reply') r.bytes[o + RecordOffset.icmpType] = family === 6 ? 129 : 0;
      else if (a.kind === 'timestamp-reply') r.bytes[o + RecordOffset.icmpType] = 14;
      // The send time echoed back (µs mod 2^32): 2 ms ago.
      r.view.setUint32(o + RecordOffset.echoedSend, Math.floor((Date.now() - 2) * 1000) % 2 ** 32, true);
    }
  }

  #count(address: string): void {
    this.sentTo.set(address, (this.sentTo.get(address) ?? 0) + 1);
  }

  #head(r: { bytes: Uint8Array; view: DataView; off: number }, kind: number, family: 4 | 6, b: ProbeBatch, i: number, port: number, proto: number, localPort: number): void {
    const o = r.off;
    r.bytes[o + RecordOffset.version] = 1;
    r.bytes[o + RecordOffset.kind] = kind;
    r.bytes[o + RecordOffset.family] = family;
    r.view.setUint16(o + RecordOffset.port, port, true);
    r.view.setUint16(o + RecordOffset.localPort, localPort, true);
    r.view.setFloat64(o + RecordOffset.timeMs, Date.now(), true);
    r.bytes.set(b.records.subarray(b.addressOffset(i), b.addressOffset(i) + (family === 4 ? 4 : 16)), o + RecordOffset.addr);
    r.bytes[o + RecordOffset.proto] = proto;
  }
}

const PLAN: LinkPlan = {
  interface: 'fake0', ifindex: 1, layer: 'ip', srcMac: null, srcV4: '10.0.0.2', srcV6: '2001:db8::2',
  routes: [{ prefix: '0.0.0.0/0', mac: null }], neighbors: [], mtu: 1500,
};

export interface FakeBackend extends ProbeBackend {
  readonly engines: FakeProbeEngine[];
  privileged: boolean;
  /** Addresses the fake ARP/NDP answers (on-link targets; the plan's routes say what is on-link). */
  neighbors: Map<string, string>;
  plan: LinkPlan;
}

export function fakeBackend(net: FakeNetwork, opts: { plan?: LinkPlan; neighbors?: Record<string, string> } = {}): FakeBackend {
  const engines: FakeProbeEngine[] = [];
  const backend: FakeBackend = {
    engines,
    privileged: true,
    neighbors: new Map(Object.entries(opts.neighbors ?? {})),
    plan: opts.plan ?? PLAN,
    checkRawPrivilege() {
      if (!backend.privileged) throw Object.assign(new Error('raw packets need root or CAP_NET_RAW'), { code: 'EPERM' });
    },
    async planLink() {
      return { ...backend.plan, unresolved: [] };
    },
    async resolveNeighbors(_plan, addresses) {
      return addresses.filter((a) => backend.neighbors.has(a)).map((address) => ({ address, mac: backend.neighbors.get(address)!, latencyMs: 0.5 }));
    },
    applyNeighbors(plan, resolved) {
      return { ...plan, neighbors: [...plan.neighbors, ...resolved.map((r) => ({ address: r.address, mac: r.mac }))] };
    },
    chooseSourcePorts: (count) => ({ first: 61000, count }),
    createProbeEngine(options, onReplies, onOutcomes) {
      const e = new FakeProbeEngine(options, net, onReplies, onOutcomes);
      engines.push(e);
      return e;
    },
  };
  return backend;
}
