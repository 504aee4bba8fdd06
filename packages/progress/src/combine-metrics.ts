import { STAGES, type ProgressCounters, type Throughput } from '@portflow/core';
import type { ProgressMetrics } from './metrics.js';
import type { EtaAccuracy, EtaReport, ScanState, StageProgress, StageState } from './progress-model.js';
import { stageLabel } from './stage-weights.js';

const ACCURACY_RANK: Record<EtaAccuracy, number> = { unknown: 0, low: 1, medium: 2, high: 3 };
const ACTIVE: ReadonlySet<ScanState> = new Set(['running', 'paused', 'idle']);

/**
 * Every scan's metrics as one view: counts, totals and rates summed, the
 * percentage averaged over the scans, the ETA and stage of the slowest scan
 * still going. Pure.
 */
export function combineMetrics(scans: readonly ProgressMetrics[]): ProgressMetrics {
  const n = scans.length;
  let pct = 0, completed = 0, total = 0, inFlight = 0, retries = 0, wait = 0, elapsed = 0, stale = 0, dup = 0, inputErrors = 0;
  let lastEventAt: number | null = null, lastInputError: string | null = null, stalled = false;
  const tp = { packetsPerSec: 0, portsPerSec: 0, hostsPerMin: 0, bytesPerSec: 0 };
  const ct = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, retriesSent: 0, hostsCompleted: 0, hostsTotal: 0 };
  const found = { hostsUp: 0, openPorts: 0, portsReported: 0, services: 0, warnings: 0, errors: 0 };
  let slowest: ProgressMetrics | undefined;
  let worstAccuracy: EtaAccuracy = 'high';
  for (const s of scans) {
    pct += s.percentage;
    completed += s.completed;
    total += s.total;
    inFlight += s.inFlight;
    retries += s.retriesPending;
    wait = Math.max(wait, s.waitRemainingMs);
    elapsed = Math.max(elapsed, s.elapsedMs);
    stale += s.ignoredUpdates.stale;
    dup += s.ignoredUpdates.duplicate;
    inputErrors += s.inputErrors;
    if (s.lastInputError !== null) lastInputError = s.lastInputError;
    if (s.lastEventAt !== null && (lastEventAt === null || s.lastEventAt > lastEventAt)) lastEventAt = s.lastEventAt;
    stalled ||= s.stalled;
    addInto(tp, s.throughput);
    addInto(ct, s.counters);
    addInto(found, s.found);
    if (ACTIVE.has(s.state)) {
      if (ACCURACY_RANK[s.eta.accuracy] < ACCURACY_RANK[worstAccuracy]) worstAccuracy = s.eta.accuracy;
      if (slowest === undefined || (s.eta.ms ?? -1) > (slowest.eta.ms ?? -1)) slowest = s;
    }
  }
  const eta: EtaReport =
    slowest === undefined
      ? n > 0 && scans.every((s) => s.state === 'completed')
        ? { ms: 0, using: null, linear: 0, ewma: 0, multiStage: 0, accuracy: 'high' }
        : { ms: null, using: null, linear: null, ewma: null, multiStage: null, accuracy: 'unknown' }
      : { ...slowest.eta, accuracy: slowest.eta.ms === null ? 'unknown' : worstAccuracy };
  const lead = slowest ?? scans[n - 1];
  return {
    scanId: null,
    state: combinedState(scans),
    stage: lead?.stage ?? null,
    stageNumber: lead?.stageNumber ?? 0,
    stageCount: lead?.stageCount ?? 0,
    percentage: n > 0 ? pct / n : 0,
    completed,
    total,
    inFlight,
    retriesPending: retries,
    waitRemainingMs: wait,
    stages: combineStages(scans),
    throughput: tp as Throughput,
    counters: ct as ProgressCounters,
    found,
    eta,
    stalled,
    elapsedMs: elapsed,
    lastEventAt,
    ignoredUpdates: { stale, duplicate: dup },
    inputErrors,
    lastInputError,
    scans,
  };
}

function addInto<T extends object>(into: T, from: T): void {
  for (const k of Object.keys(into) as (keyof T)[]) (into[k] as number) += from[k] as number;
}

function combinedState(scans: readonly ProgressMetrics[]): ScanState {
  if (scans.length === 0) return 'idle';
  const has = (st: ScanState): boolean => scans.some((s) => s.state === st);
  if (has('running')) return 'running';
  if (has('paused')) return 'paused';
  if (has('idle')) return 'idle';
  if (has('failed')) return 'failed';
  if (has('cancelled')) return 'cancelled';
  return 'completed';
}

function combineStages(scans: readonly ProgressMetrics[]): StageProgress[] {
  return STAGES.map((stage, i) => {
    let completed = 0, total = 0, weight = 0, pct = 0, runs = 0, duration = 0;
    let running = false, pending = false;
    for (const s of scans) {
      const sp = s.stages[i];
      if (sp.state === 'skipped') continue;
      runs++;
      completed += sp.completed;
      total += sp.total;
      weight += sp.weight;
      pct += sp.percentage;
      duration = Math.max(duration, sp.durationMs);
      if (sp.state === 'running') running = true;
      else if (sp.state === 'pending') pending = true;
    }
    const state: StageState = runs === 0 ? 'skipped' : running ? 'running' : pending ? 'pending' : 'done';
    return {
      stage,
      label: stageLabel(stage),
      weight: runs > 0 ? weight / runs : 0,
      state,
      completed,
      total,
      percentage: runs > 0 ? pct / runs : 0,
      durationMs: duration,
    };
  });
}
