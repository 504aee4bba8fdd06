import { inject, it } from 'vitest';
import { listNamespaces, type Lab, type LabTruth, type PortState, type ProbeRequest, type ProbeResult, type Reason } from '../../src/index.js';
import { runSync } from '../../src/run.js';

export const skipReason = inject('labSkipReason');
/** `it` for lab tests: skipped, with the reason printed by global setup, when labs cannot run here. */
export const labIt = (skipReason ? it.skip : it) as typeof it;

/**
 * What a plain socket saw, as the port states and reasons it is compatible
 * with. A socket sees less than a raw scanner: Linux reports ICMP host
 * unreachable to a UDP socket only with IP_RECVERR (a soft error, RFC 1122),
 * and ignores ICMPv6 unreachables on a connecting TCP socket (both measured).
 */
export function observed(r: ProbeResult): { states: PortState[]; reasons: Reason[] } {
  const o = observedOne(r);
  if (r.protocol === 'udp' && r.outcome === 'timeout') return { states: ['open|filtered', 'filtered'], reasons: ['no-response', 'host-unreach'] };
  return { states: [o.state], reasons: o.reasons };
}

function observedOne(r: ProbeResult): { state: PortState; reasons: Reason[] } {
  if (r.protocol === 'tcp') {
    switch (r.outcome) {
      case 'connected': return { state: 'open', reasons: ['syn-ack'] };
      case 'refused': return { state: 'closed', reasons: ['reset'] };
      // connect() cannot tell a dropped SYN from an ICMPv6 error Linux ignores
      // on a connecting TCP socket (measured: admin-prohibited gives a timeout).
      case 'timeout': return { state: 'filtered', reasons: r.address.includes(':') ? ['no-response', 'admin-prohibited', 'host-unreach'] : ['no-response'] };
      case 'unreachable': return { state: 'filtered', reasons: r.code === 'EACCES' ? ['admin-prohibited'] : ['admin-prohibited', 'host-unreach'] };
      default: return { state: 'filtered', reasons: [] };
    }
  }
  switch (r.outcome) {
    case 'reply': return { state: 'open', reasons: ['udp-response'] };
    case 'refused': return { state: 'closed', reasons: ['port-unreach'] };
    case 'timeout': return { state: 'open|filtered', reasons: ['no-response'] };
    case 'unreachable': return { state: 'filtered', reasons: r.code === 'EACCES' ? ['admin-prohibited'] : ['admin-prohibited', 'host-unreach'] };
    default: return { state: 'filtered', reasons: [] };
  }
}

/** Probes that exercise every kind of port of a lab: each listed port of each live host, a closed one, and non-live samples. */
export function probesFor(truth: LabTruth, nonLive: readonly string[]): ProbeRequest[] {
  const out: ProbeRequest[] = [];
  for (const address of truth.liveHosts) {
    const host = truth.host(address)!;
    for (const p of host.ports) {
      if (p.protocol === 'udp' && p.service?.elicitedBy === 'dns-query') out.push({ address, protocol: 'udp', port: p.port, payload: 'dns' });
      else out.push({ address, protocol: p.protocol, port: p.port });
    }
    const listed = new Set(host.ports.map((p) => `${p.protocol}/${p.port}`));
    const closedTcp = [7, 999, 40_000].filter((p) => !listed.has(`tcp/${p}`));
    const closedUdp = [9, 40_000].filter((p) => !listed.has(`udp/${p}`));
    for (const port of closedTcp) out.push({ address, protocol: 'tcp', port });
    for (const port of closedUdp) out.push({ address, protocol: 'udp', port });
  }
  for (const address of nonLive) {
    out.push({ address, protocol: 'tcp', port: 22 }, { address, protocol: 'tcp', port: 443 }, { address, protocol: 'udp', port: 53, payload: 'dns' });
  }
  return out;
}

export interface Mismatch {
  readonly probe: ProbeResult;
  readonly expected: { state: PortState; accept: readonly PortState[]; reasons: readonly Reason[] };
  readonly why: string;
}

/** Every probe whose result contradicts the truth (state not accepted, reason not allowed, wrong banner). */
export function mismatches(truth: LabTruth, results: readonly ProbeResult[]): Mismatch[] {
  const out: Mismatch[] = [];
  for (const r of results) {
    const e = truth.expect(r.address, r.protocol, r.port);
    const o = observed(r);
    const expected = { state: e.state, accept: e.accept, reasons: e.reasons };
    if (!o.states.some((x) => e.accept.includes(x))) out.push({ probe: r, expected, why: `saw ${o.states.join(' or ')}` });
    else if (!o.reasons.some((x) => e.reasons.includes(x))) out.push({ probe: r, expected, why: `reasons ${o.reasons.join('/')} not allowed` });
    else if (e.service?.banner !== undefined && r.banner !== e.service.banner) out.push({ probe: r, expected, why: `banner ${JSON.stringify(r.banner)}` });
    else if (e.service?.reply !== undefined && r.reply !== e.service.reply) out.push({ probe: r, expected, why: `reply ${JSON.stringify(r.reply)}` });
  }
  return out;
}

/** What a lab might leave behind: namespaces, root-namespace links and nft tables carrying its names. */
export function leftovers(lab: Lab): string[] {
  const out: string[] = [];
  const ns = new Set(listNamespaces());
  for (const n of lab.namespaces) if (ns.has(n)) out.push(`namespace ${n}`);
  const links = runSync('ip', ['-o', 'link', 'show']);
  const tag = lab.scanner.interface.slice(0, -1);
  for (const line of links.split('\n')) if (line.includes(tag)) out.push(`link ${line.trim()}`);
  const tables = runSync('nft', ['list', 'tables']);
  if (tables.includes('portflow_testnet')) out.push('nft table portflow_testnet in the root namespace');
  return out;
}
