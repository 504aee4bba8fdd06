import { describe, expect, it } from 'vitest';
import {
  chooseEstimator,
  DEFAULT_TAU_MS,
  EwmaEstimator,
  ewmaAlpha,
  futureStagesMs,
  LinearEstimator,
  msPerWeight,
  multiStageRemainingMs,
  ProgressOptionError,
  RateVariability,
  RateWindow,
  STAGE_FINISHED,
  STAGE_PENDING,
  STAGE_RUNNING,
  timeAtRate,
  type StageTimeline,
} from '../src/index.js';

describe('LinearEstimator', () => {
  it('is the average rate since the first observation', () => {
    const e = new LinearEstimator();
    expect(e.rate()).toBe(0);
    e.observe(1000, 500); // a baseline mid-stage (resume, late attach)
    expect(e.rate()).toBe(0);
    e.observe(3000, 2500);
    e.observe(5000, 2500);
    expect(e.rate()).toBe(0.5);
    e.reset();
    expect(e.rate()).toBe(0);
  });
});

describe('EwmaEstimator', () => {
  it('τ default gives α = 0.2 at one update per second', () => {
    expect(ewmaAlpha(1000, DEFAULT_TAU_MS)).toBeCloseTo(0.2, 12);
    expect(DEFAULT_TAU_MS).toBeCloseTo(4481.42, 2);
    expect(ewmaAlpha(0, DEFAULT_TAU_MS)).toBe(0);
  });

  it('starts at the first measured rate (no warm-up from zero)', () => {
    const e = new EwmaEstimator();
    e.observe(0, 0);
    e.observe(1000, 1000);
    expect(e.rate()).toBe(1);
  });

  it('smooths the same whatever the update frequency', () => {
    // 1/ms for 10 s, then 0.25/ms for 10 s; updates every 100 ms, 1 s or 2.5 s.
    const at = (every: number): number => {
      const e = new EwmaEstimator();
      for (let t = 0; t <= 20_000; t += every) e.observe(t, t <= 10_000 ? t : 10_000 + (t - 10_000) * 0.25);
      return e.rate();
    };
    const expected = 0.25 + 0.75 * Math.exp(-10_000 / DEFAULT_TAU_MS);
    expect(at(100)).toBeCloseTo(expected, 12);
    expect(at(1000)).toBeCloseTo(expected, 12);
    expect(at(2500)).toBeCloseTo(expected, 12);
  });

  it('ignores a second observation at the same instant, measuring the next from the older base', () => {
    const e = new EwmaEstimator();
    e.observe(0, 0);
    e.observe(1000, 1000);
    e.observe(1000, 1500);
    e.observe(2000, 2000);
    expect(e.rate()).toBeCloseTo(1, 12);
  });

  it('rejects a bad τ', () => {
    expect(() => new EwmaEstimator(0)).toThrow(ProgressOptionError);
  });
});

describe('multi-stage', () => {
  const tl = (p: Partial<StageTimeline>): StageTimeline => ({
    weights: [2, 13, 75, 8, 2],
    states: [STAGE_FINISHED, STAGE_RUNNING, STAGE_PENDING, STAGE_PENDING, STAGE_PENDING],
    durations: [4000, 0, 0, 0, 0],
    current: 1,
    currentElapsedMs: 0,
    currentFraction: 0,
    ...p,
  });

  it('takes its pace from the finished stages before the current one has progress', () => {
    // 4 s for weight 2: 2 s per unit of weight.
    expect(msPerWeight(tl({}))).toBe(2000);
    expect(futureStagesMs(tl({}))).toBe((75 + 8 + 2) * 2000);
    expect(multiStageRemainingMs(tl({}))).toBe((13 + 75 + 8 + 2) * 2000);
  });

  it('refines the pace with the current stage', () => {
    // Host discovery half done in 26 s: (4 + 26) s for 2 + 6.5 units.
    const t = tl({ currentElapsedMs: 26_000, currentFraction: 0.5 });
    const pace = 30_000 / 8.5;
    expect(msPerWeight(t)).toBeCloseTo(pace, 9);
    expect(multiStageRemainingMs(t)).toBeCloseTo((6.5 + 85) * pace, 6);
  });

  it('knows nothing before any progress', () => {
    const t = tl({ states: [STAGE_RUNNING, 0, 0, 0, 0], durations: [0, 0, 0, 0, 0], current: 0 });
    expect(msPerWeight(t)).toBeUndefined();
    expect(multiStageRemainingMs(t)).toBeUndefined();
  });

  it('a stage without counts is expected to last its share', () => {
    const t = tl({
      states: [STAGE_FINISHED, STAGE_FINISHED, STAGE_FINISHED, STAGE_FINISHED, STAGE_RUNNING],
      durations: [2000, 13_000, 75_000, 8000, 0],
      current: 4,
      currentElapsedMs: 500,
    });
    expect(multiStageRemainingMs(t)).toBe(1500);
  });

  it('timeAtRate', () => {
    expect(timeAtRate(0, 0)).toBe(0);
    expect(timeAtRate(10, 0)).toBeUndefined();
    expect(timeAtRate(10, 2)).toBe(5);
  });
});

describe('chooseEstimator', () => {
  const b = { observations: 10, stageFraction: 0.5, linearRate: 1, ewmaRate: 1, cv: 0 };
  it('multi-stage while the stage has told little', () => {
    expect(chooseEstimator({ ...b, observations: 2 })).toBe('multiStage');
    expect(chooseEstimator({ ...b, stageFraction: 0.01 })).toBe('multiStage');
  });
  it('linear on a bursty rate, EWMA on a change of pace, linear otherwise', () => {
    expect(chooseEstimator({ ...b, cv: 1, ewmaRate: 0.3 })).toBe('linear');
    expect(chooseEstimator({ ...b, ewmaRate: 0.3 })).toBe('ewma');
    expect(chooseEstimator({ ...b, ewmaRate: 1.05 })).toBe('linear');
  });
});

describe('RateVariability', () => {
  it('is 0 on a steady rate and 1 on an on/off rate', () => {
    const steady = new RateVariability();
    const onOff = new RateVariability();
    for (let s = 0; s <= 16; s++) {
      steady.observe(s * 1000, s * 100);
      onOff.observe(s * 1000, Math.ceil(s / 2) * 100);
    }
    expect(steady.cv()).toBe(0);
    expect(onOff.cv()).toBeCloseTo(1, 12);
    expect(onOff.count).toBe(8);
  });
});

describe('RateWindow', () => {
  it('rates over the window from the newest sample at or before its start', () => {
    const w = new RateWindow(5000, 1);
    const out = [0];
    w.rates(out);
    expect(out[0]).toBe(0);
    for (let s = 0; s <= 10; s++) w.push(s * 1000, [s < 5 ? s * 100 : 400 + (s - 4) * 1000]);
    w.rates(out);
    // From t = 5 s (1,400) to t = 10 s (6,400).
    expect(out[0]).toBe(1);
  });

  it('keeps bounded memory at any update frequency, still covering the window', () => {
    const w = new RateWindow(5000, 1, 64);
    const out = [0];
    for (let t = 0; t <= 3_600_000; t += 10) w.push(t, [t * 2]);
    expect(w.length).toBeLessThanOrEqual(64);
    w.rates(out);
    expect(out[0]).toBeCloseTo(2, 12);
  });
});
