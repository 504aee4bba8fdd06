import { describe, expect, it } from 'vitest';
import { computeTruth, labSpec, resolveLabSpec, TestnetError, type LabSpec } from '../src/index.js';

const truthOf = (spec: LabSpec) => computeTruth(resolveLabSpec(spec));

describe('standard lab truth', () => {
  const truth = truthOf(labSpec('standard'));
  const targets = truth.toJSON().hosts.filter((h) => h.role === 'target');

  it('has 16 live dual-stack hosts, each with 14 open TCP services, DNS, one dropped and one admin-prohibited port', () => {
    expect(targets.filter((h) => h.family === 4)).toHaveLength(16);
    expect(targets.filter((h) => h.family === 6)).toHaveLength(16);
    for (const h of targets) {
      const tcpOpen = h.ports.filter((p) => p.protocol === 'tcp' && p.state === 'open');
      expect(tcpOpen).toHaveLength(14);
      expect(tcpOpen.filter((p) => p.port <= 1024).length).toBe(12);
      expect(h.ports.filter((p) => p.cause === 'rule-drop' && p.protocol === 'tcp')).toHaveLength(1);
      expect(h.ports.filter((p) => p.cause === 'rule-admin-prohibited' && p.protocol === 'tcp')).toHaveLength(1);
      const dns = h.ports.find((p) => p.protocol === 'udp' && p.port === 53)!;
      expect(dns.state).toBe('open');
      expect(dns.service?.elicitedBy).toBe('dns-query');
    }
    expect(truth.openPorts('tcp').filter((p) => !p.address.includes(':') && truth.host(p.address)!.role === 'target')).toHaveLength(224);
  });

  it('lists the router and the on-link hosts as live, and not the scanner', () => {
    expect(truth.discovery.onLink).toEqual(['10.20.0.1', '2001:db8:20::1', '10.20.0.20', '2001:db8:20::14', '10.20.0.37', '2001:db8:20::25', '10.20.0.130', '2001:db8:20::82']);
    expect(truth.discovery.routed).toContain('10.20.1.1');
    expect(truth.discovery.routed).toContain('10.20.1.10');
    expect(truth.isLive('10.20.0.2')).toBe(false);
    expect(() => truth.expect('10.20.0.2', 'tcp', 22)).toThrowError(/is the scanner itself/);
  });

  it('answers for any address and port of the lab', () => {
    const open = truth.expect('10.20.1.10', 'tcp', 22);
    expect(open).toMatchObject({ state: 'open', accept: ['open'], reasons: ['syn-ack'], cause: 'listener' });
    expect(open.service?.banner).toMatch(/^SSH-2.0-/);
    expect(truth.expect('10.20.1.10', 'tcp', 80).service).toMatchObject({ kind: 'request-reply', elicitedBy: 'connect' });
    expect(truth.expect('10.20.1.10', 'tcp', 81)).toMatchObject({ state: 'closed', reasons: ['reset'], cause: 'kernel-closed' });
    expect(truth.expect('10.20.1.10', 'tcp', 113)).toMatchObject({ state: 'filtered', reasons: ['no-response'], cause: 'rule-drop' });
    expect(truth.expect('10.20.1.10', 'tcp', 119)).toMatchObject({ state: 'filtered', reasons: ['admin-prohibited'] });
    expect(truth.expect('10.20.1.23', 'tcp', 1024)).toMatchObject({ state: 'closed', reasons: ['reset'], cause: 'rule-tcp-reset' });
    expect(truth.expect('10.20.1.10', 'udp', 124)).toMatchObject({ state: 'closed', accept: ['closed'], reasons: ['port-unreach'] });
    expect(truth.expect('10.20.1.36', 'udp', 161)).toMatchObject({ state: 'filtered', accept: ['filtered', 'open|filtered'] });
    expect(truth.expect('10.20.1.11', 'tcp', 22)).toMatchObject({ state: 'filtered', reasons: ['no-response'], cause: 'non-live-dropped' });
    expect(truth.expect('2001:db8:20:1::dead:beef', 'udp', 53)).toMatchObject({ cause: 'non-live-dropped', accept: ['filtered', 'open|filtered'] });
    expect(truth.expect('10.20.0.99', 'tcp', 22)).toMatchObject({ cause: 'no-neighbour' });
    expect(truth.expect('10.20.1.1', 'tcp', 22)).toMatchObject({ state: 'closed' });
  });

  it('matches any spelling of an IPv6 address', () => {
    expect(truth.expect('2001:0DB8:0020:0001:0000:0000:0000:000a', 'tcp', 22).address).toBe('2001:db8:20:1::a');
    expect(truth.host('2001:db8:20:1:0:0:0:a')?.role).toBe('target');
  });

  it('refuses addresses outside the lab and bad input, with typed errors', () => {
    expect(() => truth.expect('192.0.2.1', 'tcp', 22)).toThrowError(/lies outside lab "standard"/);
    expect(() => truth.expect('not-an-ip', 'tcp', 22)).toThrowError(TestnetError);
    expect(() => truth.expect('10.20.1.10', 'sctp' as never, 22)).toThrowError(/protocol "sctp"/);
    expect(() => truth.expect('10.20.1.10', 'tcp', 0)).toThrowError(/port 0/);
  });

  it('enumerates the scan range', () => {
    const entries = [...truth.entries('tcp', ['10.20.1.10'])];
    expect(entries).toHaveLength(1032);
    expect(entries.filter((e) => e.state === 'open')).toHaveLength(14);
  });

  it('serializes to JSON and back without loss', () => {
    const json = JSON.parse(JSON.stringify(truth)) as ReturnType<typeof truth.toJSON>;
    expect(json.lab).toBe('standard');
    expect(json.liveHosts).toEqual(truth.liveHosts);
    expect(json.hosts.find((h) => h.address === '10.20.1.10')?.ports).toEqual(truth.host('10.20.1.10')!.ports);
    expect(json.nonLiveHosts.routed.tcp.cause).toBe('non-live-dropped');
  });
});

