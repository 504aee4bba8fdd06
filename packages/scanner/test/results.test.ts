import { describe, expect, it } from 'vitest';
import { portFound, scanCompleted, scanStarted, serviceDetected, type ScanEvent } from '@portflow/core';
import { checkCheckpoint, configHash, foldScanEvents, reasonCode, ResultsBuilder, RttEstimator, ScanResumeError, seedFromHex, seedToHex, STATE_CODE } from '../src/index.js';

const ID = '00000000-0000-4000-8000-000000000001';

describe('ResultsBuilder', () => {
  it('shows per host the most common non-open state as its default and lists the rest', () => {
    const b = new ResultsBuilder();
    const refused = reasonCode('conn-refused');
    for (let p = 1; p <= 1000; p++) b.record('10.0.0.2', p, false, STATE_CODE.closed, refused, undefined);
    b.record('10.0.0.2', 2000, false, STATE_CODE.open, reasonCode('syn-ack'), 64);
    b.record('10.0.0.2', 1500, false, STATE_CODE.filtered, reasonCode('no-response'), undefined);
    b.record('10.0.0.1', 80, false, STATE_CODE.filtered, reasonCode('no-response'), undefined);
    b.record('2001:db8::1', 22, false, STATE_CODE.open, reasonCode('syn-ack'), undefined);
    const r = b.build({ scanId: ID, scanType: 'connect', outcome: 'completed', error: undefined, targets: [], ports: '', startedAt: 0, durationMs: 0, targetsScanned: 3, portsScanned: 1004 });
    expect(r.hosts.map((h) => h.address)).toEqual(['10.0.0.1', '10.0.0.2', '2001:db8::1']);
    const h = r.hosts[1];
    expect(h.defaultState).toEqual({ state: 'closed', reason: 'conn-refused', count: 1000 });
    expect(h.ports).toEqual([
      { port: 1500, protocol: 'tcp', state: 'filtered', reason: 'no-response', ttl: undefined, detection: undefined },
      { port: 2000, protocol: 'tcp', state: 'open', reason: 'syn-ack', ttl: 64, detection: undefined },
    ]);
    expect(r.hosts[0]).toMatchObject({ status: 'unknown', defaultState: { state: 'filtered', count: 1 }, ports: [] });
    expect(r.hosts[2]).toMatchObject({ status: 'up', defaultState: undefined, ports: [{ port: 22, state: 'open' }] });
    expect(r).toMatchObject({ openPorts: 2, hostsUp: 2 });
  });

  it('folds events, detection results included, and says when the stream ends early', () => {
    const ev: ScanEvent[] = [
      scanStarted(ID, 1, { scanType: 'connect', targetCount: 1, portCount: 2, targets: ['10.0.0.1'], ports: '22,80' }),
      portFound(ID, 2, '10.0.0.1', 22, 'tcp', 'open', 'syn-ack'),
      serviceDetected(ID, 3, { target: '10.0.0.1', port: 22, protocol: 'tcp', serviceName: 'ssh', product: 'OpenSSH', confidence: 90, method: 'banner' }),
    ];
    const partial = foldScanEvents(ev);
    expect(partial.outcome).toBe('failed');
    expect(partial.error).toMatch(/before ScanCompleted/);
    expect(partial.hosts[0].ports[0].detection).toEqual({ serviceName: 'ssh', product: 'OpenSSH', version: undefined, banner: undefined });
    ev.push(scanCompleted(ID, 4, { outcome: 'completed', targetsScanned: 1, portsScanned: 2, openPorts: 1, hostsUp: 1, durationMs: 3 }));
    expect(foldScanEvents(ev)).toMatchObject({ outcome: 'completed', durationMs: 3, portsScanned: 2, openPorts: 1, targets: ['10.0.0.1'], ports: '22,80' });
  });
});

describe('RttEstimator', () => {
  it('starts at the initial timeout and follows srtt + 4 rttvar within its bounds', () => {
    const r = new RttEstimator(1000, 100, 10_000);
    expect(r.timeoutMs).toBe(1000);
    r.observe(200);
    expect(r.srttMs).toBe(200);
    expect(r.timeoutMs).toBe(200 + 4 * 100);
    for (let i = 0; i < 50; i++) r.observe(1);
    expect(r.timeoutMs).toBe(100);
    for (let i = 0; i < 50; i++) r.observe(50_000);
    expect(r.timeoutMs).toBe(10_000);
    r.observe(Number.NaN);
    expect(r.samples).toBe(101);
  });
});

describe('checkpoints', () => {
  const cp = { type: 'ScanCheckpoint', seq: 9, scanId: ID, timestamp: 1, seed: '00000000000000ff', shard: undefined, stage: 'PortScanning', lowWater: 5, highWater: 9, configHash: 'ab', completed: 6 };

  it('accepts a ScanCheckpoint and names the broken field otherwise', () => {
    expect(checkCheckpoint(cp)).toBe(cp);
    for (const [patch, re] of [
      [{ seed: 'xyz' }, /seed/],
      [{ lowWater: 10 }, /lowWater \(10\) is above highWater/],
      [{ highWater: -1 }, /highWater/],
      [{ scanId: 'nope' }, /scanId/],
      [{ stage: 'Nap' }, /stage/],
    ] as const) {
      expect(() => checkCheckpoint({ ...cp, ...patch })).toThrow(ScanResumeError);
      expect(() => checkCheckpoint({ ...cp, ...patch })).toThrow(re);
    }
  });

  it('hashes the configuration that decides the positions, and round-trips the seed', () => {
    const c = { type: 'connect', targets: ['127.0.0.1'], ports: 'T:1-10', seed: 255n, order: 'random', shard: { index: 0, count: 1 } };
    expect(configHash(c)).toBe(configHash({ ...c }));
    expect(configHash(c)).not.toBe(configHash({ ...c, ports: 'T:1-11' }));
    expect(configHash(c)).not.toBe(configHash({ ...c, seed: 256n }));
    expect(configHash(c)).not.toBe(configHash({ ...c, shard: { index: 0, count: 2 } }));
    expect(seedToHex(255n)).toBe('00000000000000ff');
    expect(seedFromHex(seedToHex(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
  });
});
