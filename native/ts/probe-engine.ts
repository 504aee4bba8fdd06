// The probe engine (src/io/): a native sender thread and capture thread driven from JS.
// Options are validated here once, with typed errors naming the option; the native side
// gets them normalised (addresses and MACs as bytes, enums as numbers).
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { getBinding } from './binding.js';
import { ipToBytes, macToBytes } from './address.js';
import { NativeError } from './errors.js';
import { toPrivilegeError } from './privilege.js';
import { RecordRing, nativeRingHandle, type RecordBatch } from './ring.js';
import type {
  DiscoveryProbe,
  LinkPlan,
  ProbeEngineCounters,
  ProbeEngineLike,
  ProbeEngineOptions,
  ProbeEngineState,
} from './probe-engine-types.js';

/** Records handed to onReplies / onOutcomes per wake-up (a few ms of classification at most). */
const DRAIN_CHUNK = 1024;

/** An option the probe engine cannot work with; `option` names it. */
export class ProbeEngineError extends NativeError {
  readonly option: string | undefined;
  constructor(code: string, message: string, option?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.option = option;
  }
}

/** Options beyond the contract: consumers for the two rings, and a sender-only mode. */
export interface ProbeEngineExtraOptions {
  /** Handler of reply batches (the replies ring's doorbell); without it, poll `replies.drain()`. */
  onReplies?: (batch: RecordBatch) => void;
  /** Handler of NoAnswer / RetriesSent / Counters batches; without it, poll `outcomes.drain()`. */
  onOutcomes?: (batch: RecordBatch) => void;
  /** false: no capture thread (sender benchmarks; every probe ends as NoAnswer). Default true. */
  capture?: boolean;
}

interface NativeEngine {
  start(): void;
  pause(): void;
  resume(): void;
  setRate(pps: number): void;
  skipHosts(addresses: string[]): void;
  counters(out: Float64Array): void;
  stop(): void;
  finished(): boolean;
}

const MODES = { 'tcp-syn': 0, udp: 1, discovery: 2 } as const;
const METHODS = { 'icmp-echo': 0, 'icmp-timestamp': 1, 'tcp-syn': 2, 'tcp-ack': 3, arp: 4, ndp: 5 } as const;
const COUNTER_SLOTS = 20;

const fail = (option: string, message: string): never => {
  throw new ProbeEngineError('ERR_PROBE_ENGINE_OPTION', `${option}: ${message}`, option);
};
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function addr(option: string, text: unknown, family?: 4 | 6): Buffer {
  const f = typeof text === 'string' ? isIP(text) : 0;
  if (f === 0 || (family !== undefined && f !== family)) fail(option, `"${String(text)}" is not an IPv${family ?? '4 or IPv6'} address`);
  return ipToBytes(option, text as string);
}

function mac(option: string, text: unknown): Buffer {
  try {
    return macToBytes(option, text as string);
  } catch {
    return fail(option, `"${String(text)}" is not a MAC address (e.g. "02:00:00:00:00:01")`);
  }
}

function normaliseLink(link: LinkPlan) {
  if (link === null || typeof link !== 'object') fail('link', 'expected a LinkPlan (from planLink())');
  if (typeof link.interface !== 'string' || link.interface.length === 0 || link.interface.length > 15) fail('link.interface', `"${String(link.interface)}" is not an interface name`);
  if (link.layer !== 'ethernet' && link.layer !== 'ip') fail('link.layer', `"${String(link.layer)}" must be 'ethernet' or 'ip'`);
  const ethernet = link.layer === 'ethernet';
  if (!isInt(link.ifindex, ethernet ? 1 : 0, 2 ** 31 - 1)) fail('link.ifindex', `${String(link.ifindex)} is not an interface index`);
  // Up to 65,536: loopback's MTU as planLink reports it (probes are far smaller; the MSS is capped at 65,535).
  if (!isInt(link.mtu, 68, 65536)) fail('link.mtu', `${String(link.mtu)} must be an integer from 68 to 65536`);
  const srcMac = ethernet ? mac('link.srcMac', link.srcMac) : undefined;
  const srcV4 = link.srcV4 == null ? undefined : addr('link.srcV4', link.srcV4, 4);
  const srcV6 = link.srcV6 == null ? undefined : addr('link.srcV6', link.srcV6, 6);
  if (!srcV4 && !srcV6) fail('link', 'neither srcV4 nor srcV6 is set: there is no source address to send from');
  if (!Array.isArray(link.routes)) fail('link.routes', 'expected an array of { prefix, mac }');
  const routes = link.routes.map((r, i) => {
    const [a, len, extra] = String(r?.prefix).split('/');
    const family = isIP(a) as 0 | 4 | 6;
    const prefixLen = Number(len);
    if (family === 0 || extra !== undefined || !isInt(prefixLen, 0, family === 6 ? 128 : 32)) fail(`link.routes[${i}].prefix`, `"${String(r?.prefix)}" is not a prefix like "10.0.0.0/8" or "::/0"`);
    return { family, prefixLen, addr: ipToBytes(`link.routes[${i}].prefix`, a), mac: r.mac == null ? null : mac(`link.routes[${i}].mac`, r.mac) };
  });
  if (!Array.isArray(link.neighbors)) fail('link.neighbors', 'expected an array of { address, mac }');
  const neighbors = link.neighbors.map((n, i) => {
    const b = addr(`link.neighbors[${i}].address`, n?.address);
    return { family: b.length === 16 ? 6 : 4, addr: b, mac: mac(`link.neighbors[${i}].mac`, n.mac) };
  });
  return { interface: link.interface, ifindex: link.ifindex, ethernet, srcMac, srcV4, srcV6, routes, neighbors, mtu: link.mtu };
}

