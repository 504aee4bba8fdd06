// The UDP scan (payloads, states, ICMP rate-limit handling) and host
// discovery (ping scans, discovery before a port scan) over the fake probe engine.
import { describe, expect, it } from 'vitest';
import type { LinkPlan } from '@portflow/native';
import type { ScanCheckpoint } from '@portflow/core';
import { foldScanEvents, scan } from '../src/index.js';
import { fakeBackend, type FakeAnswer, type FakeProbe } from './helpers/fake-probe.js';
import { ofType, recordingBus } from './helpers/loopback.js';

describe('UDP scan on a fake probe engine', () => {
  function network() {
    let limited = 0;
    return {
      answer(p: FakeProbe): FakeAnswer[] {
        if (p.port === 53) return [{ kind: 'udp' }];
        if (p.port === 60) return [{ kind: 'icmp', type: p.family === 6 ? 1 : 3, code: p.family === 6 ? 1 : 13, reporter: 'router' }];
        if (p.port === 70 && p.address === '10.0.0.1') return [{ kind: 'none' }];
        // 10.0.0.2 answers its first 6 closed ports only: a Linux-default ICMP limiter.
        if (p.address === '10.0.0.2' && ++limited > 6) return [{ kind: 'none' }];
        return [{ kind: 'icmp', type: p.family === 6 ? 1 : 3, code: p.family === 6 ? 4 : 3 }];
      },
      ttl: 63,
    };
  }

  it('reply open, port unreachable closed, other unreachables filtered, silence open|filtered; a rate-limited host says so', async () => {
    const backend = fakeBackend(network());
    const { bus, events } = recordingBus();
    const r = await scan(
      { targets: ['10.0.0.1', '10.0.0.2', '2001:db8::1'], ports: '50-80', type: 'udp', skipDiscovery: true, report: { closed: true, filtered: true }, probeBackend: backend },
      { bus },
    ).results;
    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe('completed');
    const opts = backend.engines[0].options;
    expect(opts.mode).toBe('udp');
    expect(opts.udpPayloads?.get(53)?.length).toBe(17);
    const found = [...ofType(events, 'PortFound'), ...ofType(events, 'IPv6PortFound')];
    expect(found).toHaveLength(3 * 31);
    const state = (a: string, p: number) => found.find((e) => e.target === a && e.port === p)!;
    for (const a of ['10.0.0.1', '2001:db8::1']) {
      expect(state(a, 53)).toMatchObject({ protocol: 'udp', state: 'open', reason: 'udp-response', ttl: 63 });
      expect(state(a, 60)).toMatchObject({ state: 'filtered', reason: 'admin-prohibited' });
      expect(state(a, 51)).toMatchObject({ state: 'closed', reason: 'port-unreach' });
    }
    expect(state('10.0.0.1', 70)).toMatchObject({ state: 'open-filtered', reason: 'no-response', ttl: undefined });
    // 10.0.0.2: 6 closed ports seen, the others unknowable; never silently open|filtered.
    const two = found.filter((e) => e.target === '10.0.0.2');
    expect(two.filter((e) => e.state === 'closed')).toHaveLength(6);
    const unknown = two.filter((e) => e.state === 'open-filtered');
    expect(unknown.length).toBe(31 - 6 - 2);
    for (const e of unknown) expect(e.reason).toBe('icmp-ratelimit');
    const warn = ofType(events, 'WarningIssued').filter((w) => w.code === 'ICMP_RATE_LIMITED');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ target: '10.0.0.2' });
    expect(warn[0].message).toMatch(/23 UDP ports without an answer may be closed/);
    // The warning comes before the ports it explains.
    expect(events.indexOf(warn[0])).toBeLessThan(events.indexOf(unknown[0]));
    expect(foldScanEvents(events)).toEqual(r);
    expect(r.hosts.find((h) => h.address === '10.0.0.2')!.defaultState).toEqual({ state: 'open-filtered', reason: 'icmp-ratelimit', count: 23 });
  });

  it('reads unprefixed ports as UDP and refuses TCP ones', () => {
    const backend = fakeBackend(network());
    expect(() => scan({ targets: '10.0.0.1', ports: 'T:80', type: 'udp', probeBackend: backend }, { bus: recordingBus().bus })).toThrow(/UDP only/);
  });
});

