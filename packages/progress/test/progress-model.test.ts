import { describe, expect, it } from 'vitest';
import type { ProgressCounters } from '@portflow/core';
import { ProgressModel, ProgressOptionError, STAGE_WEIGHTS } from '../src/index.js';
import { T0 } from './simulate.js';

const counters = (packetsSent: number, hostsCompleted = 0): ProgressCounters => ({
  packetsSent,
  packetsReceived: 0,
  bytesSent: packetsSent * 60,
  retriesSent: 0,
  hostsCompleted,
  hostsTotal: 0,
});

describe('percentage', () => {
  it('weights the stages 2/13/75/8/2 and counts a stage as finished when left', () => {
    const m = new ProgressModel();
    m.start(T0);
    expect(m.percentage).toBe(0);
    m.enterStage(T0, 'TargetResolution');
    m.update(T0 + 1000, { stage: 'TargetResolution', completed: 1, total: 2 });
    expect(m.percentage).toBeCloseTo(1, 12);
    m.enterStage(T0 + 2000, 'HostDiscovery');
    expect(m.percentage).toBeCloseTo(2, 12);
    m.update(T0 + 3000, { stage: 'HostDiscovery', completed: 128, total: 256 });
    expect(m.percentage).toBeCloseTo(2 + 6.5, 12);
    m.enterStage(T0 + 4000, 'PortScanning');
    m.update(T0 + 5000, { stage: 'PortScanning', completed: 500, total: 1000 });
    expect(m.percentage).toBeCloseTo(15 + 37.5, 12);
    m.enterStage(T0 + 6000, 'ServiceDetection');
    m.enterStage(T0 + 7000, 'Finalization');
    expect(m.percentage).toBeCloseTo(98, 12);
    m.finish(T0 + 8000, 'completed');
    expect(m.percentage).toBe(100);
  });

  it('renormalises to the stages the scan runs', () => {
    const m = new ProgressModel({ stages: ['PortScanning', 'Finalization'] });
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 50, total: 100 });
    expect(m.percentage).toBeCloseTo((100 * 37.5) / 77, 12);
    expect(m.stagePosition()).toEqual({ index: 1, count: 2 });
    expect(m.stages().map((s) => s.state)).toEqual(['skipped', 'skipped', 'running', 'skipped', 'pending']);
    expect(m.stages()[2].weight).toBeCloseTo((100 * 75) / 77, 12);
  });

  it('entering a later stage finishes the skipped ones before it', () => {
    const m = new ProgressModel();
    m.start(T0);
    m.enterStage(T0, 'PortScanning');
    expect(m.percentage).toBeCloseTo(15, 12);
  });

  it('never decreases when total grows, and never exceeds 100', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 80, total: 100 });
    expect(m.percentage).toBe(80);
    m.update(T0 + 2000, { stage: 'PortScanning', completed: 90, total: 1000 });
    expect(m.percentage).toBe(80);
    m.update(T0 + 3000, { stage: 'PortScanning', completed: 5000, total: 1000 }); // completed > total: capped
    expect(m.percentage).toBe(100);
  });

  it('is 0, never NaN, with zero totals and nothing known', () => {
    const m = new ProgressModel();
    expect(m.percentage).toBe(0);
    m.start(T0);
    m.update(T0 + 1000, { stage: 'HostDiscovery', completed: 0, total: 0 });
    expect(m.percentage).toBeCloseTo(2, 12);
    const u = m.toProgressUpdate('s', T0 + 1000);
    for (const v of [u.percentage, u.throughput.packetsPerSec, u.throughput.bytesPerSec, u.throughput.hostsPerMin, u.throughput.portsPerSec]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(u.etaMs).toBeUndefined();
  });

  it('is exactly 100 only on a completed outcome', () => {
    for (const outcome of ['cancelled', 'failed'] as const) {
      const m = new ProgressModel({ stages: ['PortScanning'] });
      m.start(T0);
      m.update(T0 + 1000, { stage: 'PortScanning', completed: 40, total: 100 });
      m.finish(T0 + 2000, outcome);
      expect(m.percentage).toBe(40);
      expect(m.state).toBe(outcome);
      expect(m.eta().ms).toBeNull();
    }
  });

  it('a total of 0 means unknown: the plan stays, or the stage fraction stays 0 (no jump to done)', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 100, total: 0 });
    expect(m.percentage).toBe(0);
    m.setPlannedTotals(4, 100);
    expect(m.total).toBe(400);
    expect(m.percentage).toBe(25);
    m.update(T0 + 2000, { stage: 'PortScanning', completed: 200, total: 0 });
    expect(m.percentage).toBe(50);
    m.update(T0 + 3000, { stage: 'PortScanning', completed: 300, total: 1000 });
    m.setPlannedTotals(1, 1, 0, true); // a plan never replaces what an update reported
    expect(m.total).toBe(1000);
  });

  it('ignores events with a timestamp that is not a number', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 100, total: 1000 });
    expect(m.update(Number.NaN, { stage: 'PortScanning', completed: 900, total: 1000 })).toBe(false);
    expect(m.update(T0 + 2000, { stage: 'PortScanning', completed: 200, total: 1000 })).toBe(true);
    expect(m.percentage).toBe(20);
    expect(() => m.start(Number.NaN)).toThrow(ProgressOptionError);
  });

  it('ignores garbage numbers in an update (keeps the previous value)', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 10, total: 100 });
    m.update(T0 + 2000, { stage: 'PortScanning', completed: Number.NaN, total: -5, inFlight: Infinity });
    expect(m.completed).toBe(10);
    expect(m.total).toBe(100);
    expect(m.inFlight).toBe(0);
    expect(m.percentage).toBe(10);
  });
});