function normaliseDiscovery(list: DiscoveryProbe[] | undefined, layer: string) {
  if (list === undefined) return [];
  if (!Array.isArray(list)) fail('discovery', 'expected an array of { method, port? }');
  // The engine's window holds one in-flight probe per flow (target, protocol, port): two
  // methods that send the same flow to a host (tcp-syn and tcp-ack to one port, a method
  // twice) would retire each other's probes on one answer.
  const flows = new Map<string, number>();
  return list.map((d, i) => {
    const m = d?.method as string;
    if ((m === 'arp' || m === 'ndp') && layer !== 'ethernet') fail(`discovery[${i}].method`, `'${m}' needs an Ethernet link (link.layer 'ethernet'); this link is '${layer}'`);
    if (!(m in METHODS)) fail(`discovery[${i}].method`, `"${String(m)}" must be one of ${Object.keys(METHODS).join(', ')}`);
    const port = d.port ?? (m === 'tcp-syn' ? 443 : m === 'tcp-ack' ? 80 : 0);
    if (!isInt(port, 0, 65535) || ((m === 'tcp-syn' || m === 'tcp-ack') && port === 0)) fail(`discovery[${i}].port`, `${String(d.port)} must be 1..65535`);
    const flow = m === 'tcp-syn' || m === 'tcp-ack' ? `tcp port ${port}` : m;
    const first = flows.get(flow);
    if (first !== undefined) fail(`discovery[${i}]`, `probes the same flow (${flow}) as discovery[${first}]; give each TCP method its own port and each method once`);
    flows.set(flow, i);
    return { method: METHODS[m as keyof typeof METHODS], port };
  });
}

