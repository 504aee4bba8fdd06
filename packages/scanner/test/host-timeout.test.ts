// hostTimeoutMs on a fake probe engine: a host that never finishes is given up (the sender
// is told to skip it, one WarningIssued HOST_TIMEOUT, its host result timed out, its
// remaining positions final so lowWater and the scan end); the other hosts are unaffected.
// Then the same on the native connect engine, against loopback (no root).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldScanEvents, scan, ScanOptionError, type ScanOptions } from '../src/index.js';
import { fakeBackend, type FakeNetwork } from './helpers/fake-probe.js';
import { closedPorts, droppingPort, ofType, recordingBus, type DroppingPort } from './helpers/loopback.js';

const STUCK = '10.0.0.3';
/** Every host answers RST; the stuck host answers ports 20-29 and nothing ever settles ports 30-40. */
const NET: FakeNetwork = {
  answer: () => [{ kind: 'rst' }],
  stalls: (p) => p.address === STUCK && p.port >= 30,
  perTurn: 8,
  turnMs: 5,
};

function options(o: Partial<ScanOptions> = {}): ScanOptions {
  return {
    targets: ['10.0.0.1-10.0.0.4'], ports: '20-40', type: 'syn', skipDiscovery: true, report: { closed: true, filtered: true },
    seed: 7n, maxRetries: 1, ...o,
  };
}

describe('hostTimeoutMs (probe engine scans)', () => {
  it('gives up a host that never finishes; the others are unaffected; events and results agree', async () => {
    const backend = fakeBackend(NET);
    const { bus, events } = recordingBus();
    const results = await scan(options({ probeBackend: backend, hostTimeoutMs: 50 }), { bus }).results;
    expect(results.outcome).toBe('completed');

    const warnings = ofType(events, 'WarningIssued').filter((e) => e.code === 'HOST_TIMEOUT');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].target).toBe(STUCK);
    const left = Number(/; (\d+) of its 21 TCP ports were left unscanned/.exec(warnings[0].message)?.[1]);
    // Ports 30-40 never settled; ports 20-29 not probed yet at the timeout are left too.
    expect(left).toBeGreaterThanOrEqual(11);

    const found = ofType(events, 'PortFound');
    const stuck = found.filter((e) => e.target === STUCK);
    expect(stuck.length).toBe(21 - left);
    for (const e of stuck) expect(e.port).toBeLessThan(30);
    // No result for the host after it was given up.
    const warnAt = events.indexOf(warnings[0]);
    expect(events.slice(warnAt).some((e) => e.type === 'PortFound' && e.target === STUCK)).toBe(false);
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.4']) {
      const ports = found.filter((e) => e.target === a).map((e) => e.port);
      expect(new Set(ports).size, a).toBe(21);
    }

    // The results: the host is marked timed out and keeps what it reported; others are complete.
    const hosts = new Map(results.hosts.map((h) => [h.address, h]));
    expect(hosts.get(STUCK)?.timedOut).toBe(true);
    expect(hosts.get(STUCK)?.counts.closed).toBe(21 - left);
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.4']) {
      expect(hosts.get(a)?.timedOut, a).toBe(false);
      expect(hosts.get(a)?.counts.closed, a).toBe(21);
    }
    expect(foldScanEvents(events)).toEqual(results);

    // The sender was told once, and nothing was sent to the host after that.
    const engine = backend.engines[0];
    expect(backend.engines).toHaveLength(1);
    expect(engine.skipCalls).toEqual([[STUCK]]);
    expect(engine.sentTo.get(STUCK)).toBe(engine.sentAtSkip.get(STUCK));
    expect(engine.skipped).toBeGreaterThanOrEqual(11);

    // Every position final: the last checkpoint covers the whole job.
    const cps = ofType(events, 'ScanCheckpoint');
    expect(cps.at(-1)).toMatchObject({ lowWater: 84, highWater: 84 });
    expect(events.at(-1)?.type).toBe('ScanCompleted');
  });

  it('changes nothing for hosts that finish in time', async () => {
    const net: FakeNetwork = { answer: () => [{ kind: 'rst' }] };
    const a = fakeBackend(net), b = fakeBackend(net);
    const r1 = recordingBus(), r2 = recordingBus();
    const with_ = await scan(options({ probeBackend: a, hostTimeoutMs: 600_000 }), { bus: r1.bus }).results;
    const without = await scan(options({ probeBackend: b }), { bus: r2.bus }).results;
    expect(ofType(r1.events, 'WarningIssued')).toHaveLength(0);
    expect(a.engines[0].skipCalls).toEqual([]);
    expect(with_.hosts).toEqual(without.hosts);
    expect(with_.hosts.every((h) => !h.timedOut)).toBe(true);
  });

  it('refuses a bad value or a scan type that cannot give a host up, naming the option', () => {
    const bus = recordingBus().bus;
    for (const v of [0, -5, 1.5, '100', 8 * 86_400_000]) {
      expect(() => scan(options({ probeBackend: fakeBackend(NET), hostTimeoutMs: v as number }), { bus }), String(v)).toThrow(ScanOptionError);
    }
    try {
      scan({ targets: ['127.0.0.1'], type: 'ping', hostTimeoutMs: 1000 }, { bus });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScanOptionError);
      expect((err as ScanOptionError).option).toBe('hostTimeoutMs');
      expect((err as Error).message).toMatch(/syn, udp and connect scans, not to a ping scan/);
    }
  });
});

