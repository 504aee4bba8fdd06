// Typed wrapper of the native scan job (src/job/): the index space, its keyed
// permutation, shards and resume positions. @portflow/scanner builds the layout
// from parsed target and port specs; engines pull probes in batches.
import { getBinding } from './binding.js';
import { bytesToIp } from './address.js';
import { NativeError } from './errors.js';

/** Bytes per probe record written by nextBatch/probeAt. */
export const PROBE_RECORD_BYTES = 32;
/** Byte offsets inside a probe record (see src/job/index_space.h). */
export const ProbeRecordOffset = { address: 0, port: 16, kind: 18, family: 19, index: 24 } as const;
/** Probe kinds as stored in records and port runs. */
export const ProbeKind = { tcp: 1, udp: 2 } as const;
export type ProbeKindName = keyof typeof ProbeKind;

/** Layout words as documented in src/job/index_space.h. */
export const SegmentType = { ipv4Range: 4, ipv4Block: 5, ipv6Range: 6 } as const;
export const SEGMENT_WORDS = 10;
export const BLOCK_WORDS = 32;
export const PORT_RUN_WORDS = 3;

/** The native job's input: built by @portflow/scanner, not by hand. */
export interface JobLayout {
  segments: Uint32Array;
  blockBits: Uint32Array;
  ports: Uint32Array;
  seed: bigint;
  natural: boolean;
  shardIndex: number;
  shardCount: number;
  /** First position of this shard's sequence to hand out (a resume point). */
  position: number;
}

export type JobErrorCode =
  | 'ERR_JOB_LAYOUT'
  | 'ERR_JOB_TOO_LARGE'
  | 'ERR_JOB_SHARD'
  | 'ERR_JOB_POSITION'
  | 'ERR_JOB_ARGUMENT';

/** A job layout or call the native job refused; `code` says which rule. */
export class JobError extends NativeError {
  declare readonly code: JobErrorCode;
}

interface RawJob {
  readonly count: number;
  readonly length: number;
  readonly hostCount: number;
  readonly portCount: number;
  readonly lowWater: number;
  readonly highWater: number;
  nextBatch(records: Uint8Array, max: number): number;
  probeAt(position: number, records: Uint8Array): void;
  indexAt(position: number): number;
  positionOf(index: number): number;
  indexOf(family: number, address: Uint8Array, port: number, kind: number): number;
  markDone(position: number): boolean;
  markDoneRange(start: number, count: number): void;
  benchMap(count: number): number;
}
type RawJobClass = new (layout: JobLayout) => RawJob;

function rethrow(err: unknown): never {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_JOB_')) {
    throw new JobError(code, (err as Error).message);
  }
  throw err;
}

/**
 * A batch of probe records, reused across nextBatch calls (no object per
 * probe). Record i describes position `start + i` of the shard's sequence.
 */
export class ProbeBatch {
  readonly records: Uint8Array;
  /** Number of valid records. */
  size = 0;
  /** Shard position of record 0. */
  start = 0;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;

  constructor(capacity: number) {
    // A fresh ArrayBuffer is 8-byte aligned, as the native side requires.
    this.records = new Uint8Array(capacity * PROBE_RECORD_BYTES);
    this.u16 = new Uint16Array(this.records.buffer);
    this.u32 = new Uint32Array(this.records.buffer);
  }

  get capacity(): number {
    return this.records.length / PROBE_RECORD_BYTES;
  }
  family(i: number): 4 | 6 {
    return this.records[i * PROBE_RECORD_BYTES + 19] as 4 | 6;
  }
  port(i: number): number {
    return this.u16[i * 16 + 8];
  }
  /** 1 = tcp, 2 = udp (ProbeKind). */
  kind(i: number): number {
    return this.records[i * PROBE_RECORD_BYTES + 18];
  }
  kindName(i: number): ProbeKindName {
    return this.kind(i) === ProbeKind.udp ? 'udp' : 'tcp';
  }
  /** Index in the job's index space. */
  index(i: number): number {
    return this.u32[i * 8 + 6] + this.u32[i * 8 + 7] * 4294967296;
  }
  position(i: number): number {
    return this.start + i;
  }
  /** Byte offset of record i's address (4 bytes for IPv4, 16 for IPv6). */
  addressOffset(i: number): number {
    return i * PROBE_RECORD_BYTES;
  }
  /** The address as text (allocates: for logs and tools, not per-packet paths). */
  address(i: number): string {
    return bytesToIp(this.records, i * PROBE_RECORD_BYTES, this.family(i));
  }
}

/** The native scan job. Positions and indices are exact integers below 2^53. */
export class NativeJob {
  private readonly raw: RawJob;

  constructor(layout: JobLayout) {
    const Job = getBinding().Job as RawJobClass;
    try {
      this.raw = new Job(layout);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Size of the whole index space (every shard). */
  get count(): number {
    return this.raw.count;
  }
  /** Positions in this shard's sequence. */
  get length(): number {
    return this.raw.length;
  }
  get hostCount(): number {
    return this.raw.hostCount;
  }
  get portCount(): number {
    return this.raw.portCount;
  }
  /** Every position below it has a final state (see markDone). */
  get lowWater(): number {
    return this.raw.lowWater;
  }
  /** The next position to hand out. */
  get highWater(): number {
    return this.raw.highWater;
  }

  /** Fills `batch` with up to `max` probes from highWater on; returns how many (0 at the end). */
  nextBatch(batch: ProbeBatch, max: number = batch.capacity): number {
    batch.start = this.raw.highWater;
    try {
      batch.size = this.raw.nextBatch(batch.records, max);
    } catch (err) {
      rethrow(err);
    }
    return batch.size;
  }

  /** Writes the probe at `position` into record 0 of `batch` (does not hand it out). */
  probeAt(position: number, batch: ProbeBatch): void {
    try {
      this.raw.probeAt(position, batch.records);
    } catch (err) {
      rethrow(err);
    }
    batch.start = position;
    batch.size = 1;
  }

  indexAt(position: number): number {
    try {
      return this.raw.indexAt(position);
    } catch (err) {
      rethrow(err);
    }
  }

  /** This shard's position of `index`, or -1 when another shard (or nobody) owns it. */
  positionOf(index: number): number {
    try {
      return this.raw.positionOf(index);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Index of a probe, or -1 when the job does not contain it. */
  indexOf(family: 4 | 6, address: Uint8Array, port: number, kind: number): number {
    try {
      return this.raw.indexOf(family, address, port, kind);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Records a final state for `position`; true when it was not already done. */
  markDone(position: number): boolean {
    try {
      return this.raw.markDone(position);
    } catch (err) {
      rethrow(err);
    }
  }

  markDoneRange(start: number, count: number): void {
    try {
      this.raw.markDoneRange(start, count);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Maps `count` positions natively and returns ns per index (a benchmark figure). */
  benchMap(count: number): number {
    return this.raw.benchMap(count);
  }
}

/** ns per index mapped for a 10.0.0.0/8 x TCP 1-65535 job (2^40 indices), random or natural order. */
export function benchJobMap(count: number, natural = false): number {
  return (getBinding().bench.jobMap as (count: number, natural: boolean) => number)(count, natural);
}
