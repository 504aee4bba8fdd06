import {
  progressUpdate,
  scanCompleted,
  scanStarted,
  stageChanged,
  type ScanEvent,
  type Stage,
} from '@portflow/core';

export const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export interface SimStage {
  readonly stage: Stage;
  /** Units of the stage (0: a stage without counts, lasting `durationMs`). */
  readonly total: number;
  /** Units completed per second, `t` seconds into the stage (a whole number per tick keeps the truth exact). */
  readonly rate?: (t: number) => number;
  readonly durationMs?: number;
}

export interface SimPoint {
  /** Index of the ProgressUpdate in `events`. */
  readonly index: number;
  readonly ts: number;
  /** Exact remaining time of the scan at this update. */
  readonly remainingMs: number;
  /** Fraction of the whole scan's time elapsed. */
  readonly doneFraction: number;
  readonly stage: Stage;
  readonly stageFraction: number;
}

export interface Sim {
  readonly scanId: string;
  readonly events: ScanEvent[];
  readonly points: SimPoint[];
  readonly endTs: number;
}

/**
 * A scan as its scanner would publish it: ScanStarted, StageChanged at each
 * stage boundary, one ProgressUpdate per tick, ScanCompleted. Everything is
 * deterministic, and the true remaining time at every update is known.
 */
export function simulate(stages: readonly SimStage[], opts: { scanId?: string; tickMs?: number; t0?: number; bytesPerPacket?: number } = {}): Sim {
  const scanId = opts.scanId ?? 'scan-a';
  const tick = opts.tickMs ?? 1000;
  const t0 = opts.t0 ?? T0;
  const bpp = opts.bytesPerPacket ?? 60;
  const events: ScanEvent[] = [];
  const raw: { index: number; ts: number; stage: Stage; stageFraction: number }[] = [];
  events.push(
    scanStarted(scanId, t0, {
      scanType: 'syn',
      targetCount: 256,
      portCount: 1000,
      targets: ['10.0.0.0/24'],
      ports: '1-1000',
      options: { stages: stages.map((s) => s.stage) },
    }),
  );
  let ts = t0;
  let packets = 0, hosts = 0;
  let prev: Stage | undefined;
  for (const s of stages) {
    events.push(stageChanged(scanId, ts, s.stage, prev));
    prev = s.stage;
    let done = 0;
    let t = 0;
    const emit = (): void => {
      raw.push({ index: events.length, ts, stage: s.stage, stageFraction: s.total > 0 ? done / s.total : t / (s.durationMs ?? 1) });
      events.push(
        progressUpdate(scanId, ts, {
          stage: s.stage,
          percentage: 0,
          completed: done,
          total: s.total,
          inFlight: 0,
          retriesPending: 0,
          waitRemainingMs: 0,
          counters: { packetsSent: packets, packetsReceived: packets >> 1, bytesSent: packets * bpp, retriesSent: 0, hostsCompleted: hosts, hostsTotal: 256 },
          throughput: { packetsPerSec: 0, portsPerSec: 0, hostsPerMin: 0, bytesPerSec: 0 },
        }),
      );
    };
    emit();
    if (s.total > 0) {
      while (done < s.total) {
        const r = s.rate!(t / 1000);
        const step = Math.min(s.total - done, Math.round((r * tick) / 1000));
        done += step;
        packets += step;
        if (s.stage === 'HostDiscovery') hosts += step;
        ts += tick;
        t += tick;
        emit();
      }
    } else {
      while (t < (s.durationMs ?? 0)) {
        ts += tick;
        t += tick;
        emit();
      }
    }
  }
  const endTs = ts;
  events.push(scanCompleted(scanId, endTs, { outcome: 'completed', targetsScanned: 256, portsScanned: 256000, openPorts: 0, hostsUp: hosts, durationMs: endTs - t0 }));
  const dur = endTs - t0;
  const points = raw.map((p) => ({ ...p, remainingMs: endTs - p.ts, doneFraction: (p.ts - t0) / dur }));
  return { scanId, events, points, endTs };
}

/** |estimate − truth| / truth. */
export function relError(estimate: number | null, truth: number): number {
  if (estimate === null) return Infinity;
  return Math.abs(estimate - truth) / truth;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