describe('hostTimeoutMs (connect scan, native connect engine on loopback)', () => {
  let dropping: DroppingPort;
  let closed: number[];
  beforeAll(async () => {
    closed = await closedPorts(3);
    dropping = await droppingPort();
  });
  afterAll(() => dropping.close());

  it('gives up a host with a silent port: its resends are never sent, the other host gets every result', async () => {
    // 127.0.0.1: three refused ports and one whose SYNs are dropped (it could only end by
    // NoAnswer after 3 tries × 3 s); 127.0.0.2: the same four ports, all refused (the
    // dropping listener is bound to 127.0.0.1 only).
    const ports = [...closed, dropping.port].sort((a, b) => a - b);
    const { bus, events } = recordingBus();
    const results = await scan(
      {
        targets: ['127.0.0.1-127.0.0.2'], ports: ports.join(','), type: 'connect', report: { closed: true, filtered: true }, seed: 3n,
        initialTimeoutMs: 3000, minTimeoutMs: 3000, maxTimeoutMs: 3000, maxRetries: 2, hostTimeoutMs: 300,
      },
      { bus },
    ).results;
    expect(results.outcome).toBe('completed');

    const warnings = ofType(events, 'WarningIssued').filter((e) => e.code === 'HOST_TIMEOUT');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].target).toBe('127.0.0.1');
    const left = Number(/; (\d+) of its 4 TCP ports were left unscanned/.exec(warnings[0].message)?.[1]);
    expect(left).toBeGreaterThanOrEqual(1);

    const found = ofType(events, 'PortFound');
    const stuck = found.filter((e) => e.target === '127.0.0.1');
    expect(stuck.length).toBe(4 - left);
    expect(stuck.some((e) => e.port === dropping.port)).toBe(false);
    const warnAt = events.indexOf(warnings[0]);
    expect(events.slice(warnAt).some((e) => e.type === 'PortFound' && e.target === '127.0.0.1')).toBe(false);
    expect(found.filter((e) => e.target === '127.0.0.2').map((e) => e.port).sort((a, b) => a - b)).toEqual(ports);

    const hosts = new Map(results.hosts.map((h) => [h.address, h]));
    expect(hosts.get('127.0.0.1')?.timedOut).toBe(true);
    expect(hosts.get('127.0.0.2')?.timedOut).toBe(false);
    expect(hosts.get('127.0.0.2')?.counts.closed).toBe(4);
    expect(foldScanEvents(events)).toEqual(results);

    // Nothing more was sent to the given-up host: each probe went out once, no resend
    // (the first would be due 3 s after the silent port's SYN, long after the timeout).
    expect(ofType(events, 'RetryScheduled')).toHaveLength(0);
    expect(ofType(events, 'ProgressUpdate').at(-1)?.counters).toMatchObject({ packetsSent: 8 - left + 1, retriesSent: 0 });

    // Every position final: the last checkpoint covers the whole job.
    expect(ofType(events, 'ScanCheckpoint').at(-1)).toMatchObject({ lowWater: 8, highWater: 8 });
    expect(events.at(-1)?.type).toBe('ScanCompleted');
  });
});