describe('out-of-order, duplicated and missing updates', () => {
  it('drops an update older than one applied, and an exact duplicate', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    expect(m.update(T0 + 2000, { stage: 'PortScanning', completed: 2000, total: 10_000, counters: counters(2000) })).toBe(true);
    expect(m.update(T0 + 1000, { stage: 'PortScanning', completed: 1000, total: 10_000, counters: counters(1000) })).toBe(false);
    expect(m.update(T0 + 2000, { stage: 'PortScanning', completed: 2000, total: 10_000, counters: counters(2000) })).toBe(false);
    expect(m.staleUpdates).toBe(1);
    expect(m.duplicateUpdates).toBe(1);
    expect(m.completed).toBe(2000);
    m.update(T0 + 3000, { stage: 'PortScanning', completed: 3000, total: 10_000, counters: counters(3000) });
    expect(m.throughput().packetsPerSec).toBe(1000);
    expect(m.percentage).toBe(30);
  });

  it('drops a late update of a stage already left', () => {
    const m = new ProgressModel();
    m.start(T0);
    m.enterStage(T0 + 1000, 'PortScanning');
    expect(m.update(T0 + 1500, { stage: 'HostDiscovery', completed: 3, total: 10 })).toBe(false);
    expect(m.stage).toBe('PortScanning');
  });

  it('gives the same rates with every other update missing', () => {
    const all = new ProgressModel({ stages: ['PortScanning'] });
    const half = new ProgressModel({ stages: ['PortScanning'] });
    all.start(T0);
    half.start(T0);
    for (let s = 0; s <= 20; s++) {
      const u = { stage: 'PortScanning' as const, completed: s * 500, total: 100_000, counters: counters(s * 500) };
      all.update(T0 + s * 1000, u);
      if (s % 2 === 0) half.update(T0 + s * 1000, u);
    }
    expect(half.throughput()).toEqual(all.throughput());
    expect(half.eta().linear).toBe(all.eta().linear);
    expect(half.percentage).toBe(all.percentage);
  });

  it('takes an update of a later stage as that stage beginning (its StageChanged lost)', () => {
    const m = new ProgressModel();
    m.start(T0);
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 10, total: 100 });
    expect(m.stage).toBe('PortScanning');
    expect(m.percentage).toBeCloseTo(15 + 7.5, 12);
  });
});

