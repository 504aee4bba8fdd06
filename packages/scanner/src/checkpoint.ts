// Checkpoints and resume: what a ScanCheckpoint must hold to be resumed from,
// the configuration hash that ties it to one scan configuration, and what a
// resumed run takes over from the interrupted run's events.
import { createHash } from 'node:crypto';
import { STAGES, type PortFound, type ProgressCounters, type ScanCheckpoint, type ScanEvent } from '@portflow/core';
import type { ScanJob } from './job.js';
import { ScanResumeError } from './scan-errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX64 = /^[0-9a-f]{1,16}$/i;

/** The 64-bit seed as checkpoints carry it: 16 lower-case hex digits. */
export function seedToHex(seed: bigint): string {
  return seed.toString(16).padStart(16, '0');
}

export function seedFromHex(hex: string): bigint {
  return BigInt(`0x${hex}`);
}

/** Everything that decides which probe sits at which position: equal hashes mean a checkpoint's positions mean the same probes. */
export interface ScanConfigIdentity {
  readonly type: string;
  /** Canonical resolved targets (TargetSet.toSpecs()). */
  readonly targets: readonly string[];
  /** Canonical ports (PortSet.toString()). */
  readonly ports: string;
  readonly seed: bigint;
  readonly order: string;
  readonly shard: { readonly index: number; readonly count: number };
}

/** sha256 of the canonical configuration, 32 hex digits. */
export function configHash(c: ScanConfigIdentity): string {
  const canonical = JSON.stringify({
    v: 1,
    type: c.type,
    targets: c.targets,
    ports: c.ports,
    seed: seedToHex(c.seed),
    order: c.order,
    shard: [c.shard.index, c.shard.count],
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function bad(field: string, why: string): never {
  throw new ScanResumeError('ERR_SCAN_RESUME_CHECKPOINT', `resumeFrom: ${field} ${why}; pass a ScanCheckpoint event of the scan to resume, as published (or read back from its log)`);
}

/** Checks that a value is a usable ScanCheckpoint (shape only; the configuration is checked against the hash later). */
export function checkCheckpoint(value: unknown): ScanCheckpoint {
  if (value === null || typeof value !== 'object') bad('the checkpoint', 'is not an object');
  const c = value as Record<string, unknown>;
  if (c.type !== 'ScanCheckpoint') bad('type', `is ${JSON.stringify(c.type)}, not "ScanCheckpoint"`);
  if (typeof c.scanId !== 'string' || !UUID.test(c.scanId)) bad('scanId', 'is not a UUID');
  if (typeof c.seed !== 'string' || !HEX64.test(c.seed)) bad('seed', `must be 1 to 16 hex digits, got ${JSON.stringify(c.seed)}`);
  if (typeof c.configHash !== 'string' || c.configHash === '') bad('configHash', 'is missing');
  if (typeof c.stage !== 'string' || !STAGES.includes(c.stage as never)) bad('stage', `is not a stage name (${JSON.stringify(c.stage)})`);
  for (const k of ['lowWater', 'highWater', 'completed'] as const) {
    if (typeof c[k] !== 'number' || !Number.isSafeInteger(c[k]) || (c[k] as number) < 0) bad(k, `must be a non-negative integer, got ${JSON.stringify(c[k])}`);
  }
  if ((c.lowWater as number) > (c.highWater as number)) bad('lowWater', `(${String(c.lowWater)}) is above highWater (${String(c.highWater)})`);
  return value as ScanCheckpoint;
}

/** Refuses a checkpoint of another configuration, naming what to change. */
export function checkResumeMatches(cp: ScanCheckpoint, hash: string, job: ScanJob): void {
  if (cp.configHash !== hash) {
    throw new ScanResumeError(
      'ERR_SCAN_RESUME_MISMATCH',
      `resumeFrom: the checkpoint's configuration hash ${cp.configHash} differs from this scan's ${hash}: resume with exactly the targets, exclusions, ports, type, order and shard of the interrupted scan (a hostname that now resolves differently changes it too)`,
    );
  }
  if (cp.highWater > job.length) {
    throw new ScanResumeError('ERR_SCAN_RESUME_CHECKPOINT', `resumeFrom: highWater ${cp.highWater} is beyond this scan's ${job.length} positions; the checkpoint is corrupt`);
  }
}

/** What a resumed run takes over from the interrupted run. */
export interface ResumePlan {
  /** Positions at or above lowWater whose state the interrupted run already published: neither probed nor reported again. */
  readonly reported: Set<number>;
  /** The interrupted run's PortFound events, in order (its results). */
  readonly priorPorts: readonly PortFound[];
  /** Cumulative counters of its last ProgressUpdate (zeros without one). */
  readonly counters: ProgressCounters;
  /** Its first ScanStarted's timestamp, if the events hold one. */
  readonly startedAt: number | undefined;
  /** Event time it ran: from its ScanStarted to its last event. */
  readonly elapsedMs: number;
}

const ZERO_COUNTERS: ProgressCounters = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, retriesSent: 0, hostsCompleted: 0, hostsTotal: 0 };

export function resumePlan(cp: ScanCheckpoint, events: readonly ScanEvent[], job: ScanJob): ResumePlan {
  const reported = new Set<number>();
  const priorPorts: PortFound[] = [];
  const seen = new Set<number>();
  let counters = ZERO_COUNTERS;
  let startedAt: number | undefined;
  let last = 0;
  for (const e of events) {
    if (typeof e.timestamp === 'number' && e.timestamp > last) last = e.timestamp;
    if (e.type === 'ScanStarted' && startedAt === undefined) startedAt = e.timestamp;
    else if (e.type === 'ProgressUpdate') counters = e.counters;
    else if (e.type === 'PortFound' || e.type === 'IPv6PortFound') {
      const index = job.indexOf(e.target, e.port, e.protocol);
      const position = index < 0 ? -1 : job.positionOf(index);
      // A port outside this job, or reported twice by the log, is not a result of this scan.
      if (position < 0 || seen.has(position)) continue;
      seen.add(position);
      priorPorts.push(e as PortFound);
      if (position >= cp.lowWater) reported.add(position);
    }
  }
  return { reported, priorPorts, counters, startedAt, elapsedMs: startedAt === undefined ? 0 : Math.max(0, last - startedAt) };
}
