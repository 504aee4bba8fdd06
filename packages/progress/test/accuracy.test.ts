import { describe, expect, it } from 'vitest';
import type { ProgressMetrics } from '../src/index.js';
import { drive } from './drive.js';
import { median, relError, simulate, type Sim } from './simulate.js';

type Key = 'linear' | 'ewma' | 'multiStage' | 'default';
const KEYS: Key[] = ['linear', 'ewma', 'multiStage', 'default'];

function est(m: ProgressMetrics, k: Key): number | null {
  return k === 'default' ? m.eta.ms : m.eta[k];
}

/** Relative errors of each estimator at every update from `from` to `to` of the scan's time (the final update, 0 remaining, excluded). */
function errors(sim: Sim, metrics: ProgressMetrics[], from = 0.1, to = 1): Record<Key, number[]> {
  const out: Record<Key, number[]> = { linear: [], ewma: [], multiStage: [], default: [] };
  sim.points.forEach((p, i) => {
    if (p.doneFraction < from || p.doneFraction > to || p.remainingMs === 0) return;
    for (const k of KEYS) out[k].push(relError(est(metrics[i], k), p.remainingMs));
  });
  return out;
}

// The three simulated rates of the issue, one stage of 1 s updates.
const constant = simulate([{ stage: 'PortScanning', total: 100_000, rate: () => 1000 }]);
const step = simulate([{ stage: 'PortScanning', total: 300_000, rate: (t) => (t < 100 ? 1000 : 250) }]);
const bursty = simulate([{ stage: 'PortScanning', total: 200_000, rate: (t) => (Math.floor(t / 2) % 2 === 0 ? 1000 : 0) }]);
// Five stages at constant rates, each lasting its default share of the time (20 s, 130 s, 750 s, 80 s, 20 s).
const fiveStages = simulate([
  { stage: 'TargetResolution', total: 20, rate: () => 1 },
  { stage: 'HostDiscovery', total: 1300, rate: () => 10 },
  { stage: 'PortScanning', total: 750_000, rate: () => 1000 },
  { stage: 'ServiceDetection', total: 800, rate: () => 10 },
  { stage: 'Finalization', total: 0, durationMs: 20_000 },
]);

describe('ETA accuracy on simulated scans', () => {
  it('constant rate: every estimator within 5% once 10% is done', () => {
    const e = errors(constant, drive(constant));
    expect(e.linear.length).toBe(90);
    for (const k of KEYS) expect(Math.max(...e[k]), k).toBeLessThanOrEqual(0.05);
  });

  it('constant rate over five stages: multi-stage within 5% once its first stage has completed, linear and EWMA wherever their stage has a rate', () => {
    const m = drive(fiveStages);
    const firstStageEnd = 20_000 / (fiveStages.endTs - fiveStages.points[0].ts);
    const e = errors(fiveStages, m, firstStageEnd);
    expect(Math.max(...e.multiStage)).toBeLessThanOrEqual(0.05);
    expect(Math.max(...e.default)).toBeLessThanOrEqual(0.05);
    // At a stage's first update its own rate is not measured yet (null): the default falls back to multi-stage.
    const known = (k: 'linear' | 'ewma'): number[] => e[k].filter((x) => Number.isFinite(x));
    expect(known('linear').length).toBeGreaterThan(900);
    expect(Math.max(...known('linear'))).toBeLessThanOrEqual(0.05);
    expect(Math.max(...known('ewma'))).toBeLessThanOrEqual(0.05);
  });

  it('step from 1,000/s to 250/s: EWMA is within 5% (for good) sooner than linear', () => {
    const m = drive(step);
    const settle = (k: Key): number => {
      // Seconds after the step from which the estimate stays within 5%.
      let since = Infinity;
      step.points.forEach((p, i) => {
        const t = (p.ts - step.points[0].ts) / 1000;
        if (t <= 100 || p.remainingMs === 0) return;
        const ok = relError(est(m[i], k), p.remainingMs) <= 0.05;
        if (!ok) since = Infinity;
        else if (since === Infinity) since = t - 100;
      });
      return since;
    };
    const ewma = settle('ewma');
    const linear = settle('linear');
    // τ ≈ 4.48 s: 750·e^(−t/τ) < 5% of 250 after ≈ 18.3 s.
    expect(ewma).toBe(19);
    expect(linear).toBe(Infinity); // the average still remembers the fast phase when the scan ends
    expect(ewma).toBeLessThan(linear);
  });

  it('stationary bursty rate (2 s on, 2 s off): linear within 10% from 10% to 90% done', () => {
    const e = errors(bursty, drive(bursty), 0.1, 0.9);
    expect(Math.max(...e.linear)).toBeLessThanOrEqual(0.1);
    // EWMA chases every burst: why the default does not use it here.
    expect(median(e.ewma)).toBeGreaterThan(0.1);
  });

  it('the default estimator: median error within 10% once 10% is done on all three', () => {
    const med = (sim: Sim): number => median(errors(sim, drive(sim)).default);
    const c = med(constant), s = med(step), b = med(bursty);
    expect(c).toBeLessThanOrEqual(0.1);
    expect(s).toBeLessThanOrEqual(0.1);
    expect(b).toBeLessThanOrEqual(0.1);
    expect([c, s, b].map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 0, 0.008]);
  });

  it('the default picks linear on bursty and EWMA after the step', () => {
    const using = (sim: Sim, at: number): string | null => {
      const m = drive(sim);
      const i = sim.points.findIndex((p) => p.ts - sim.points[0].ts >= at * 1000);
      return m[i].eta.using;
    };
    expect(using(bursty, 150)).toBe('linear');
    expect(using(step, 200)).toBe('ewma');
    expect(using(constant, 50)).toBe('linear');
  });
});

describe('accuracy indicator', () => {
  const at = (sim: Sim, seconds: number): ProgressMetrics => {
    const m = drive(sim);
    return m[sim.points.findIndex((p) => p.ts - sim.points[0].ts >= seconds * 1000)];
  };

  it('low at the start, high on a steady rate seen long enough', () => {
    expect(at(constant, 1).eta.accuracy).toBe('low');
    expect(at(constant, 50).eta.accuracy).toBe('high');
  });

  it('high on a stationary bursty rate too: its average is a good predictor', () => {
    expect(at(bursty, 200).eta.accuracy).toBe('high');
  });

  it('medium after a change of pace: the recent rate and the average disagree', () => {
    expect(at(step, 200).eta.accuracy).toBe('medium');
  });

  it('over five stages: high within a stage, and at a stage boundary as long as the pace holds', () => {
    const m = drive(fiveStages);
    const i = fiveStages.points.findIndex((p) => p.stage === 'PortScanning' && p.stageFraction >= 0.5);
    expect(m[i].eta.accuracy).toBe('high');
  });
});
