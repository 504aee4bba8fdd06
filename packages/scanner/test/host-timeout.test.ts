// hostTimeoutMs on a fake probe engine: a host that never finishes is given up (the sender
// is told to skip it, one WarningIssued HOST_TIMEOUT, its host result timed out, its
// remaining positions final so lowWater and the scan end); the other hosts are unaffected.
import { describe, expect, it } from 'vitest';
import { foldScanEvents, scan, ScanOptionError, type ScanOptions } from '../src/index.js';
import { fakeBackend, type FakeNetwork } from './helpers/fake-probe.js';
import { ofType, recordingBus } from './helpers/loopback.js';

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
      scan({ targets: ['127.0.0.1'], ports: '80', type: 'connect', hostTimeoutMs: 1000 }, { bus });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScanOptionError);
      expect((err as ScanOptionError).option).toBe('hostTimeoutMs');
      expect((err as Error).message).toMatch(/syn and udp scans/);
    }
  });
});
