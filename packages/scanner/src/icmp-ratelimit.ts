// ICMP rate limiting of UDP scan targets. A closed UDP port answers with ICMP
// port unreachable, but hosts limit how many they send: Linux, by default,
// a token bucket per peer of 6 messages burst refilled at one per second for
// IPv4 (net.ipv4.icmp_ratelimit = 1000 ms) and ten per second for IPv6
// (net.ipv6.icmp.ratelimit = 100 ms), so about 6 answers to 1,000 quick probes.
// The unanswered closed ports then look exactly like open|filtered ones.
//
// Detection, per host, at the end of its probing: the host sent port
// unreachables (so it does answer closed ports), at least a burst of them,
// some of its probes got no answer at all, and its unreachables never
// exceeded what such a limiter lets out between the first and the last of
// them (burst + rate × seconds, by their capture times): a host without a
// limit answers its closed ports all at once, well above that. With few
// closed ports (a burst's worth) the two cannot be told apart; such a host is
// reported as possibly limited, which only adds a reason to open|filtered. Such hosts' unanswered ports are reported open|filtered with
// the reason `icmp-ratelimit` (never `no-response`, which would claim the
// port was silent by itself) and a WarningIssued says how many and why.

/** Linux's defaults (include/net/icmp.h XRLIM_BURST_FACTOR, the sysctls above). */
export const ICMP_LIMIT_BURST = 6;
export const ICMP_LIMIT_PER_SEC_V4 = 1;
export const ICMP_LIMIT_PER_SEC_V6 = 10;

export interface HostIcmpFigures {
  /** ICMP port unreachables (and other unreachables) received from the host. */
  unreachables: number;
  /** Probes to the host that ended without any answer. */
  unanswered: number;
  /** Seconds between the first and the last unreachable from the host (capture times). */
  seconds: number;
  family: 4 | 6;
}

/** How many ICMP errors a Linux-default limiter lets out in `seconds`. */
export function icmpCeiling(family: 4 | 6, seconds: number): number {
  return ICMP_LIMIT_BURST + Math.max(0, seconds) * (family === 6 ? ICMP_LIMIT_PER_SEC_V6 : ICMP_LIMIT_PER_SEC_V4);
}

/**
 * True when the host's unanswered probes are explained by an ICMP rate limit: it answered
 * closed ports with unreachables up to the limiter's ceiling (within one message of
 * rounding), and probes went unanswered meanwhile.
 */
export function looksRateLimited(h: HostIcmpFigures): boolean {
  if (h.unanswered === 0 || h.unreachables < ICMP_LIMIT_BURST) return false;
  // Half a message of slack for timestamp jitter around a refill.
  return h.unreachables <= icmpCeiling(h.family, h.seconds) + 0.5;
}

/** Per-host accounting for one UDP scan (addresses as canonical text). */
export class IcmpRateLimitDetector {
  readonly #hosts = new Map<string, { unreachables: number; unanswered: number; first: number; last: number; family: 4 | 6 }>();

  #host(address: string, family: 4 | 6) {
    let h = this.#hosts.get(address);
    if (h === undefined) {
      h = { unreachables: 0, unanswered: 0, first: Infinity, last: -Infinity, family };
      this.#hosts.set(address, h);
    }
    return h;
  }

  /** An ICMP port unreachable about a probe to `address`, captured at `timeMs`. */
  unreachable(address: string, family: 4 | 6, timeMs: number): void {
    const h = this.#host(address, family);
    h.unreachables++;
    if (timeMs < h.first) h.first = timeMs;
    if (timeMs > h.last) h.last = timeMs;
  }

  /** A probe to `address` that ended unanswered (after its last retry). */
  unanswered(address: string, family: 4 | 6): void {
    this.#host(address, family).unanswered++;
  }

  figures(address: string): HostIcmpFigures | undefined {
    const h = this.#hosts.get(address);
    if (h === undefined) return undefined;
    return { unreachables: h.unreachables, unanswered: h.unanswered, seconds: h.unreachables === 0 ? 0 : (h.last - h.first) / 1000, family: h.family };
  }

  /** Hosts whose silence is explained by an ICMP rate limit. */
  limitedHosts(): string[] {
    const out: string[] = [];
    for (const a of this.#hosts.keys()) if (looksRateLimited(this.figures(a)!)) out.push(a);
    return out;
  }
}
