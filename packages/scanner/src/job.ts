// The scan job: the single description of what a scan probes. Built from a
// resolved TargetSet and a PortSet, it numbers every (address, port, protocol)
// and hands them out in a keyed pseudo-random order (natively), split into
// shards, with resume positions. Every engine walks a job the same way.
import { randomBytes } from 'node:crypto';
import {
  BLOCK_WORDS,
  NativeJob,
  PORT_RUN_WORDS,
  ProbeBatch,
  ProbeKind,
  SEGMENT_WORDS,
  SegmentType,
  type JobLayout,
} from '@portflow/native';
import { ScanJobError } from './errors.js';
import { addressBytes } from './ip.js';
import { blockBits } from './octet-block.js';
import { parsePorts, type PortSet } from './ports.js';
import type { PortProtocol } from './port-table.js';
import { buildTargetSet, parseTarget, type TargetSet } from './targets.js';

export { ProbeBatch };

/** Largest index space: every index and count stays an exact JSON number. */
export const MAX_JOB_COUNT = 2 ** 53;
export const SCAN_JOB_FORMAT = 'portflow.scan-job';
export const SCAN_JOB_VERSION = 1;

export type ScanOrder = 'random' | 'natural';

export interface ShardOption {
  /** This machine's shard, 0 .. count - 1. */
  readonly index: number;
  /** How many shards share the scan (same targets, ports and seed). */
  readonly count: number;
}

export interface ScanJobOptions {
  readonly targets: TargetSet;
  readonly ports: PortSet;
  /** Permutation key, 0 .. 2^64 - 1: a bigint, a safe integer, or a string as BigInt() reads it (decimal, or "0x" hex); random by default. */
  readonly seed?: bigint | number | string;
  /** "random" (default): keyed permutation; "natural": index order. */
  readonly order?: ScanOrder;
  readonly shard?: ShardOption;
  /** First position of this shard's sequence to hand out (a resume point); default 0. */
  readonly position?: number;
}

/** The job format (docs/ARCHITECTURE.md, "Scan job format"). */
export interface ScanJobDescriptor {
  readonly format: typeof SCAN_JOB_FORMAT;
  readonly version: typeof SCAN_JOB_VERSION;
  /** Canonical, resolved targets after deduplication and exclusions, in natural order. */
  readonly targets: readonly string[];
  /** Canonical port spec, e.g. "T:1-1024,U:53". */
  readonly ports: string;
  /** The 64-bit permutation key as 16 lowercase hex digits (docs/ARCHITECTURE.md: seeds travel as hex strings). */
  readonly seed: string;
  readonly order: ScanOrder;
  readonly shard: ShardOption;
  /** Size of the whole index space (every shard): addresses x ports. */
  readonly count: number;
  /** Positions in this shard's sequence. */
  readonly length: number;
  /** Every position below it reached a final state. */
  readonly lowWater: number;
  /** Positions in [lowWater, highWater) were handed out and may be in flight. */
  readonly highWater: number;
}

/** One probe as plain values (allocates: for tools and tests; engines read ProbeBatch). */
export interface Probe {
  readonly address: string;
  readonly port: number;
  readonly protocol: PortProtocol;
  readonly index: number;
  readonly position: number;
}

const MAX_SEED = (1n << 64n) - 1n;

function parseSeed(seed: bigint | number | string | undefined): bigint {
  if (seed === undefined) return randomBytes(8).readBigUInt64BE();
  let v: bigint | undefined;
  if (typeof seed === 'bigint') v = seed;
  else if (typeof seed === 'number' && Number.isSafeInteger(seed)) v = BigInt(seed);
  else if (typeof seed === 'string' && /^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(seed)) v = BigInt(seed);
  if (v === undefined || v < 0n || v > MAX_SEED) {
    throw new ScanJobError('ERR_JOB_OPTION', `scan job: seed ${String(seed)} is not an integer from 0 to 2^64 - 1 (give a bigint, a safe integer, a decimal string or "0x" and 1-16 hex digits)`);
  }
  return v;
}

/** Seeds travel as 16 lowercase hex digits. */
export function seedHex(seed: bigint): string {
  return seed.toString(16).padStart(16, '0');
}

