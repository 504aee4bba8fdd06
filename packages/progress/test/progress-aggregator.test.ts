import { describe, expect, it } from 'vitest';
import {
  EventBus,
  hostDiscovered,
  ipv6PortFound,
  portFound,
  progressUpdate,
  scanCancelled,
  scanCompleted,
  scanPaused,
  scanResumed,
  scanStarted,
  serviceDetected,
  stageChanged,
  warningIssued,
  type ScanEvent,
} from '@portflow/core';
import { ProgressAggregator, ProgressModel, ProgressOptionError, ProgressStateError, type ProgressMetrics } from '../src/index.js';
import { drive } from './drive.js';
import { simulate, T0 } from './simulate.js';

const started = (id: string, ts = T0, stages?: string[]): ScanEvent =>
  scanStarted(id, ts, { scanType: 'syn', targetCount: 4, portCount: 100, targets: ['10.0.0.0/30'], ports: '1-100', options: stages ? { stages } : {} });

const upd = (id: string, ts: number, stage: 'HostDiscovery' | 'PortScanning', completed: number, total: number, packets = completed): ScanEvent =>
  progressUpdate(id, ts, {
    stage, percentage: 0, completed, total, inFlight: 0, retriesPending: 0, waitRemainingMs: 0,
    counters: { packetsSent: packets, packetsReceived: 0, bytesSent: packets * 60, retriesSent: 0, hostsCompleted: 0, hostsTotal: 4 },
    throughput: { packetsPerSec: 0, portsPerSec: 0, hostsPerMin: 0, bytesPerSec: 0 },
  });

