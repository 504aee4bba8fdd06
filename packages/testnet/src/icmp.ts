import type { IcmpMode } from './spec.js';

/**
 * ICMP rate-limit sysctls, written explicitly into every lab namespace so a
 * lab never inherits whatever the machine happens to have.
 *
 * `lifted` empties both ratemasks: the kernel then skips the per-peer limit
 * (icmp_ratelimit) and the namespace-wide token bucket (icmp_msgs_per_sec /
 * icmp_msgs_burst) for every ICMP type. The per-peer limits are zeroed and the
 * bucket made huge as well, so the mode holds even if a kernel ignored the masks.
 * Measured on these machines: with only the per-peer limit off, 1,000 UDP
 * probes to closed ports got 99 port-unreachables; with everything lifted, 1,000.
 *
 * `default` is what a fresh network namespace has on Linux 6.18 (IPv4: 1,000 ms
 * per peer, 1,000 msgs/s, burst 50; IPv6: 100 ms per peer): 1,000 probes to
 * closed UDP ports of one namespace then get about 6 answers.
 */
export function icmpSysctls(mode: IcmpMode): Record<string, string> {
  if (mode === 'lifted') {
    return {
      'net.ipv4.icmp_ratelimit': '0',
      'net.ipv4.icmp_ratemask': '0',
      'net.ipv4.icmp_msgs_per_sec': '2147483647',
      'net.ipv4.icmp_msgs_burst': '2147483647',
      'net.ipv6.icmp.ratelimit': '0',
      'net.ipv6.icmp.ratemask': '',
    };
  }
  return {
    'net.ipv4.icmp_ratelimit': '1000',
    'net.ipv4.icmp_ratemask': '6168',
    'net.ipv4.icmp_msgs_per_sec': '1000',
    'net.ipv4.icmp_msgs_burst': '50',
    'net.ipv6.icmp.ratelimit': '100',
    'net.ipv6.icmp.ratemask': '0-1,3-127',
  };
}
