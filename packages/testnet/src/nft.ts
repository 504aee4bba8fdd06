import type { Topology } from './topology.js';

/** The router's table; it exists only inside the router namespace. */
export const NFT_TABLE = 'portflow_testnet';

export interface RouterIfaces {
  /** The router's port on the on-link segment (scanner side). */
  readonly onLink: string;
  /** The router's port on the target segment. */
  readonly targets: string;
  /** The segments' bridges, layer 2 only. */
  readonly bridges: readonly string[];
}

/**
 * The router's nftables ruleset, one forward chain, fully stateless (no
 * conntrack): the same packet always meets the same fate, a raw SYN scanner's
 * probes are never "invalid", and no state table fills up at high rates.
 * Rules, in order:
 * 1. loss (optional): `numgen random mod 10000 < N drop`, matched by input
 *    port (so a packet that also passes the delay line's tun is counted
 *    once); first, so that it hits every forwarded packet alike;
 * 2. non-live addresses of the routed and silent prefixes: `drop`, or
 *    `reject with icmpx type host-unreachable` in labs that want answers;
 * 3. per host × protocol × port rules from concatenated sets: `drop`,
 *    `reject with icmp(v6) type admin-prohibited`, `reject with tcp reset`.
 * Traffic to the router's own addresses takes the input hook and is untouched,
 * except on the bridges: they are layer 2 only, but Linux answers ARP and NDP
 * for any local address on any interface, so a bridge would race the router's
 * real port to answer for the gateway address, and traffic sent to the
 * bridge's MAC would bypass every rule keyed on the input port (loss, delay).
 * The input chains of the `inet` and `arp` tables drop what arrives on them.
 */
export function routerRuleset(t: Topology, ifaces: RouterIfaces): string {
  const lab = t.lab;
  const live4: string[] = [];
  const live6: string[] = [];
  const sets: Record<'drop' | 'admin-prohibited' | 'tcp-reset', { v4: string[]; v6: string[] }> = {
    drop: { v4: [], v6: [] },
    'admin-prohibited': { v4: [], v6: [] },
    'tcp-reset': { v4: [], v6: [] },
  };
  for (const h of t.routed) {
    if (h.ipv4) live4.push(h.ipv4);
    if (h.ipv6) live6.push(h.ipv6);
    for (const r of h.spec.rules ?? []) {
      if (h.ipv4) sets[r.action].v4.push(`${h.ipv4} . ${r.protocol} . ${r.port}`);
      if (h.ipv6) sets[r.action].v6.push(`${h.ipv6} . ${r.protocol} . ${r.port}`);
    }
  }
  const elements = (xs: string[]): string => (xs.length ? `\n    elements = { ${xs.join(', ')} }` : '');
  const set = (name: string, type: string, xs: string[]): string => `  set ${name} {\n    type ${type}${elements(xs)}\n  }`;
  const v4Prefixes = [lab.routed4, ...lab.silent.filter((p) => p.family === 4)].filter((p) => p !== undefined).map((p) => p.text);
  const v6Prefixes = [lab.routed6, ...lab.silent.filter((p) => p.family === 6)].filter((p) => p !== undefined).map((p) => p.text);
  const nonLiveVerdict = lab.spec.nonLive === 'drop' ? 'drop' : 'reject with icmpx type host-unreachable';

  const rules: string[] = [];
  const loss = lab.spec.loss;
  if (loss) {
    const threshold = Math.round(loss.percent * 100);
    // Always by input bridge: a packet through the delay line crosses the forward hook twice.
    const guard =
      loss.direction === 'to-targets' ? `iifname "${ifaces.onLink}" ` : loss.direction === 'from-targets' ? `iifname "${ifaces.targets}" ` : `iifname { "${ifaces.onLink}", "${ifaces.targets}" } `;
    rules.push(`${guard}numgen random mod 10000 < ${threshold} drop`);
  }
  if (v4Prefixes.length) rules.push(`ip daddr { ${v4Prefixes.join(', ')} } ip daddr != @live4 ${nonLiveVerdict}`);
  if (v6Prefixes.length) rules.push(`ip6 daddr { ${v6Prefixes.join(', ')} } ip6 daddr != @live6 ${nonLiveVerdict}`);
  rules.push(
    'ip daddr . meta l4proto . th dport @drop4 drop',
    'ip6 daddr . meta l4proto . th dport @drop6 drop',
    'ip daddr . meta l4proto . th dport @prohibit4 reject with icmp type admin-prohibited',
    'ip6 daddr . meta l4proto . th dport @prohibit6 reject with icmpv6 type admin-prohibited',
    'ip daddr . meta l4proto . th dport @reset4 reject with tcp reset',
    'ip6 daddr . meta l4proto . th dport @reset6 reject with tcp reset',
  );
  const bridges = `iifname { ${ifaces.bridges.map((b) => `"${b}"`).join(', ')} }`;
  return [
    `table arp ${NFT_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    ${bridges} drop`,
    '  }',
    '}',
    `table inet ${NFT_TABLE} {`,
    set('live4', 'ipv4_addr', live4),
    set('live6', 'ipv6_addr', live6),
    set('drop4', 'ipv4_addr . inet_proto . inet_service', sets.drop.v4),
    set('drop6', 'ipv6_addr . inet_proto . inet_service', sets.drop.v6),
    set('prohibit4', 'ipv4_addr . inet_proto . inet_service', sets['admin-prohibited'].v4),
    set('prohibit6', 'ipv6_addr . inet_proto . inet_service', sets['admin-prohibited'].v6),
    set('reset4', 'ipv4_addr . inet_proto . inet_service', sets['tcp-reset'].v4),
    set('reset6', 'ipv6_addr . inet_proto . inet_service', sets['tcp-reset'].v6),
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    ${bridges} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}