describe('ProgressAggregator', () => {
  it('counts what the scan found, for its own scan only', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a', { clock: () => T0 });
    bus.publish(started('a'));
    bus.publish(hostDiscovered('a', T0, '10.0.0.1', 'icmp-echo', 1.2));
    bus.publish(hostDiscovered('b', T0, '10.0.0.2', 'icmp-echo', 1.2));
    bus.publish(portFound('a', T0, '10.0.0.1', 22, 'tcp', 'open'));
    bus.publish(portFound('a', T0, '10.0.0.1', 23, 'tcp', 'closed'));
    bus.publish(ipv6PortFound('a', T0, '::1', 443, 'tcp', 'open'));
    bus.publish(serviceDetected('a', T0, { target: '10.0.0.1', port: 22, protocol: 'tcp', serviceName: 'ssh', confidence: 90, method: 'banner' }));
    bus.publish(warningIssued('a', T0, 'ICMP rate limited'));
    const m = agg.getCurrentMetrics();
    expect(m.found).toEqual({ hostsUp: 1, openPorts: 2, portsReported: 3, services: 1, warnings: 1, errors: 0 });
    expect(m.state).toBe('running');
    expect(m.scans).toBeNull();
  });

  it('takes totals from ScanStarted, or from start(), until updates tell', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a');
    agg.start(10, 1000);
    expect(agg.getCurrentMetrics().stages[2].total).toBe(10_000);
    const agg2 = new ProgressAggregator(bus, 'b');
    bus.publish(started('b'));
    bus.publish(stageChanged('b', T0, 'PortScanning', 'HostDiscovery'));
    expect(agg2.getCurrentMetrics()).toMatchObject({ stage: 'PortScanning', completed: 0, total: 400 });
    bus.publish(upd('b', T0 + 1000, 'PortScanning', 100, 300));
    expect(agg2.getCurrentMetrics()).toMatchObject({ completed: 100, total: 300 });
    expect(() => ProgressAggregator.global(bus).start(1, 1)).toThrow(ProgressStateError);
    expect(() => agg.start(-1, 5)).toThrow(ProgressOptionError);
  });

  it('screen and log agree: the aggregator computes what the scanner published with the same model', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 's');
    const published: ProgressMetrics[] = [];
    const scanner = new ProgressModel({ stages: ['HostDiscovery', 'PortScanning'] });
    bus.publish(started('s', T0, ['HostDiscovery', 'PortScanning']));
    scanner.start(T0);
    let ts = T0;
    const step = (stage: 'HostDiscovery' | 'PortScanning', done: number, total: number): void => {
      ts += 1000;
      scanner.update(ts, { stage, completed: done, total, counters: { packetsSent: done * 2, bytesSent: done * 120 } });
      const u = scanner.toProgressUpdate('s', ts);
      bus.publish(u);
      const m = agg.getCurrentMetrics();
      expect(m.percentage).toBe(u.percentage);
      expect(m.throughput).toEqual(u.throughput);
      expect(m.eta.ms ?? undefined).toBe(u.etaMs);
      published.push(m);
    };
    for (let h = 0; h <= 4; h++) step('HostDiscovery', h, 4);
    for (let p = 0; p <= 20; p++) step('PortScanning', p * 20, 400);
    expect(published.at(-1)!.percentage).toBe(100 * (13 + 75) / 88);
  });

  it('percentage never decreases through out-of-order and duplicated updates, then is 100 on completion', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a');
    const events = [started('a', T0, ['PortScanning']), stageChanged('a', T0, 'PortScanning')];
    for (let s = 1; s <= 30; s++) events.push(upd('a', T0 + s * 1000, 'PortScanning', s * 100, s < 15 ? 2000 : 5000));
    // Shuffle deterministically: swap neighbours, duplicate every fifth.
    const messy: ScanEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      if (i > 2 && i % 3 === 0 && i + 1 < events.length) {
        messy.push(events[i + 1], events[i]);
        i++;
      } else messy.push(events[i]);
      if (i % 5 === 0) messy.push({ ...events[i] } as ScanEvent);
    }
    let last = 0;
    for (const e of messy) {
      bus.publish(e);
      const p = agg.getCurrentMetrics().percentage;
      expect(p).toBeGreaterThanOrEqual(last);
      expect(p).toBeLessThanOrEqual(100);
      last = p;
    }
    const m = agg.getCurrentMetrics();
    expect(m.completed).toBe(3000);
    expect(m.ignoredUpdates.stale).toBeGreaterThan(0);
    expect(m.ignoredUpdates.duplicate).toBeGreaterThan(0);
    // The max, reached before total grew; 1,400/2,000 arrived after the 1,500/5,000 update and was dropped as stale.
    expect(m.percentage).toBeCloseTo(100 * 1300 / 2000, 9);
    bus.publish(scanCompleted('a', T0 + 31_000, { outcome: 'completed', targetsScanned: 4, portsScanned: 400, openPorts: 0, hostsUp: 4, durationMs: 31_000 }));
    expect(agg.getCurrentMetrics()).toMatchObject({ percentage: 100, state: 'completed', eta: { ms: 0 } });
  });

  it('a replay at 10× speed gives the same metrics as the live run', () => {
    const sim = simulate([
      { stage: 'HostDiscovery', total: 256, rate: () => 8 },
      { stage: 'PortScanning', total: 100_000, rate: (t) => (t < 30 ? 1000 : 400) },
    ]);
    const live = drive(sim);
    // The same events, the clock running ten times faster than their timestamps.
    const bus = new EventBus({ historySize: 0 });
    let now = 0;
    const agg = new ProgressAggregator(bus, sim.scanId, { clock: () => now });
    const fast: ProgressMetrics[] = [];
    let p = 0;
    sim.events.forEach((e, i) => {
      now = T0 + (e.timestamp - T0) / 10;
      bus.publish(e);
      if (p < sim.points.length && sim.points[p].index === i) {
        fast.push(agg.getCurrentMetrics());
        p++;
      }
    });
    expect(fast).toEqual(live);
    expect(live[100].throughput.portsPerSec).toBeGreaterThan(0);
  });

  it('a pause: not stalled, rates kept, and a long pause does not count', () => {
    const bus = new EventBus();
    let now = T0;
    const agg = new ProgressAggregator(bus, 'a', { clock: () => now, stallAfterMs: 10_000 });
    bus.publish(started('a', T0, ['PortScanning']));
    for (let s = 0; s <= 10; s++) bus.publish(upd('a', T0 + s * 1000, 'PortScanning', s * 500, 100_000));
    bus.publish(scanPaused('a', T0 + 10_000, 'operator'));
    now = T0 + 7_200_000;
    const paused = agg.getCurrentMetrics();
    expect(paused).toMatchObject({ state: 'paused', stalled: false, throughput: { portsPerSec: 500 } });
    bus.publish(scanResumed('a', now));
    bus.publish(upd('a', now + 1000, 'PortScanning', 5500, 100_000));
    const after = agg.getCurrentMetrics();
    expect(after.throughput.portsPerSec).toBe(500);
    expect(after.elapsedMs).toBe(11_000);
    expect(after.stalled).toBe(false);
    // Right after the resume, before any progress: the two hours paused are not "no progress".
    bus.publish(scanPaused('a', now + 2000, 'operator'));
    now += 7_200_000;
    bus.publish(scanResumed('a', now));
    bus.publish(upd('a', now + 500, 'PortScanning', 5500, 100_000));
    expect(agg.getCurrentMetrics().stalled).toBe(false);
  });

  it('stalled: no progress for stallAfterMs, by event time or by the clock', () => {
    const bus = new EventBus();
    let now = T0;
    const agg = new ProgressAggregator(bus, 'a', { clock: () => now, stallAfterMs: 30_000 });
    bus.publish(started('a', T0, ['PortScanning']));
    bus.publish(upd('a', T0 + 1000, 'PortScanning', 100, 1000));
    now = T0 + 20_000;
    expect(agg.getCurrentMetrics().stalled).toBe(false);
    now = T0 + 31_001;
    expect(agg.getCurrentMetrics().stalled).toBe(true);
    // Progress again: found ports count too.
    bus.publish(portFound('a', now, '10.0.0.1', 80, 'tcp', 'open'));
    expect(agg.getCurrentMetrics().stalled).toBe(false);
    // Updates keep coming but nothing moves (a replay, with a clock that does not help).
    for (let s = 2; s <= 40; s++) bus.publish(upd('a', T0 + 40_000 + s * 1000, 'PortScanning', 100, 1000));
    expect(agg.getCurrentMetrics().stalled).toBe(true);
  });

  it('a scan resumed in a new process: percentage kept, never decreasing, rates without a burst', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a');
    bus.publish(started('a', T0, ['PortScanning']));
    for (let s = 0; s <= 10; s++) bus.publish(upd('a', T0 + s * 1000, 'PortScanning', s * 1000, 100_000));
    const before = agg.getCurrentMetrics();
    // The new process starts a day later and reports the cumulative counters.
    const r = T0 + 86_400_000;
    bus.publish(started('a', r, ['PortScanning']));
    expect(agg.getCurrentMetrics().percentage).toBe(before.percentage);
    bus.publish(upd('a', r + 1000, 'PortScanning', 12_000, 100_000));
    bus.publish(upd('a', r + 2000, 'PortScanning', 13_000, 100_000));
    const m = agg.getCurrentMetrics();
    expect(m.percentage).toBe(13);
    expect(m.throughput.portsPerSec).toBeLessThanOrEqual(1000);
    expect(m.elapsedMs).toBe(12_000);
    expect(m.state).toBe('running');
  });

  it('global: two scans, totals summed, the ETA of the slowest', () => {
    const bus = new EventBus();
    const g = ProgressAggregator.global(bus, { clock: () => T0 });
    bus.publish(started('fast', T0, ['PortScanning']));
    bus.publish(started('slow', T0, ['PortScanning']));
    for (let s = 0; s <= 10; s++) {
      bus.publish(upd('fast', T0 + s * 1000, 'PortScanning', s * 1000, 20_000));
      bus.publish(upd('slow', T0 + s * 1000, 'PortScanning', s * 100, 20_000));
    }
    bus.publish(portFound('slow', T0 + 10_000, '10.0.0.9', 22, 'tcp', 'open'));
    const m = g.getCurrentMetrics();
    expect(m.scanId).toBeNull();
    expect(m.scans!.map((s) => s.scanId)).toEqual(['fast', 'slow']);
    expect(m.completed).toBe(11_000);
    expect(m.total).toBe(40_000);
    expect(m.throughput.portsPerSec).toBe(1100);
    expect(m.found.openPorts).toBe(1);
    expect(m.eta.ms).toBe(190_000); // slow: 19,000 left at 100/s
    expect(m.percentage).toBeCloseTo((50 + 5) / 2, 9);
    expect(m.state).toBe('running');
    bus.publish(scanCancelled('slow', T0 + 11_000, 'operator'));
    expect(g.getCurrentMetrics().eta.ms).toBe(10_000);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('global keeps at most maxFinishedScans finished scans', () => {
    const bus = new EventBus({ historySize: 0 });
    const g = ProgressAggregator.global(bus, { maxFinishedScans: 3 });
    for (let i = 0; i < 50; i++) {
      bus.publish(started(`s${i}`));
      bus.publish(scanCancelled(`s${i}`, T0 + 1, 'x'));
    }
    bus.publish(started('live'));
    expect(g.getCurrentMetrics().scans!.map((s) => s.scanId)).toEqual(['s47', 's48', 's49', 'live']);
  });

  it('global drops scans seen only through stray events beyond the limit', () => {
    const bus = new EventBus({ historySize: 0 });
    const g = ProgressAggregator.global(bus, { maxFinishedScans: 2 });
    bus.publish(started('live'));
    for (let i = 0; i < 1000; i++) bus.publish(warningIssued(`old-${i}`, T0, 'late warning of a scan long gone'));
    expect(g.getCurrentMetrics().scans!.map((s) => s.scanId)).toEqual(['live', 'old-998', 'old-999']);
  });

  it('start() totals replace those of ScanStarted', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a');
    bus.publish(started('a'));
    agg.start(10, 1000);
    expect(agg.getCurrentMetrics().stages.map((s) => s.total)).toEqual([1, 10, 10_000, 0, 0]);
  });

  it('metrics are plain JSON', () => {
    const sim = simulate([{ stage: 'PortScanning', total: 10_000, rate: () => 1000 }]);
    for (const m of drive(sim)) expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('a malformed ScanStarted is reported, not thrown, and the scan is still followed', () => {
    const bus = new EventBus();
    const errors: unknown[] = [];
    const bus2 = new EventBus({ onError: (e) => errors.push(e) });
    for (const b of [bus, bus2]) {
      const agg = new ProgressAggregator(b, 'a');
      b.publish(scanStarted('a', T0, { scanType: 'syn', targetCount: -3, portCount: 1.5, targets: [], ports: '', options: { stages: ['PortScan'] } }));
      b.publish(upd('a', T0 + 1000, 'PortScanning', 10, 100));
      const m = agg.getCurrentMetrics();
      expect(m.inputErrors).toBe(2);
      expect(m.lastInputError).toMatch(/totals/);
      expect(m.stageCount).toBe(5);
      expect(m.percentage).toBeCloseTo(15 + 7.5, 9);
    }
    expect(errors).toEqual([]);
  });

  it('close() unsubscribes; metrics stay readable', () => {
    const bus = new EventBus();
    const agg = new ProgressAggregator(bus, 'a');
    expect(bus.subscriberCount()).toBe(1);
    bus.publish(started('a'));
    agg.close();
    agg.close();
    expect(bus.subscriberCount()).toBe(0);
    bus.publish(hostDiscovered('a', T0, '10.0.0.1', 'arp', 0.1));
    expect(agg.getCurrentMetrics().found.hostsUp).toBe(0);
    expect(agg.closed).toBe(true);
  });

  it('replay picks up a scan already under way', () => {
    const bus = new EventBus();
    bus.publish(started('a'));
    bus.publish(hostDiscovered('a', T0, '10.0.0.1', 'arp', 0.1));
    expect(new ProgressAggregator(bus, 'a', { replay: true }).getCurrentMetrics().found.hostsUp).toBe(1);
    expect(new ProgressAggregator(bus, 'a').getCurrentMetrics().found.hostsUp).toBe(0);
  });

  it('validates its arguments with typed errors', () => {
    const bus = new EventBus();
    expect(() => new ProgressAggregator({} as EventBus, 'a')).toThrow(/EventBus/);
    expect(() => new ProgressAggregator(bus, '')).toThrow(/non-empty/);
    expect(() => new ProgressAggregator(bus, 'a', { stallAfterMs: -1 })).toThrow(/stallAfterMs/);
    expect(() => new ProgressAggregator(bus, 'a', { clock: 5 as never })).toThrow(/clock/);
    expect(() => new ProgressAggregator(bus, 'a', { replay: -1 })).toThrow(ProgressOptionError);
    expect(() => ProgressAggregator.global(bus, { maxFinishedScans: 1.5 })).toThrow(/maxFinishedScans/);
  });
});