describe('truth follows the spec', () => {
  it('widens ICMP-dependent answers under the kernel default rate limits', () => {
    const t = truthOf(labSpec('standard', { icmp: 'default' }));
    expect(t.expect('10.20.1.10', 'udp', 124)).toMatchObject({ state: 'closed', accept: ['closed', 'open|filtered'], reasons: ['port-unreach', 'no-response'] });
    expect(t.expect('10.20.1.10', 'tcp', 119)).toMatchObject({ state: 'filtered', accept: ['filtered'], reasons: ['admin-prohibited', 'no-response'] });
    // a TCP reset is never rate limited
    expect(t.expect('10.20.1.10', 'tcp', 81).reasons).toEqual(['reset']);
  });

  it('limits only the namespaces whose mode says so', () => {
    const t = truthOf(labSpec('standard', { icmp: { router: 'default', targets: 'lifted' } }));
    expect(t.expect('10.20.1.10', 'udp', 124).reasons).toEqual(['port-unreach']);
    expect(t.expect('10.20.1.10', 'tcp', 119).reasons).toEqual(['admin-prohibited', 'no-response']);
    expect(t.expect('10.20.1.1', 'udp', 9).reasons).toEqual(['port-unreach', 'no-response']);
  });

  it('gives host-unreach for the unreachable lab', () => {
    const t = truthOf(labSpec('unreachable'));
    expect(t.expect('10.70.1.11', 'tcp', 22)).toMatchObject({ state: 'filtered', reasons: ['host-unreach'], cause: 'non-live-unreachable' });
  });

  it('covers the whole silent range', () => {
    const t = truthOf(labSpec('silent-range'));
    expect(t.expect('10.51.200.7', 'tcp', 443).cause).toBe('non-live-dropped');
    expect(t.expect('10.50.156.64', 'tcp', 443).state).toBe('open');
    expect(t.discovery.routed).toEqual(['10.50.0.1', '10.50.0.10', '10.50.1.44', '10.50.156.64', '10.50.253.232']);
  });

  it('changes when the spec changes', () => {
    const base = labSpec('standard');
    const spec: LabSpec = {
      ...base,
      routed: { ...base.routed, hosts: [{ offset: 200, services: [{ protocol: 'tcp', port: 4242, kind: 'banner', banner: 'hi\r\n' }] }], namespaces: 1 },
    };
    const t = truthOf(spec);
    expect(t.openPorts()).toHaveLength(2 + 14); // one service on two addresses, plus the on-link hosts' 7 on two each
    expect(t.expect('10.20.1.200', 'tcp', 4242).state).toBe('open');
    expect(t.expect('10.20.1.10', 'tcp', 22).state).toBe('filtered');
  });

  it('states the faults', () => {
    const t = truthOf(labSpec('standard', { loss: { percent: 1, direction: 'both' } }));
    expect(t.toJSON().faults).toEqual({ loss: { percent: 1, direction: 'both' } });
  });
});