describe('host discovery on a fake probe engine', () => {
  const plan: LinkPlan = {
    interface: 'fake0', ifindex: 2, layer: 'ethernet', srcMac: '02:00:00:00:00:02', srcV4: '10.0.1.2', srcV6: '2001:db8:1::2',
    routes: [
      { prefix: '10.0.1.0/24', mac: null },
      { prefix: '0.0.0.0/0', mac: '02:00:00:00:00:01' },
      { prefix: '::/0', mac: '02:00:00:00:00:01' },
    ],
    neighbors: [], mtu: 1500,
  };
  const network = {
    answer(p: FakeProbe): FakeAnswer[] {
      const method = ['icmp-echo', 'icmp-timestamp', 'tcp-syn', 'tcp-ack'][p.port - 1];
      const up: Record<string, string> = { '10.0.0.1': 'icmp-echo', '10.0.0.2': 'tcp-ack', '10.0.0.3': 'icmp-timestamp', '2001:db8::1': 'icmp-echo', '10.0.0.5': 'tcp-syn' };
      if (up[p.address] !== method) return [{ kind: 'none' }];
      if (method === 'icmp-echo') return [{ kind: 'echo-reply' }];
      if (method === 'icmp-timestamp') return [{ kind: 'timestamp-reply' }];
      return [{ kind: method === 'tcp-syn' ? 'syn-ack' : 'rst' }];
    },
    ttl: 62,
  };
  const targets = ['10.0.1.4-10.0.1.6', '10.0.0.1-10.0.0.5', '2001:db8::1-2001:db8::2'];
  const live = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5', '10.0.1.5', '2001:db8::1'];

  it("ping scan: ARP for on-link targets, the engine's methods elsewhere; HostDiscovered with method, latency and TTL", async () => {
    const backend = fakeBackend(network, { plan, neighbors: { '10.0.1.5': '02:00:00:00:01:05' } });
    const { bus, events } = recordingBus();
    const r = await scan({ targets, type: 'ping', probeBackend: backend }, { bus }).results;
    expect(r.outcome).toBe('completed');
    const found = ofType(events, 'HostDiscovered');
    expect(found.map((e) => e.ip).sort()).toEqual([...live].sort());
    const by = Object.fromEntries(found.map((e) => [e.ip, e]));
    expect(by['10.0.1.5']).toMatchObject({ method: 'arp', latencyMs: 0.5, ttl: undefined });
    expect(by['10.0.0.1']).toMatchObject({ method: 'icmp-echo', ttl: 62 });
    expect(by['10.0.0.2'].method).toBe('tcp-ack');
    expect(by['10.0.0.3'].method).toBe('icmp-timestamp');
    expect(by['10.0.0.5'].method).toBe('tcp-syn');
    expect(by['10.0.0.1'].latencyMs).toBeGreaterThan(0);
    // On-link targets were not probed by the engine; the others were, with the default methods.
    const opts = backend.engines[0].options;
    expect(opts.mode).toBe('discovery');
    expect(opts.discovery).toEqual([{ method: 'icmp-echo', port: undefined }, { method: 'icmp-timestamp', port: undefined }, { method: 'tcp-syn', port: 443 }, { method: 'tcp-ack', port: 80 }]);
    expect(ofType(events, 'StageChanged').map((e) => e.newStage)).toEqual(['TargetResolution', 'HostDiscovery', 'Finalization']);
    expect(ofType(events, 'PortFound')).toHaveLength(0);
    const progress = ofType(events, 'ProgressUpdate').filter((e) => e.stage === 'HostDiscovery');
    expect(progress.at(-1)).toMatchObject({ completed: 10, total: 10 });
    expect(r.hostsUp).toBe(live.length);
    expect(r.hosts.map((h) => h.address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.5', '10.0.1.5', '2001:db8::1']);
    expect(foldScanEvents(events)).toEqual(r);
  });

  it('a SYN scan port-scans only the hosts discovery found up', async () => {
    const backend = fakeBackend({ answer: (p) => (p.mode === 'discovery' ? network.answer(p) : [{ kind: p.port === 22 ? 'syn-ack' : 'rst' }]), ttl: 62 }, { plan, neighbors: { '10.0.1.5': '02:00:00:00:01:05' } });
    const { bus, events } = recordingBus();
    const r = await scan({ targets, ports: '21-23', type: 'syn', probeBackend: backend, report: { closed: true } }, { bus }).results;
    expect(r.outcome).toBe('completed');
    expect(ofType(events, 'StageChanged').map((e) => e.newStage)).toEqual(['TargetResolution', 'HostDiscovery', 'PortScanning', 'Finalization']);
    const ports = [...ofType(events, 'PortFound'), ...ofType(events, 'IPv6PortFound')];
    expect(new Set(ports.map((e) => e.target))).toEqual(new Set(live));
    expect(ports).toHaveLength(live.length * 3);
    expect(r.portsScanned).toBe(live.length * 3);
    expect(backend.engines.map((e) => e.options.mode)).toEqual(['discovery', 'tcp-syn']);
    // Counters are cumulative over the stages: the port scan's go on from discovery's.
    const [disc, syn] = backend.engines.map((e) => e.counters().sent);
    const m = Object.fromEntries(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect(m['probes.sent']).toBe(disc + syn);
    expect(foldScanEvents(events)).toEqual(r);
  });
});

describe('resume of a scan with discovery', () => {
  it('takes the live hosts from the log (no second discovery), the same job: every port once, the same results', async () => {
    const plan: LinkPlan = {
      interface: 'fake0', ifindex: 2, layer: 'ip', srcMac: null, srcV4: '10.0.0.200', srcV6: null,
      routes: [{ prefix: '0.0.0.0/0', mac: null, gateway: '10.0.0.254' }], neighbors: [], mtu: 1500,
    };
    const live = new Set(['10.0.0.1', '10.0.0.3', '10.0.0.7']);
    const net = {
      answer: (p: FakeProbe): FakeAnswer[] =>
        p.mode === 'discovery' ? (live.has(p.address) && p.port === 1 ? [{ kind: 'echo-reply' }] : [{ kind: 'none' }]) : [{ kind: p.port % 50 === 0 ? 'syn-ack' : 'rst' }],
      perTurn: 4,
      turnMs: 2,
    };
    const o = { targets: '10.0.0.1-10.0.0.8', ports: '1-300', type: 'syn' as const, report: { closed: true }, checkpointIntervalMs: 100, seed: 9n };
    const reference = await scan({ ...o, probeBackend: fakeBackend(net, { plan }) }, { bus: recordingBus().bus }).results;
    expect(reference.portsScanned).toBe(3 * 300);

    const first = recordingBus();
    const h = scan({ ...o, probeBackend: fakeBackend(net, { plan }) }, { bus: first.bus });
    let cp: ScanCheckpoint | undefined;
    let cut = -1;
    first.bus.on('ScanCheckpoint', (e) => {
      if (cp === undefined && e.lowWater > 0 && e.lowWater < 700) cp = e;
    });
    first.bus.on('PortFound', () => {
      if (cp !== undefined && cut < 0) {
        cut = first.events.length;
        h.cancel('simulated SIGKILL');
      }
    });
    await h.results;
    expect(cp).toBeDefined();
    const log = first.events.slice(0, cut);

    const backend = fakeBackend(net, { plan });
    const second = recordingBus();
    const r = await scan({ ...o, seed: undefined, probeBackend: backend, resumeFrom: cp, resumeEvents: log }, { bus: second.bus }).results;
    expect(r.outcome).toBe('completed');
    expect(backend.engines.map((e) => e.options.mode)).toEqual(['tcp-syn']);
    expect(ofType(second.events, 'HostDiscovered')).toHaveLength(0);
    const all = [...log, ...second.events];
    const ports = ofType(all, 'PortFound').map((e) => `${e.target}:${e.port}`);
    expect(ports).toHaveLength(900);
    expect(new Set(ports).size).toBe(900);
    expect(r.hosts).toEqual(reference.hosts);
    expect(foldScanEvents(all)).toEqual(r);
  });
});

describe('host discovery without raw privileges', () => {
  it('a ping scan falls back to TCP connects to 80 and 443 (refused = up), as nmap does unprivileged', async () => {
    const backend = fakeBackend({ answer: () => [{ kind: 'none' }] });
    backend.privileged = false;
    const { bus, events } = recordingBus();
    const r = await scan({ targets: ['127.0.0.1', '127.0.0.2'], type: 'ping', probeBackend: backend }, { bus }).results;
    expect(r.outcome).toBe('completed');
    expect(backend.engines).toHaveLength(0);
    const found = ofType(events, 'HostDiscovered');
    expect(found.map((e) => [e.ip, e.method]).sort()).toEqual([['127.0.0.1', 'connect'], ['127.0.0.2', 'connect']]);
    for (const e of found) expect(e.latencyMs).toBeGreaterThanOrEqual(0);
    const started = events[0];
    expect(started.type === 'ScanStarted' && started.options.discovery).toEqual([{ method: 'connect', port: 80 }, { method: 'connect', port: 443 }]);
    expect(r.hostsUp).toBe(2);
    expect(foldScanEvents(events)).toEqual(r);
  });
});

describe('discovery options', () => {
  it('refuse two methods that send the same probe flow, naming both', async () => {
    const { EventBus } = await import('@portflow/core');
    const bad = [
      [{ method: 'tcp-syn', port: 80 }, { method: 'tcp-ack' }],
      [{ method: 'icmp-echo' }, { method: 'icmp-echo' }],
    ];
    for (const discovery of bad) {
      let err: unknown;
      try {
        scan({ targets: '127.0.0.1', type: 'ping', discovery } as never, { bus: new EventBus() });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_SCAN_OPTION', option: 'discovery[1]' });
      expect((err as Error).message).toMatch(/same probe flow as discovery\[0\]/);
    }
  });
});