describe('pauses and resumes', () => {
  const run = (pauseMs: number): ProgressModel => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    let ts = T0;
    let done = 0;
    for (let s = 0; s < 10; s++) {
      m.update(ts, { stage: 'PortScanning', completed: done, total: 100_000, counters: counters(done) });
      ts += 1000;
      done += 1000;
    }
    m.pause(ts);
    // A reply or two still lands while paused.
    m.update(ts + pauseMs / 2, { stage: 'PortScanning', completed: done + 7, total: 100_000, counters: counters(done + 7) });
    ts += pauseMs;
    m.resume(ts);
    done += 7;
    for (let s = 0; s < 3; s++) {
      m.update(ts, { stage: 'PortScanning', completed: done, total: 100_000, counters: counters(done) });
      ts += 1000;
      done += 1000;
    }
    return m;
  };

  it('a long pause does not count toward rates: no spike to zero and back', () => {
    const short = run(1000);
    const long = run(3_600_000);
    // 5,007 probes over the last 5 s of active time: the 7 that landed while paused count, the hour does not.
    expect(long.throughput().packetsPerSec).toBeCloseTo(1001.4, 9);
    expect(long.throughput()).toEqual(short.throughput());
    expect(long.eta().linear).toBeCloseTo(short.eta().linear!, 6);
    expect(long.elapsedMs).toBe(short.elapsedMs);
  });

  it('keeps the rates while paused', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    for (let s = 0; s <= 10; s++) m.update(T0 + s * 1000, { stage: 'PortScanning', completed: s * 100, total: 10_000, counters: counters(s * 100) });
    m.pause(T0 + 10_000);
    expect(m.state).toBe('paused');
    m.update(T0 + 500_000, { stage: 'PortScanning', completed: 1000, total: 10_000, counters: counters(1000) });
    expect(m.throughput().packetsPerSec).toBeCloseTo(100, 9);
    expect(m.elapsedMs).toBe(10_000);
  });

  it('a scan resumed in a new process: cumulative counters, gap not counted, percentage kept', () => {
    const m = new ProgressModel({ stages: ['PortScanning'] });
    m.start(T0);
    for (let s = 0; s <= 10; s++) m.update(T0 + s * 1000, { stage: 'PortScanning', completed: s * 1000, total: 100_000, counters: counters(s * 1000) });
    expect(m.percentage).toBe(10);
    // The first process went on to 15,000 without our seeing it, then died; the resume starts an hour later.
    const r = T0 + 3_610_000;
    m.start(r, ['PortScanning']);
    m.update(r + 1000, { stage: 'PortScanning', completed: 15_000, total: 100_000, counters: counters(15_000) });
    expect(m.percentage).toBe(15);
    // The jump of 5,000 is a new baseline, not a burst: the window holds 4 s of
    // the old run's 1,000/s and 1 s with nothing attributed.
    expect(m.throughput().packetsPerSec).toBeCloseTo(800, 9);
    m.update(r + 2000, { stage: 'PortScanning', completed: 15_500, total: 100_000, counters: counters(15_500) });
    expect(m.percentage).toBe(15.5);
    expect(m.elapsedMs).toBe(12_000);
  });
});