/** Validates and normalises the options for the native constructor (exported for tests). */
export function normaliseProbeEngineOptions(o: ProbeEngineOptions & ProbeEngineExtraOptions) {
  if (o === null || typeof o !== 'object') fail('options', 'expected an object');
  if (!(o.mode in MODES)) fail('mode', `"${String(o.mode)}" must be 'tcp-syn', 'udp' or 'discovery'`);
  const job = o.job;
  if (job === null || typeof job !== 'object' || !(job.segments instanceof Uint32Array) || !(job.ports instanceof Uint32Array) || !(job.blockBits instanceof Uint32Array) || typeof job.seed !== 'bigint')
    fail('job', 'expected a JobLayout (segments, blockBits, ports as Uint32Array, seed as bigint), built by @portflow/scanner');
  if (!isInt(job.position, 0, Number.MAX_SAFE_INTEGER)) fail('job.position', `${String(job.position)} must be a non-negative integer`);
  if (!isInt(job.shardIndex, 0, Number.MAX_SAFE_INTEGER) || !isInt(job.shardCount, 1, Number.MAX_SAFE_INTEGER)) fail('job', 'shardIndex / shardCount must be integers, shardCount ≥ 1');
  if (o.end !== undefined && !isInt(o.end, 0, Number.MAX_SAFE_INTEGER)) fail('end', `${String(o.end)} must be a non-negative integer`);
  const sp = o.sourcePorts;
  if (!sp || !isInt(sp.first, 1, 65535) || !isInt(sp.count, 1, 65535) || sp.first + sp.count - 1 > 65535)
    fail('sourcePorts', `${JSON.stringify(sp)} must be { first, count } with first ≥ 1 and first + count − 1 ≤ 65535 (chooseSourcePorts() picks them)`);
  if (typeof o.rate !== 'number' || !(o.rate > 0)) fail('rate', `${String(o.rate)} must be packets per second > 0 (Infinity: as fast as the link takes)`);
  if (!isInt(o.maxRetries, 0, 250)) fail('maxRetries', `${String(o.maxRetries)} must be an integer from 0 to 250`);
  for (const k of ['initialRttMs', 'minRttMs', 'maxRttMs'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] > 0) || !Number.isFinite(o[k])) fail(k, `${String(o[k])} must be a positive number of milliseconds`);
  }
  if (o.minRttMs > o.maxRttMs) fail('minRttMs', `${o.minRttMs} is above maxRttMs ${o.maxRttMs}`);
  if (!isInt(o.window, 1, 1 << 24)) fail('window', `${String(o.window)} must be an integer from 1 to 16,777,216`);
  const ringCapacity = o.ringCapacity ?? 65536;
  if (!isInt(ringCapacity, 2, 2 ** 31) || (ringCapacity & (ringCapacity - 1)) !== 0) fail('ringCapacity', `${String(ringCapacity)} must be a power of two from 2 to 2^31`);
  const ttl = o.ttl ?? 64;
  if (!isInt(ttl, 1, 255)) fail('ttl', `${String(ttl)} must be 1..255`);
  const lingerMs = o.lingerMs ?? 250;
  if (!isInt(lingerMs, 0, 600000)) fail('lingerMs', `${String(lingerMs)} must be an integer of milliseconds from 0 to 600000`);
  let cookieKey: Buffer;
  if (o.cookieKey === undefined) cookieKey = randomBytes(16);
  else if (typeof o.cookieKey === 'string' && /^[0-9a-f]{32}$/i.test(o.cookieKey)) cookieKey = Buffer.from(o.cookieKey, 'hex');
  else return fail('cookieKey', 'must be 32 hex digits (128 bits)');
  const udpPayloads: Array<{ port: number; payload: Uint8Array }> = [];
  if (o.udpPayloads !== undefined) {
    if (!(o.udpPayloads instanceof Map)) fail('udpPayloads', 'expected a Map<port, Uint8Array>');
    for (const [port, payload] of o.udpPayloads) {
      if (!isInt(port, 0, 65535)) fail('udpPayloads', `port ${String(port)} must be 0..65535`);
      if (!(payload instanceof Uint8Array)) fail('udpPayloads', `the payload of port ${port} must be a Uint8Array`);
      udpPayloads.push({ port, payload });
    }
  }
  for (const k of ['onReplies', 'onOutcomes'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'function') fail(k, 'expected a function');
  }
  const discovery = normaliseDiscovery(o.discovery, o.link?.layer);
  if (o.mode === 'discovery' && discovery.length === 0) fail('discovery', 'a discovery engine needs at least one method');
  return {
    mode: MODES[o.mode],
    job,
    end: o.end ?? -1,
    ...normaliseLink(o.link),
    portFirst: sp.first,
    portCount: sp.count,
    rate: o.rate,
    maxRetries: o.maxRetries,
    initialRttMs: o.initialRttMs,
    minRttMs: o.minRttMs,
    maxRttMs: o.maxRttMs,
    window: o.window,
    udpPayloads,
    discovery,
    cookieKey,
    ringCapacity,
    ttl,
    lingerMs,
    capture: o.capture ?? true,
  };
}

export class ProbeEngine implements ProbeEngineLike {
  readonly replies: RecordRing;
  readonly outcomes: RecordRing;
  readonly done: Promise<void>;
  #state: ProbeEngineState = 'created';
  readonly #native: NativeEngine;
  readonly #counters = new Float64Array(COUNTER_SLOTS);
  readonly #onReplies: ((b: RecordBatch) => void) | undefined;
  readonly #onOutcomes: ((b: RecordBatch) => void) | undefined;
  #resolveDone!: () => void;

