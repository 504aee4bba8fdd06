import { describe, expect, it } from 'vitest';
import { compareDiscovery, compareScan, computeTruth, labSpec, resolveLabSpec, type ScanReport } from '../src/index.js';

const truth = computeTruth(resolveLabSpec(labSpec('standard')));
const v4Targets = truth.discovery.routed.filter((a) => !a.includes(':') && truth.host(a)!.role === 'target');

/** What a perfect SYN scanner reports: every port that is not closed, with nmap's reasons. */
function perfectTcpReports(): ScanReport[] {
  return v4Targets.flatMap((address) =>
    truth.host(address)!.ports.filter((p) => p.protocol === 'tcp' && p.state !== 'closed').map((p) => ({ address, protocol: 'tcp' as const, port: p.port, state: p.state, reason: p.reasons[0] })),
  );
}

describe('compareScan', () => {
  it('agrees with a perfect scan', () => {
    const c = compareScan(truth, perfectTcpReports(), { protocol: 'tcp', addresses: v4Targets });
    expect(c.agree).toBe(true);
    expect(c.checked).toBe(16 * 16);
  });

  it('finds missed open ports, wrong states, wrong reasons, outside addresses and duplicates', () => {
    const reports = perfectTcpReports();
    const dropped = reports.findIndex((r) => r.state === 'open');
    const missed = reports.splice(dropped, 1)[0];
    const filtered = reports.find((r) => r.state === 'filtered' && r.reason === 'no-response')!;
    const prohibited = reports.find((r) => r.reason === 'admin-prohibited')!;
    const bad: ScanReport[] = [
      ...reports.filter((r) => r !== filtered && r !== prohibited),
      { ...filtered, state: 'open' },
      { ...prohibited, reason: 'reset' },
      { address: '192.0.2.7', protocol: 'tcp', port: 22, state: 'open' },
      { ...reports[0] },
      { address: v4Targets[0], protocol: 'udp', port: 53, state: 'closed' }, // another protocol: ignored
    ];
    const c = compareScan(truth, bad, { protocol: 'tcp', addresses: v4Targets });
    expect(c.agree).toBe(false);
    expect(c.missedOpen.map((p) => `${p.address}:${p.port}`)).toEqual([`${missed.address}:${missed.port}`]);
    expect(c.wrongState.map((m) => m.report.port)).toEqual([filtered.port]);
    expect(c.wrongReason.map((m) => m.expected.reasons)).toEqual([['admin-prohibited']]);
    expect(c.outsideLab).toHaveLength(1);
    expect(c.duplicates).toHaveLength(1);
  });

  it('accepts open|filtered for dropped UDP ports, and refuses ambiguous address spellings', () => {
    const c = compareScan(truth, [{ address: '10.20.1.036', protocol: 'udp', port: 161, state: 'open|filtered', reason: 'no-response' }], { protocol: 'udp', addresses: ['10.20.1.36'], ports: [161] });
    // "10.20.1.036" is not an address at all (leading zero): it is outside the lab
    expect(c.outsideLab).toHaveLength(1);
    const ok = compareScan(truth, [{ address: '10.20.1.36', protocol: 'udp', port: 161, state: 'open|filtered', reason: 'no-response' }], { protocol: 'udp', addresses: ['10.20.1.36'], ports: [161] });
    expect(ok.agree).toBe(true);
  });
});

describe('compareDiscovery', () => {
  it('finds missed and extra hosts per segment and family', () => {
    const onLink4 = truth.discovery.onLink.filter((a) => !a.includes(':'));
    expect(compareDiscovery(truth, onLink4, { segment: 'on-link', family: 4 }).agree).toBe(true);
    const c = compareDiscovery(truth, [...onLink4.slice(1), '10.20.0.99'], { segment: 'on-link', family: 4 });
    expect(c.missed).toEqual([onLink4[0]]);
    expect(c.extra).toEqual(['10.20.0.99']);
    expect(compareDiscovery(truth, truth.liveHosts, { segment: 'all' }).agree).toBe(true);
  });
});
