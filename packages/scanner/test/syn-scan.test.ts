// The SYN scan over a fake probe engine: records written in the native record
// format by a fake network, drained, classified and published as the real
// engine's would be. No root, no packets.
import { describe, expect, it } from 'vitest';
import { EventBus, type ScanCheckpoint, type ScanEvent } from '@portflow/core';
import { foldScanEvents, scan, ScanPrivilegeError, type ScanOptions } from '../src/index.js';
import { fakeBackend, type FakeAnswer, type FakeNetwork, type FakeProbe } from './helpers/fake-probe.js';
import { ofType, recordingBus } from './helpers/loopback.js';

const TARGETS = ['10.0.0.1-10.0.0.4', '2001:db8::1'];
const PORTS = '20-40';

/** Per port: the answer of every host (host 10.0.0.1 also repeats its SYN-ACKs). */
function answer(p: FakeProbe): FakeAnswer[] {
  switch (p.port) {
    case 22:
      return p.address === '10.0.0.1' ? [{ kind: 'syn-ack' }, { kind: 'syn-ack' }] : [{ kind: 'syn-ack' }];
    case 24:
      return [{ kind: 'icmp', type: p.family === 6 ? 1 : 3, code: p.family === 6 ? 1 : 13, reporter: 'router' }];
    case 25:
      return [{ kind: 'icmp', type: p.family === 6 ? 1 : 3, code: p.family === 6 ? 3 : 1, reporter: 'router' }];
    case 26:
      return p.family === 6 ? [{ kind: 'none' }] : [{ kind: 'icmp', type: 3, code: 10 }];
    case 27:
      return [{ kind: 'none' }];
    case 28:
      return [{ kind: 'syn-ack' }];
    case 29:
      return [{ kind: 'icmp', type: p.family === 6 ? 1 : 3, code: p.family === 6 ? 4 : 3 }];
    default:
      return [{ kind: 'rst' }];
  }
}
const NET: FakeNetwork = { answer, tries: (p) => (p.port === 28 ? 2 : 1), ttl: 61 };

function expected(address: string, port: number): [string, string] {
  const v6 = address.includes(':');
  switch (port) {
    case 22:
    case 28:
      return ['open', 'syn-ack'];
    case 24:
      return ['filtered', 'admin-prohibited'];
    case 25:
      return ['filtered', 'host-unreach'];
    case 26:
      return v6 ? ['filtered', 'no-response'] : ['filtered', 'host-prohibited'];
    case 27:
      return ['filtered', 'no-response'];
    case 29:
      return ['filtered', 'port-unreach'];
    default:
      return ['closed', 'reset'];
  }
}

function base(backend = fakeBackend(NET)): ScanOptions {
  return { targets: TARGETS, ports: PORTS, type: 'syn', skipDiscovery: true, report: { closed: true, filtered: true }, probeBackend: backend, seed: 5n, maxRetries: 2 };
}

async function run(o: ScanOptions): Promise<{ events: ScanEvent[]; results: Awaited<ReturnType<typeof scan>['results']> }> {
  const { bus, events } = recordingBus();
  const results = await scan(o, { bus }).results;
  return { events, results };
}