function checkCount(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ScanJobError('ERR_JOB_OPTION', `scan job: ${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

function layoutOf(targets: TargetSet): Pick<JobLayout, 'segments' | 'blockBits'> {
  const nseg = targets.ipv4.length + targets.ipv6.length;
  const nblocks = targets.ipv4.filter((p) => p.type === 'block').length;
  const segments = new Uint32Array(nseg * SEGMENT_WORDS);
  const bits = new Uint32Array(nblocks * BLOCK_WORDS);
  let s = 0;
  let b = 0;
  for (const p of targets.ipv4) {
    const o = s * SEGMENT_WORDS;
    if (p.type === 'block') {
      segments[o] = SegmentType.ipv4Block;
      blockBits(p.block, bits, b * BLOCK_WORDS);
      b++;
    } else {
      segments[o] = SegmentType.ipv4Range;
      segments[o + 5] = p.lo;
      segments[o + 9] = p.hi;
    }
    s++;
  }
  for (const [lo, hi] of targets.ipv6) {
    const o = s * SEGMENT_WORDS;
    segments[o] = SegmentType.ipv6Range;
    for (let i = 0; i < 4; i++) {
      const shift = BigInt(96 - 32 * i);
      segments[o + 2 + i] = Number((lo >> shift) & 0xffffffffn);
      segments[o + 6 + i] = Number((hi >> shift) & 0xffffffffn);
    }
    s++;
  }
  return { segments, blockBits: bits };
}

function portLayout(ports: PortSet): Uint32Array {
  const runs = [...ports.tcp.map((r) => [ProbeKind.tcp, r[0], r[1]]), ...ports.udp.map((r) => [ProbeKind.udp, r[0], r[1]])];
  const out = new Uint32Array(runs.length * PORT_RUN_WORDS);
  runs.forEach((r, i) => out.set(r, i * PORT_RUN_WORDS));
  return out;
}

export class ScanJob {
  readonly targets: TargetSet;
  readonly ports: PortSet;
  readonly seed: bigint;
  readonly order: ScanOrder;
  readonly shard: ShardOption;
  /** The resume positions this job was restored from (fromJSON), if any. */
  readonly resumedFrom: { readonly lowWater: number; readonly highWater: number } | undefined;
  private readonly native: NativeJob;
  private readonly layout: JobLayout;
  private scratch: ProbeBatch | undefined;

  /** Prefer createScanJob / ScanJob.fromJSON. */
  constructor(options: ScanJobOptions, resumedFrom?: { lowWater: number; highWater: number }) {
    if (options === null || typeof options !== 'object') throw new ScanJobError('ERR_JOB_OPTION', 'scan job: options must be an object with targets and ports');
    const { targets, ports } = options;
    if (!targets || typeof targets !== 'object' || !('ipv4' in targets)) {
      throw new ScanJobError('ERR_JOB_OPTION', 'scan job: targets must be a TargetSet (from resolveTargets or buildTargetSet)');
    }
    if (!ports || typeof ports !== 'object' || !('tcp' in ports)) {
      throw new ScanJobError('ERR_JOB_OPTION', 'scan job: ports must be a PortSet (from parsePorts)');
    }
    const order = options.order ?? 'random';
    if (order !== 'random' && order !== 'natural') {
      throw new ScanJobError('ERR_JOB_OPTION', `scan job: order must be "random" or "natural", got ${JSON.stringify(order)}`);
    }
    const shardCount = checkCount('shard.count', options.shard?.count ?? 1, 1, 2 ** 32);
    const shardIndex = checkCount('shard.index', options.shard?.index ?? 0, 0, shardCount - 1);
    const total = targets.size * BigInt(ports.count);
    if (total === 0n) {
      const why = targets.size === 0n ? 'no target address is left after resolution and exclusions' : 'the port set is empty';
      throw new ScanJobError('ERR_JOB_EMPTY', `scan job: nothing to probe (${why}); check the targets, exclusions and ports`);
    }
    if (total > BigInt(MAX_JOB_COUNT)) {
      throw new ScanJobError(
        'ERR_JOB_TOO_LARGE',
        `scan job: ${targets.size} addresses x ${ports.count} ports = ${total} probes is above 2^53 (${MAX_JOB_COUNT}); scan smaller IPv6 prefixes or fewer ports, or split the targets into several jobs`,
      );
    }
    const length = Math.max(0, Math.floor((Number(total) - 1 - shardIndex) / shardCount) + 1);
    const position = checkCount('position', options.position ?? 0, 0, length);
    this.targets = targets;
    this.ports = ports;
    this.seed = parseSeed(options.seed);
    this.order = order;
    this.shard = { index: shardIndex, count: shardCount };
    this.resumedFrom = resumedFrom;
    this.layout = {
      ...layoutOf(targets),
      ports: portLayout(ports),
      seed: this.seed,
      natural: order === 'natural',
      shardIndex,
      shardCount,
      position,
    };
    this.native = new NativeJob(this.layout);
  }

  /**
   * The native layout of this job starting at `position` (default lowWater): a probe
   * engine walks its own copy of the job from there, in the same order.
   */
  jobLayout(position: number = this.lowWater): JobLayout {
    checkCount('position', position, 0, this.length);
    return { ...this.layout, position };
  }

  /**
   * Index of a probe given as address bytes (4 for IPv4, 16 for IPv6, read from
   * offset 0), for engines that decode addresses from records; -1 when not in the job.
   */
  indexOfBytes(family: 4 | 6, address: Uint8Array, port: number, protocol: PortProtocol): number {
    return this.native.indexOf(family, address, port, protocol === 'udp' ? ProbeKind.udp : ProbeKind.tcp);
  }

  /** Size of the whole index space (all shards). */
  get count(): number {
    return this.native.count;
  }
  /** Addresses in the index space: index = portIndex × hostCount + hostIndex. */
  get hostCount(): number {
    return this.native.hostCount;
  }
  /** Ports in the index space (TCP ascending, then UDP ascending). */
  get portCount(): number {
    return this.native.portCount;
  }
  /** Positions in this shard's sequence. */
  get length(): number {
    return this.native.length;
  }
  get lowWater(): number {
    return this.native.lowWater;
  }
  get highWater(): number {
    return this.native.highWater;
  }
  /** True when every position has been handed out. */
  get exhausted(): boolean {
    return this.native.highWater >= this.native.length;
  }

  /** A reusable batch for nextBatch (32 bytes per probe). */
  createBatch(capacity = 1024): ProbeBatch {
    checkCount('batch capacity', capacity, 1, 1 << 24);
    return new ProbeBatch(capacity);
  }

  /** Hands out up to `max` probes from highWater on into `batch`; 0 when the shard is done. */
  nextBatch(batch: ProbeBatch, max: number = batch.capacity): number {
    return this.native.nextBatch(batch, max);
  }

  /** The probe at a position of this shard (does not hand it out). */
  probeAt(position: number): Probe {
    this.scratch ??= new ProbeBatch(1);
    this.native.probeAt(position, this.scratch);
    const b = this.scratch;
    return { address: b.address(0), port: b.port(0), protocol: b.kindName(0), index: b.index(0), position };
  }

  /** The index (in the index space) of the probe at a position of this shard; does not hand it out. */
  indexAt(position: number): number {
    return this.native.indexAt(position);
  }

  /** Index of (address, port, protocol) in the index space, or -1 when the job does not probe it. */
  indexOf(address: string, port: number, protocol: PortProtocol = 'tcp'): number {
    const a = addressBytes(address);
    if (!a || !Number.isInteger(port) || port < 1 || port > 65535) return -1;
    return this.native.indexOf(a.family, a.bytes, port, protocol === 'udp' ? ProbeKind.udp : ProbeKind.tcp);
  }

  /** This shard's position of an index, or -1 when another shard owns it. */
  positionOf(index: number): number {
    return this.native.positionOf(index);
  }

  /** Records that the probe at `position` reached a final state (answered or given up). */
  markDone(position: number): boolean {
    return this.native.markDone(position);
  }

  markDoneRange(start: number, count: number): void {
    this.native.markDoneRange(start, count);
  }

  /** ns per index mapped natively on this job (a benchmark figure). */
  benchMap(count: number): number {
    return this.native.benchMap(count);
  }

  toJSON(): ScanJobDescriptor {
    return {
      format: SCAN_JOB_FORMAT,
      version: SCAN_JOB_VERSION,
      targets: this.targets.toSpecs(),
      ports: this.ports.toString(),
      seed: seedHex(this.seed),
      order: this.order,
      shard: { ...this.shard },
      count: this.count,
      length: this.length,
      lowWater: this.lowWater,
      highWater: this.highWater,
    };
  }

  /**
   * Restores a job from its descriptor (an object or JSON text) and restarts it
   * at lowWater: positions between lowWater and highWater are probed again.
   */
  static fromJSON(input: ScanJobDescriptor | string): ScanJob {
    const fail = (why: string, cause?: unknown): never => {
      throw new ScanJobError('ERR_JOB_FORMAT', `scan job descriptor: ${why}; give the JSON written by ScanJob.toJSON()`, { cause });
    };
    let d: Record<string, unknown> = {};
    if (typeof input === 'string') {
      try {
        d = JSON.parse(input) as Record<string, unknown>;
      } catch (err) {
        fail(`not JSON (${(err as Error).message})`, err);
      }
    } else d = input as unknown as Record<string, unknown>;
    if (d === null || typeof d !== 'object') fail('not an object');
    if (d.format !== SCAN_JOB_FORMAT) fail(`format is ${JSON.stringify(d.format)}, expected "${SCAN_JOB_FORMAT}"`);
    if (d.version !== SCAN_JOB_VERSION) fail(`version ${JSON.stringify(d.version)} is not supported (this build reads version ${SCAN_JOB_VERSION})`);
    if (!Array.isArray(d.targets) || !d.targets.every((t) => typeof t === 'string')) fail('targets must be an array of strings');
    if (typeof d.ports !== 'string') fail('ports must be a string');
    if (typeof d.seed !== 'string' || !/^[0-9a-f]{16}$/i.test(d.seed)) fail('seed must be 16 hex digits');
    const shard = d.shard as Record<string, unknown> | undefined;
    if (!shard || typeof shard !== 'object') fail('shard must be an object { index, count }');
    for (const k of ['count', 'length', 'lowWater', 'highWater'] as const) {
      if (typeof d[k] !== 'number' || !Number.isSafeInteger(d[k]) || (d[k] as number) < 0) fail(`${k} must be a non-negative integer`);
    }
    let targets: TargetSet;
    let ports: PortSet;
    try {
      const tokens = (d.targets as string[]).map((t) => parseTarget(t, 'scan job descriptor'));
      if (tokens.some((t) => t.kind === 'hostname')) fail('targets must be resolved addresses, not hostnames');
      targets = buildTargetSet(tokens);
      ports = parsePorts(d.ports as string);
    } catch (err) {
      if (err instanceof ScanJobError) throw err;
      return fail((err as Error).message, err);
    }
    const lowWater = d.lowWater as number;
    const highWater = d.highWater as number;
    if (lowWater > highWater || highWater > (d.length as number)) fail(`lowWater ${lowWater} <= highWater ${highWater} <= length ${String(d.length)} does not hold`);
    let job: ScanJob;
    try {
      job = new ScanJob(
        { targets, ports, seed: BigInt(`0x${d.seed as string}`), order: d.order as ScanOrder, shard: { index: shard!.index as number, count: shard!.count as number }, position: lowWater },
        { lowWater, highWater },
      );
    } catch (err) {
      if (err instanceof ScanJobError) return fail(err.message.replace(/^scan job: /, ''), err);
      throw err;
    }
    if (job.count !== d.count || job.length !== d.length) {
      fail(`count ${String(d.count)} / length ${String(d.length)} do not match the targets and ports (${job.count} / ${job.length}): the descriptor was edited or is corrupt`);
    }
    return job;
  }
}

/** Builds a scan job from resolved targets and ports (see ScanJobOptions). */
export function createScanJob(options: ScanJobOptions): ScanJob {
  return new ScanJob(options);
}