describe('ETA', () => {
  const base = (p: { inFlight?: number; retriesPending?: number; waitRemainingMs?: number; completed?: number }): ProgressModel => {
    const m = new ProgressModel({ stages: ['PortScanning'], estimator: 'linear' });
    m.start(T0);
    m.update(T0, { stage: 'PortScanning', completed: 0, total: 10_000 });
    m.update(T0 + 5000, { stage: 'PortScanning', completed: 5000, total: 10_000 });
    // At 1 probe/ms, so the rate stays 1/ms whatever `completed` is.
    const done = p.completed ?? 5000;
    m.update(T0 + done, { stage: 'PortScanning', total: 10_000, ...p, completed: done });
    return m;
  };

  it('remaining probes at the rate plus waitRemainingMs', () => {
    expect(base({}).etaMs).toBe(5000);
    expect(base({ waitRemainingMs: 2000 }).etaMs).toBe(7000);
  });

  it('in-flight probes need no more sending: they resolve within the wait after the last send', () => {
    expect(base({ inFlight: 1000, waitRemainingMs: 2000 }).etaMs).toBe(4000 + 2000);
  });

  it('pending retries are sent again: they cost time at the rate', () => {
    // 5,000 not final: 3,000 unsent, 1,000 in flight, 1,000 to resend.
    expect(base({ inFlight: 1000, retriesPending: 1000, waitRemainingMs: 2000 }).etaMs).toBe(4000 + 2000);
    // Everything sent but 300 retries: they are what is left to send.
    expect(base({ completed: 9000, inFlight: 700, retriesPending: 300, waitRemainingMs: 2000 }).etaMs).toBe(300 + 2000);
  });

  it('after the last send, only the wait remains', () => {
    expect(base({ completed: 9500, inFlight: 500, waitRemainingMs: 1200 }).etaMs).toBe(1200);
    expect(base({ completed: 9500, inFlight: 500 }).etaMs).toBe(500);
  });

  it('is 0 once completed', () => {
    const m = base({});
    m.finish(T0 + 6000, 'completed');
    expect(m.eta()).toMatchObject({ ms: 0, accuracy: 'high' });
  });

  it('a stage with a very different speed: the stage-share estimate misjudges it, the in-stage rate gets it right', () => {
    const m = new ProgressModel({ stages: ['PortScanning', 'ServiceDetection'] });
    m.start(T0);
    m.enterStage(T0, 'PortScanning');
    for (let s = 1; s <= 75; s++) m.update(T0 + s * 1000, { stage: 'PortScanning', completed: s * 1000, total: 75_000 });
    m.enterStage(T0 + 75_000, 'ServiceDetection');
    // Service detection should take 8 s at the default shares; it runs at 1 probe/s over 200 probes: 200 s.
    let ts = T0 + 75_000;
    for (let s = 1; s <= 20; s++) m.update((ts += 1000), { stage: 'ServiceDetection', completed: s, total: 200 });
    const e = m.eta();
    expect(e.linear).toBeCloseTo(180_000, 6);
    expect(e.multiStage).toBeLessThan(20_000);
    expect(e.using).toBe('linear');
    expect(m.percentage).toBeCloseTo((100 * (75 + 8 * 0.1)) / 83, 9);
  });
});

describe('EWMA α and τ', () => {
  it('defaults to α = 0.2 at one update per second', () => {
    const m = new ProgressModel({ stages: ['PortScanning'], estimator: 'ewma' });
    m.start(T0);
    m.update(T0, { stage: 'PortScanning', completed: 0, total: 1e6 });
    m.update(T0 + 1000, { stage: 'PortScanning', completed: 1000, total: 1e6 });
    m.update(T0 + 2000, { stage: 'PortScanning', completed: 1000 + 2000, total: 1e6 });
    // rate 1/ms then 2/ms: 1 + 0.2·(2 − 1) = 1.2/ms; remaining 997,000 → 830,833.3 ms
    expect(m.eta().ewma).toBeCloseTo(997_000 / 1.2, 6);
  });
});

describe('options', () => {
  it('rejects bad options with a typed error naming the option', () => {
    expect(() => new ProgressModel({ windowMs: 0 })).toThrow(ProgressOptionError);
    expect(() => new ProgressModel({ windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new ProgressModel({ tauMs: Number.NaN })).toThrow(/tauMs/);
    expect(() => new ProgressModel({ estimator: 'magic' as never })).toThrow(/estimator/);
    expect(() => new ProgressModel({ stages: ['Portscan' as never] })).toThrow(/"Portscan" is not a stage/);
    expect(() => new ProgressModel({ stages: [] })).toThrow(/non-empty/);
    try {
      new ProgressModel({ windowMs: -1 });
    } catch (e) {
      expect((e as ProgressOptionError).code).toBe('ERR_PROGRESS_OPTION');
    }
  });

  it('exports the weights of docs/ARCHITECTURE.md', () => {
    expect(STAGE_WEIGHTS).toEqual({ TargetResolution: 2, HostDiscovery: 13, PortScanning: 75, ServiceDetection: 8, Finalization: 2 });
  });
});