describe('SYN scan on a fake probe engine', () => {
  it('classifies every record kind with nmap reasons, TTL, IPv6PortFound for IPv6; drops duplicates', async () => {
    const backend = fakeBackend(NET);
    const { events, results } = await run(base(backend));
    expect(results.outcome).toBe('completed');
    const found = [...ofType(events, 'PortFound'), ...ofType(events, 'IPv6PortFound')];
    expect(found).toHaveLength(5 * 21);
    const keys = new Set(found.map((e) => `${e.target}:${e.port}`));
    expect(keys.size).toBe(5 * 21);
    for (const e of found) {
      expect([e.state, e.reason], `${e.target}:${e.port}`).toEqual(expected(e.target, e.port));
      expect(e.protocol).toBe('tcp');
      expect(e.type).toBe(e.target.includes(':') ? 'IPv6PortFound' : 'PortFound');
      if (e.reason !== 'no-response') expect(e.ttl).toBe(61);
      else expect(e.ttl).toBeUndefined();
    }
    const m = Object.fromEntries(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect(m['probe.duplicates']).toBe(1);
    // Which try each answer answered, from its local port: port 28 answers the resend on
    // every host (5), the other 15 answered ports per host the first try.
    expect(m['probe.resent_answers']).toBe(5);
    expect(m['probe.first_try_answers']).toBe(75);
    // Ring → subscriber latency of the results that came from replies (the fake engine stamps
    // each reply record with the time it writes it).
    expect(m['results.latency.p50']).toBeGreaterThanOrEqual(0);
    expect(m['results.latency.p99']).toBeGreaterThanOrEqual(m['results.latency.p50']);
    expect(m['results.latency.max']).toBeGreaterThanOrEqual(m['results.latency.p99']);
    expect(results.openPorts).toBe(10);
    expect(foldScanEvents(events)).toEqual(results);
    // The engine got what the scan asked for.
    const opts = backend.engines[0].options;
    expect(opts.mode).toBe('tcp-syn');
    expect(opts.maxRetries).toBe(2);
    expect(opts.job.position).toBe(0);
  });

  it('publishes the lifecycle in order and checkpoints every position', async () => {
    const { events } = await run(base());
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('ScanStarted');
    expect(types.at(-1)).toBe('ScanCompleted');
    const started = events[0];
    expect(started.type === 'ScanStarted' && started.scanType).toBe('syn');
    expect(started.type === 'ScanStarted' && started.options.stages).toEqual(['TargetResolution', 'PortScanning', 'Finalization']);
    expect(ofType(events, 'StageChanged').map((e) => e.newStage)).toEqual(['TargetResolution', 'PortScanning', 'Finalization']);
    const scanning = types.indexOf('StageChanged', 1);
    const lastPort = Math.max(types.lastIndexOf('PortFound'), types.lastIndexOf('IPv6PortFound'));
    expect(lastPort).toBeGreaterThan(scanning);
    const cps = ofType(events, 'ScanCheckpoint');
    expect(cps.at(-1)).toMatchObject({ lowWater: 105, highWater: 105, completed: 105 });
    const progress = ofType(events, 'ProgressUpdate').filter((e) => e.stage === 'PortScanning');
    expect(progress.at(-1)).toMatchObject({ completed: 105, total: 105 });
    for (let i = 1; i < progress.length; i++) expect(progress[i].completed).toBeGreaterThanOrEqual(progress[i - 1].completed);
    const completed = events.at(-1)!;
    expect(completed.type === 'ScanCompleted' && completed.outcome).toBe('completed');
    // Retries: counted in metrics, sampled into RetryScheduled naming a resent probe.
    const m = Object.fromEntries(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect(m['probes.retried']).toBeGreaterThan(0);
  });

  it('refuses to start without raw privileges, naming root, setcap and the connect scan', () => {
    const backend = fakeBackend(NET);
    backend.privileged = false;
    let err: unknown;
    try {
      scan(base(backend), { bus: new EventBus() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScanPrivilegeError);
    expect((err as ScanPrivilegeError).code).toBe('ERR_SCAN_PRIVILEGE');
    expect((err as Error).message).toMatch(/root.*setcap cap_net_raw\+ep.*"connect"/);
  });

  it('pause stops the sender at once; resume goes on; cancel ends with partial results', async () => {
    const backend = fakeBackend({ ...NET, perTurn: 4 });
    const { bus, events } = recordingBus();
    const h = scan({ ...base(backend), ports: '1-400' }, { bus });
    await new Promise<void>((r) => bus.on('PortFound', () => r()));
    h.pause();
    expect(backend.engines[0].state).toBe('paused');
    const before = backend.engines[0].counters().probes;
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.engines[0].counters().probes).toBe(before);
    h.resume();
    expect(backend.engines[0].state).toBe('running');
    await new Promise((r) => setTimeout(r, 20));
    h.cancel('enough');
    const r = await h.results;
    expect(r.outcome).toBe('cancelled');
    expect(events.map((e) => e.type).slice(-2)).toEqual(['ScanCancelled', 'ScanCompleted']);
    expect(ofType(events, 'ScanPaused')).toHaveLength(1);
    expect(ofType(events, 'ScanResumed')).toHaveLength(1);
    expect(r.portsScanned).toBeLessThan(2000);
    expect(foldScanEvents(events)).toEqual(r);
  });

  it('resumes from a checkpoint: every port exactly once, the same results as an uninterrupted scan', async () => {
    const N = 400;
    const o = () => ({ ...base(fakeBackend({ ...NET, perTurn: 8, turnMs: 2 })), ports: `1-${N}`, checkpointIntervalMs: 100 });
    const reference = (await run(o())).results;

    const { bus, events } = recordingBus();
    const h = scan(o(), { bus });
    let cp: ScanCheckpoint | undefined;
    let cut = -1;
    bus.on('ScanCheckpoint', (e) => {
      if (cp === undefined && e.lowWater > 0 && e.lowWater < 5 * N - 200) cp = e;
    });
    bus.on('PortFound', () => {
      if (cp !== undefined && cut < 0 && ofType(events.slice(events.indexOf(cp)), 'PortFound').length >= 30) {
        cut = events.length;
        h.cancel('simulated SIGKILL');
      }
    });
    await h.results;
    expect(cp).toBeDefined();
    const log = events.slice(0, cut);

    const backend = fakeBackend({ ...NET, perTurn: 8, turnMs: 2 });
    const second = recordingBus();
    const r = await scan({ ...o(), probeBackend: backend, seed: undefined, resumeFrom: cp, resumeEvents: log }, { bus: second.bus }).results;
    expect(r.outcome).toBe('completed');
    expect(backend.engines[0].options.job.position).toBe(cp!.lowWater);
    const combined = [...log, ...second.events];
    const ports = [...ofType(combined, 'PortFound'), ...ofType(combined, 'IPv6PortFound')].map((e) => `${e.target}:${e.port}`);
    expect(ports).toHaveLength(5 * N);
    expect(new Set(ports).size).toBe(5 * N);
    expect(r.hosts).toEqual(reference.hosts);
    expect(foldScanEvents(combined)).toEqual(r);
  });

  it('backs the rate off on kernel drops (RateLimitTriggered) and never exceeds maxRate', async () => {
    const backend = fakeBackend({ ...NET, perTurn: 4, turnMs: 2, dropsAfter: { probes: 100, drops: 7 } });
    const { events } = await run({ ...base(backend), ports: '1-600', maxRate: 8000, minRate: 1000 });
    const e = backend.engines[0];
    expect(e.options.rate).toBeLessThanOrEqual(8000);
    for (const r of e.rates) expect(r).toBeLessThanOrEqual(8000);
    const limits = ofType(events, 'RateLimitTriggered');
    expect(limits.length).toBeGreaterThanOrEqual(1);
    expect(limits[0].currentRate).toBeLessThan(limits[0].limit);
    // The cause, right after it.
    const i = events.indexOf(limits[0]);
    expect(events[i + 1]).toMatchObject({ type: 'MetricRecorded', metric: 'rate.backoff.drops', value: 7, unit: 'packets' });
  });

  it("publishes the engine's send, route and capture errors as metrics", async () => {
    const backend = fakeBackend({ ...NET, errors: { sendErrors: 3, noRoute: 2, captureErrors: 1 } });
    const { events } = await run(base(backend));
    const m = Object.fromEntries(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect([m['probe.send_errors'], m['probe.no_route'], m['probe.capture_errors']]).toEqual([3, 2, 1]);
    const clean = await run(base());
    const c = Object.fromEntries(ofType(clean.events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect([c['probe.send_errors'], c['probe.no_route'], c['probe.capture_errors']]).toEqual([0, 0, 0]);
  });

  function closedFound(events: ScanEvent[]): number {
    return [...ofType(events, 'PortFound'), ...ofType(events, 'IPv6PortFound')].filter((e) => e.state === 'closed').length;
  }

  /** Every port closed; `resent(p)`: the probe's answer needed a resend (a lost first try). */
  function lossyNet(resent: (p: FakeProbe) => boolean, silent: (p: FakeProbe) => boolean = () => false): FakeNetwork {
    return { answer: (p) => (silent(p) ? [{ kind: 'none' }] : [{ kind: 'rst' }]), tries: (p) => (resent(p) ? 2 : 1), perTurn: 4, turnMs: 2 };
  }

  it('backs off on loss among the answering hosts, per host (RateLimitTriggered, then MetricRecorded rate.backoff.loss)', async () => {
    // One host of five needs a resend for half its ports: 10% of all answers, but 50% of that host's.
    const backend = fakeBackend(lossyNet((p) => p.address === '10.0.0.3' && p.port % 2 === 0));
    const { events, results } = await run({ ...base(backend), ports: '1-600', maxRate: 8000, minRate: 1000 });
    expect(results.outcome).toBe('completed');
    expect(closedFound(events)).toBe(5 * 600);
    const limits = ofType(events, 'RateLimitTriggered');
    expect(limits.length).toBeGreaterThanOrEqual(1);
    expect(limits[0].currentRate).toBeLessThan(limits[0].limit);
    const i = events.indexOf(limits[0]);
    const cause = events[i + 1];
    expect(cause).toMatchObject({ type: 'MetricRecorded', metric: 'rate.backoff.loss', unit: 'ratio' });
    expect(cause.type === 'MetricRecorded' && cause.value).toBeGreaterThan(0.1);
    expect(ofType(events, 'MetricRecorded').some((e) => e.metric === 'rate.backoff.drops')).toBe(false);
    const e = backend.engines[0];
    for (const r of e.rates) expect(r).toBeLessThanOrEqual(8000);
    // A back-off is a step down from the rate before it.
    const down = e.rates.findIndex((r, k) => k > 0 && r < e.rates[k - 1]);
    expect(down).toBeGreaterThan(0);
  });

  it('never backs off for silent addresses or for loss below the threshold', async () => {
    // Four of five hosts silent (every probe of theirs ends with all retries unanswered),
    // and the answering host needs a resend for 1 port in 50 (2%: 1% loss each way).
    const backend = fakeBackend(lossyNet((p) => p.port % 50 === 0, (p) => p.address !== '10.0.0.1'));
    const { events, results } = await run({ ...base(backend), ports: '1-600', maxRate: 8000, minRate: 1000 });
    expect(results.outcome).toBe('completed');
    expect(closedFound(events)).toBe(600);
    expect(ofType(events, 'RateLimitTriggered')).toHaveLength(0);
    const m = Object.fromEntries(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect(m['probe.no_answer_retries']).toBeGreaterThan(0);
    expect(m['probe.resent_answers']).toBe(12);
    expect(m['probe.first_try_answers']).toBe(588);
    expect(m['probe.backoffs']).toBe(0);
  });
});