  constructor(options: ProbeEngineOptions & ProbeEngineExtraOptions) {
    const n = normaliseProbeEngineOptions(options);
    this.#onReplies = options.onReplies;
    this.#onOutcomes = options.onOutcomes;
    // At most DRAIN_CHUNK records per wake-up, then the next chunk after the event loop's
    // turn: a wave of timeouts (tens of thousands of NoAnswer at once) must not hold the JS
    // thread for hundreds of ms while replies, already captured, wait in the other ring.
    this.replies = new RecordRing({ capacity: n.ringCapacity, onRecords: options.onReplies, maxPerWake: DRAIN_CHUNK });
    this.outcomes = new RecordRing({ capacity: n.ringCapacity, onRecords: options.onOutcomes, maxPerWake: DRAIN_CHUNK });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    const Native = getBinding().ProbeEngine as new (o: object, r: object, u: object, f: () => void) => NativeEngine;
    try {
      this.#native = new Native(n, nativeRingHandle(this.replies), nativeRingHandle(this.outcomes), () => this.#finished());
    } catch (err) {
      this.replies.close();
      this.outcomes.close();
      const e = err as { code?: string; option?: string; message: string };
      if (e.code === 'EPERM' || e.code === 'EACCES') throw toPrivilegeError(err);  // PrivilegeError, a NativeError with code 'EPERM'
      if (typeof e.code === 'string' && e.code.startsWith('ERR_PROBE_ENGINE')) throw new ProbeEngineError(e.code, e.message, e.option, { cause: err });
      throw err;
    }
  }

  get state(): ProbeEngineState {
    return this.#state;
  }

  start(): void {
    if (this.#state !== 'created') throw new ProbeEngineError('ERR_PROBE_ENGINE_STATE', `start(): the engine is ${this.#state}; start() runs once`);
    try {
      this.#native.start();
    } catch (err) {
      // Typed like the constructor's errors (e.g. ERR_PROBE_ENGINE_STATE after the outcomes
      // ring was closed, which stops its producer for good).
      const e = err as { code?: string; option?: string; message: string };
      if (typeof e.code === 'string' && e.code.startsWith('ERR_PROBE_ENGINE')) throw new ProbeEngineError(e.code, e.message, e.option, { cause: err });
      throw err;
    }
    this.#state = 'running';
  }

  pause(): void {
    if (this.#state !== 'running') return;
    this.#native.pause();
    this.#state = 'paused';
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#native.resume();
    this.#state = 'running';
  }

  setRate(pps: number): void {
    if (typeof pps !== 'number' || !(pps > 0)) fail('rate', `${String(pps)} must be packets per second > 0`);
    this.#native.setRate(pps);
  }

  skipHosts(addresses: readonly string[]): void {
    if (!Array.isArray(addresses)) fail('skipHosts', 'expects an array of IP addresses');
    for (let i = 0; i < addresses.length; i++) {
      if (typeof addresses[i] !== 'string' || isIP(addresses[i]) === 0) fail('skipHosts', `addresses[${i}] ${JSON.stringify(addresses[i])} is not an IPv4 or IPv6 address`);
    }
    if (addresses.length > 0) this.#native.skipHosts([...addresses]);
  }

  counters(): ProbeEngineCounters & { sendErrors: number; noRoute: number; answeredQueueFull: number; captureErrors: number } {
    const c = this.#counters;
    this.#native.counters(c);
    return {
      sent: c[0], probes: c[1], retries: c[2], received: c[3], matched: c[4], duplicates: c[5], strays: c[6],
      ringOverflows: c[7], kernelDrops: c[8], softnetDrops: c[9], sendBackpressure: c[10], lowWater: c[11],
      highWater: c[12], inFlight: c[13], achievedRate: c[14], sendErrors: c[15], noRoute: c[16], answeredQueueFull: c[17],
      skipped: c[18], captureErrors: c[19],
    };
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'done') return;
    this.#native.stop();
    this.#state = 'stopped';
    this.#drainRings();
    this.#resolveDone();
  }

  // The sender thread finished (every position final, linger over): join and report.
  #finished(): void {
    if (this.#state === 'stopped' || this.#state === 'done') return;
    this.#native.stop();
    this.#state = 'done';
    this.#drainRings();
    this.#resolveDone();
  }

  // Records published just before the end reach the handlers before `done` resolves.
  #drainRings(): void {
    if (this.#onReplies && !this.replies.closed) this.replies.drain(this.#onReplies);
    if (this.#onOutcomes && !this.outcomes.closed) this.outcomes.drain(this.#onOutcomes);
  }
}
