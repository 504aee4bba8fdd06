import { canonicalAddress } from './address.js';
import { TestnetError } from './errors.js';
import type { Protocol } from './spec.js';
import type { LabTruth, PortState, PortTruth, Reason } from './truth.js';

/** One port as a scanner reported it. */
export interface ScanReport {
  readonly address: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly state: PortState;
  /** Omit when the scanner gives none; checked against the truth's allowed reasons when given. */
  readonly reason?: Reason;
}

export interface ReportMismatch {
  readonly report: ScanReport;
  readonly expected: PortTruth;
}

export interface ScanComparison {
  /** Reports that were checked against the truth (in scope, in the lab). */
  readonly checked: number;
  /** Open ports in scope that the scanner did not report as open. */
  readonly missedOpen: readonly PortTruth[];
  /** Reports whose state the truth does not accept. */
  readonly wrongState: readonly ReportMismatch[];
  /** Reports with an accepted state but a reason the truth does not allow. */
  readonly wrongReason: readonly ReportMismatch[];
  /** Reports for addresses outside the lab (a scanner that sent there broke the lab's contract). */
  readonly outsideLab: readonly ScanReport[];
  /** Reports of a port already reported. */
  readonly duplicates: readonly ScanReport[];
  /** No misses and no wrong or outside reports. */
  readonly agree: boolean;
}

export interface ScanScope {
  readonly protocol: Protocol;
  /** The addresses the scanner was asked to scan (default: every live host). */
  readonly addresses?: Iterable<string>;
  /** The ports it was asked to scan (default: the lab's scan range for the protocol). */
  readonly ports?: Iterable<number>;
}

/**
 * Compare what a scanner reported with the truth, over the scope it was asked
 * to scan. Scanners usually leave closed (or filtered) ports out: a port not
 * reported is a miss only when it is open.
 */
export function compareScan(truth: LabTruth, reports: Iterable<ScanReport>, scope: ScanScope): ScanComparison {
  if (scope.protocol !== 'tcp' && scope.protocol !== 'udp') throw new TestnetError('ERR_TESTNET_OPTIONS', `compareScan: protocol "${String(scope.protocol)}" must be tcp or udp`);
  const addresses = new Set<string>();
  for (const a of scope.addresses ?? truth.liveHosts) {
    const c = canonicalAddress(a);
    if (c === undefined) throw new TestnetError('ERR_TESTNET_ADDRESS', `compareScan: scope address "${a}" is not an IP address`);
    addresses.add(c);
  }
  const ports = new Set(scope.ports ?? truth.lab.scanPorts[scope.protocol]);
  const seen = new Set<string>();
  const reportedOpen = new Set<string>();
  const wrongState: ReportMismatch[] = [];
  const wrongReason: ReportMismatch[] = [];
  const outsideLab: ScanReport[] = [];
  const duplicates: ScanReport[] = [];
  let checked = 0;
  for (const report of reports) {
    if (report.protocol !== scope.protocol) continue;
    const address = canonicalAddress(report.address);
    if (address === undefined) {
      outsideLab.push(report);
      continue;
    }
    let expected: PortTruth;
    try {
      expected = truth.expect(address, report.protocol, report.port);
    } catch {
      outsideLab.push(report);
      continue;
    }
    const key = `${address}/${report.port}`;
    if (seen.has(key)) {
      duplicates.push(report);
      continue;
    }
    seen.add(key);
    checked++;
    if (report.state === 'open') reportedOpen.add(key);
    if (!expected.accept.includes(report.state)) wrongState.push({ report, expected });
    else if (report.reason !== undefined && !expected.reasons.includes(report.reason)) wrongReason.push({ report, expected });
  }
  const missedOpen: PortTruth[] = [];
  for (const address of addresses) {
    const host = truth.host(address);
    if (!host) continue;
    for (const p of host.ports) {
      if (p.protocol === scope.protocol && p.state === 'open' && ports.has(p.port) && !reportedOpen.has(`${address}/${p.port}`)) missedOpen.push(p);
    }
  }
  const agree = missedOpen.length === 0 && wrongState.length === 0 && wrongReason.length === 0 && outsideLab.length === 0;
  return { checked, missedOpen, wrongState, wrongReason, outsideLab, duplicates, agree };
}

export interface DiscoveryComparison {
  /** Live hosts in scope that were not found. */
  readonly missed: readonly string[];
  /** Addresses reported live that are not. */
  readonly extra: readonly string[];
  readonly agree: boolean;
}

/**
 * Compare the hosts a discovery found with the truth: `routed` (behind the
 * router: ICMP/TCP/UDP pings), `on-link` (ARP/NDP on the scanner's segment) or
 * `all`; `family` narrows to IPv4 or IPv6.
 */
export function compareDiscovery(truth: LabTruth, found: Iterable<string>, scope: { readonly segment: 'routed' | 'on-link' | 'all'; readonly family?: 4 | 6 }): DiscoveryComparison {
  const inFamily = (a: string): boolean => scope.family === undefined || (scope.family === 6) === a.includes(':');
  const expected = (scope.segment === 'routed' ? truth.discovery.routed : scope.segment === 'on-link' ? truth.discovery.onLink : truth.liveHosts).filter(inFamily);
  const got = new Set<string>();
  const extra: string[] = [];
  for (const a of found) {
    const c = canonicalAddress(a);
    if (c === undefined || !truth.isLive(c)) extra.push(a);
    else got.add(c);
  }
  const missed = expected.filter((a) => !got.has(a));
  return { missed, extra, agree: missed.length === 0 && extra.length === 0 };
}
