import { addressAt, parsePrefix, prefixSize, type Prefix } from './address.js';
import { TestnetError } from './errors.js';

/**
 * The declarative description of a lab. Everything a lab does (namespaces,
 * addresses, listeners, nftables rules, sysctls, qdiscs) and everything its
 * ground truth says is derived from one LabSpec, so the two cannot disagree.
 */

/** `lifted`: no ICMP rate limiting at all; `default`: the limits a fresh namespace has. */
export type IcmpMode = 'lifted' | 'default';

export type Protocol = 'tcp' | 'udp';

/** A TCP listener that writes `banner` as soon as a connection is accepted (SSH, SMTP, FTP...). */
export interface BannerService {
  readonly protocol: 'tcp';
  readonly port: number;
  readonly kind: 'banner';
  readonly banner: string;
}

/** A TCP listener that stays silent until the client sends something, then answers `reply` (HTTP...). */
export interface RequestReplyService {
  readonly protocol: 'tcp';
  readonly port: number;
  readonly kind: 'request-reply';
  readonly reply: string;
}

/** A UDP responder that answers well-formed DNS queries (and only those, like a real server). */
export interface DnsService {
  readonly protocol: 'udp';
  readonly port: number;
  readonly kind: 'dns';
}

/** A UDP responder that answers every datagram, empty ones included, with `reply`. */
export interface UdpEchoService {
  readonly protocol: 'udp';
  readonly port: number;
  readonly kind: 'udp-reply';
  readonly reply: string;
}

export type ServiceSpec = BannerService | RequestReplyService | DnsService | UdpEchoService;

/**
 * What the router's nftables does to one port of one routed host:
 * - `drop`: silently dropped (filtered, no response);
 * - `admin-prohibited`: rejected with ICMP(v6) destination unreachable, administratively prohibited;
 * - `tcp-reset`: rejected with a TCP RST forged by the router (looks closed).
 */
export type PortAction = 'drop' | 'admin-prohibited' | 'tcp-reset';

export interface PortRule {
  readonly protocol: Protocol;
  readonly port: number;
  readonly action: PortAction;
}

export interface HostSpec {
  /** Position of the host inside the lab's prefixes: the IPv4 host number and the IPv6 interface id. */
  readonly offset: number;
  /** Give the host an address in the IPv4 prefix (default: when the lab has one). */
  readonly ipv4?: boolean;
  /** Give the host an address in the IPv6 prefix (default: when the lab has one). */
  readonly ipv6?: boolean;
  readonly services: readonly ServiceSpec[];
  /** Router rules for this host; routed hosts only (on-link traffic never crosses the router). */
  readonly rules?: readonly PortRule[];
}

export interface LossFault {
  /** Share of packets dropped, in percent, with up to two decimals (nftables `numgen random mod 10000`). */
  readonly percent: number;
  readonly direction: 'both' | 'to-targets' | 'from-targets';
}

export interface RateFault {
  /** tbf rate on the router's egress, in kbit/s. */
  readonly kbit: number;
  /** tbf bucket size in bytes (default 32 KiB). */
  readonly burstBytes?: number;
  readonly direction: 'both' | 'to-targets' | 'from-targets';
}

/**
 * A fixed delay on routed traffic, by the delay line program on the router
 * (no netem on these kernels). Rejections by the router itself (admin-prohibited,
 * host-unreachable, TCP reset rules) happen before the delay line and are not
 * delayed; neither is traffic to the router's own addresses.
 */
export interface DelayFault {
  /** Milliseconds each packet is held, per pass through the router (1-60,000). */
  readonly ms: number;
  readonly direction: 'both' | 'to-targets' | 'from-targets';
  /** Packets the line can hold at once (default 16,384); beyond that it drops, as a full queue does. */
  readonly queuePackets?: number;
}

export interface LabSpec {
  readonly name: string;
  readonly description: string;
  /** ICMP rate limits, for the whole lab or per namespace role. */
  readonly icmp: IcmpMode | { readonly router: IcmpMode; readonly targets: IcmpMode };
  /**
   * How routed addresses that are not live behave: `drop` (silent, dropped by the
   * router) or `host-unreachable` (the router answers ICMP host unreachable).
   */
  readonly nonLive: 'drop' | 'host-unreachable';
  readonly routed: {
    readonly ipv4?: string;
    readonly ipv6?: string;
    /** Further prefixes routed to the targets' segment where nothing lives (a large silent range). */
    readonly silent?: readonly string[];
    /** Number of target namespaces the routed hosts are spread over (round robin). */
    readonly namespaces: number;
    readonly hosts: readonly HostSpec[];
  };
  readonly onLink: {
    readonly ipv4?: string;
    readonly ipv6?: string;
    /** The scanner's own offset on the on-link segment (the router is always offset 1). */
    readonly scannerOffset: number;
    /** Each on-link host gets a namespace of its own. */
    readonly hosts: readonly HostSpec[];
  };
  readonly loss?: LossFault;
  readonly rate?: RateFault;
  readonly delay?: DelayFault;
  /** The ports the lab is meant to be scanned on (truth covers every port; this is the intended range). */
  readonly scanPorts: { readonly tcp: string; readonly udp: string };
}

/** A spec after validation: prefixes parsed, port lists expanded, defaults filled in. */
export interface ResolvedLab {
  readonly spec: LabSpec;
  readonly icmp: { readonly router: IcmpMode; readonly targets: IcmpMode };
  readonly routed4?: Prefix;
  readonly routed6?: Prefix;
  readonly silent: readonly Prefix[];
  readonly onLink4?: Prefix;
  readonly onLink6?: Prefix;
  readonly scanPorts: { readonly tcp: readonly number[]; readonly udp: readonly number[] };
}

export const MAX_NAMESPACES = 64;

function fail(lab: string, message: string): never {
  throw new TestnetError('ERR_TESTNET_SPEC', `lab "${lab}": ${message}`);
}

function checkPort(lab: string, where: string, port: unknown): void {
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    fail(lab, `${where}: port ${String(port)} must be an integer from 1 to 65535`);
  }
}

/** Expand "1-1024,3306,8080" into a sorted list of unique ports. */
export function parsePortList(text: string, what = 'port list'): number[] {
  const out = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) {
      throw new TestnetError('ERR_TESTNET_SPEC', `${what}: "${part}" is not a port or range; write e.g. 1-1024,3306`);
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) {
      throw new TestnetError('ERR_TESTNET_SPEC', `${what}: "${part}" must lie within 1-65535 with low <= high`);
    }
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}

function prefixOrFail(lab: string, text: string | undefined, family: 4 | 6, what: string): Prefix | undefined {
  if (text === undefined) return undefined;
  let p: Prefix;
  try {
    p = parsePrefix(text, `lab "${lab}" ${what}`);
  } catch (err) {
    throw new TestnetError('ERR_TESTNET_SPEC', (err as Error).message);
  }
  if (p.family !== family) fail(lab, `${what} "${text}" must be an IPv${family} prefix`);
  if (family === 4 && !p.text.startsWith('10.')) fail(lab, `${what} "${text}" must lie inside 10.0.0.0/8 so it exists only in the lab`);
  if (family === 6 && !p.text.startsWith('2001:db8:')) fail(lab, `${what} "${text}" must lie inside the documentation prefix 2001:db8::/32`);
  if (family === 4 && (p.length < 8 || p.length > 29)) fail(lab, `${what} "${text}" must be between /8 and /29`);
  if (family === 6 && p.length !== 64) fail(lab, `${what} "${text}" must be a /64 (hosts use the interface id as offset)`);
  return p;
}

function checkHosts(
  lab: string,
  where: string,
  hosts: readonly HostSpec[],
  p4: Prefix | undefined,
  p6: Prefix | undefined,
  reserved: Set<number>,
  allowRules: boolean,
): void {
  if (!Array.isArray(hosts)) fail(lab, `${where}.hosts must be an array`);
  const limit = p4 ? Number(prefixSize(p4)) - 1 : 0xffff;
  for (const [i, h] of hosts.entries()) {
    const at = `${where}.hosts[${i}]`;
    if (!Number.isInteger(h.offset) || h.offset < 2 || h.offset >= limit) {
      fail(lab, `${at}: offset ${String(h.offset)} must be an integer from 2 to ${limit - 1} (0, 1 and the broadcast are taken)`);
    }
    if (reserved.has(h.offset)) fail(lab, `${at}: offset ${h.offset} is used twice`);
    reserved.add(h.offset);
    const v4 = h.ipv4 ?? p4 !== undefined;
    const v6 = h.ipv6 ?? p6 !== undefined;
    if (v4 && !p4) fail(lab, `${at}: asks for IPv4 but ${where} has no IPv4 prefix`);
    if (v6 && !p6) fail(lab, `${at}: asks for IPv6 but ${where} has no IPv6 prefix`);
    if (!v4 && !v6) fail(lab, `${at}: has neither an IPv4 nor an IPv6 address`);
    const seen = new Set<string>();
    for (const s of h.services ?? fail(lab, `${at}.services is missing`)) {
      checkPort(lab, `${at} service`, s.port);
      const key = `${s.protocol}/${s.port}`;
      if (seen.has(key)) fail(lab, `${at}: ${key} is declared twice`);
      seen.add(key);
      const okKind =
        (s.protocol === 'tcp' && (s.kind === 'banner' || s.kind === 'request-reply')) ||
        (s.protocol === 'udp' && (s.kind === 'dns' || s.kind === 'udp-reply'));
      if (!okKind) fail(lab, `${at}: service kind "${String((s as { kind: unknown }).kind)}" does not exist for ${String(s.protocol)}; use banner/request-reply (tcp) or dns/udp-reply (udp)`);
      if (s.kind === 'banner' && (typeof s.banner !== 'string' || s.banner.length === 0)) fail(lab, `${at}: ${key} banner must be a non-empty string`);
      if ((s.kind === 'request-reply' || s.kind === 'udp-reply') && (typeof s.reply !== 'string' || s.reply.length === 0)) fail(lab, `${at}: ${key} reply must be a non-empty string`);
    }
    const rules = h.rules ?? [];
    if (rules.length > 0 && !allowRules) fail(lab, `${at}: on-link hosts cannot have router rules (their traffic never crosses the router)`);
    for (const r of rules) {
      checkPort(lab, `${at} rule`, r.port);
      if (r.protocol !== 'tcp' && r.protocol !== 'udp') fail(lab, `${at}: rule protocol "${String(r.protocol)}" must be tcp or udp`);
      if (r.action !== 'drop' && r.action !== 'admin-prohibited' && r.action !== 'tcp-reset') fail(lab, `${at}: rule action "${String(r.action)}" must be drop, admin-prohibited or tcp-reset`);
      if (r.action === 'tcp-reset' && r.protocol !== 'tcp') fail(lab, `${at}: tcp-reset applies to tcp ports only (udp/${r.port})`);
      const key = `${r.protocol}/${r.port}`;
      if (seen.has(key)) fail(lab, `${at}: ${key} has both a service and a rule (or two rules); keep one`);
      seen.add(key);
    }
  }
}

function checkIcmp(lab: string, mode: unknown): mode is IcmpMode {
  if (mode !== 'lifted' && mode !== 'default') fail(lab, `icmp mode "${String(mode)}" must be "lifted" or "default"`);
  return true;
}

/** Validate a spec once, up front; every later step trusts the result. */
export function resolveLabSpec(spec: LabSpec): ResolvedLab {
  const lab = typeof spec?.name === 'string' ? spec.name : '?';
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(lab)) fail(lab, 'name must be 1-32 lower-case letters, digits or dashes, starting with a letter');
  const icmp = typeof spec.icmp === 'string' ? { router: spec.icmp, targets: spec.icmp } : spec.icmp;
  if (!icmp || typeof icmp !== 'object') fail(lab, 'icmp must be "lifted", "default" or { router, targets }');
  checkIcmp(lab, icmp.router);
  checkIcmp(lab, icmp.targets);
  if (spec.nonLive !== 'drop' && spec.nonLive !== 'host-unreachable') fail(lab, `nonLive "${String(spec.nonLive)}" must be "drop" or "host-unreachable"`);

  const routed4 = prefixOrFail(lab, spec.routed?.ipv4, 4, 'routed.ipv4');
  const routed6 = prefixOrFail(lab, spec.routed?.ipv6, 6, 'routed.ipv6');
  const onLink4 = prefixOrFail(lab, spec.onLink?.ipv4, 4, 'onLink.ipv4');
  const onLink6 = prefixOrFail(lab, spec.onLink?.ipv6, 6, 'onLink.ipv6');
  if (!routed4 && !routed6) fail(lab, 'routed needs an ipv4 or an ipv6 prefix');
  if (!onLink4 && !onLink6) fail(lab, 'onLink needs an ipv4 or an ipv6 prefix (the scanner lives there)');
  if ((routed4 && !onLink4) || (routed6 && !onLink6)) fail(lab, 'each routed family needs the same family on the on-link segment (the scanner reaches targets through it)');
  const silent: Prefix[] = [];
  for (const [i, s] of (spec.routed.silent ?? []).entries()) {
    const isV6 = s.includes(':');
    const p = isV6 ? parsePrefix(s, `lab "${lab}" routed.silent[${i}]`) : prefixOrFail(lab, s, 4, `routed.silent[${i}]`)!;
    if (isV6 && !p.text.startsWith('2001:db8:')) fail(lab, `routed.silent[${i}] "${s}" must lie inside 2001:db8::/32`);
    silent.push(p);
  }
  const all = [routed4, routed6, onLink4, onLink6, ...silent].filter((p): p is Prefix => p !== undefined);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i], b = all[j];
      if (a.family !== b.family) continue;
      const shorter = a.length <= b.length ? a : b;
      const longer = shorter === a ? b : a;
      const bits = BigInt((a.family === 4 ? 32 : 128) - shorter.length);
      if (longer.network >> bits === shorter.network >> bits) fail(lab, `prefixes ${a.text} and ${b.text} overlap`);
    }
  }

  const ns = spec.routed.namespaces;
  if (!Number.isInteger(ns) || ns < 1 || ns > MAX_NAMESPACES) fail(lab, `routed.namespaces ${String(ns)} must be an integer from 1 to ${MAX_NAMESPACES}`);
  if (spec.routed.hosts.length > 0 && ns > spec.routed.hosts.length) fail(lab, `routed.namespaces (${ns}) exceeds the number of routed hosts (${spec.routed.hosts.length})`);
  if (spec.onLink.hosts.length > MAX_NAMESPACES) fail(lab, `onLink.hosts: at most ${MAX_NAMESPACES} on-link hosts (one namespace each)`);
  checkHosts(lab, 'routed', spec.routed.hosts, routed4, routed6, new Set(), true);
  const onLinkReserved = new Set<number>();
  if (!Number.isInteger(spec.onLink.scannerOffset) || spec.onLink.scannerOffset < 2) fail(lab, `onLink.scannerOffset ${String(spec.onLink.scannerOffset)} must be an integer >= 2`);
  onLinkReserved.add(spec.onLink.scannerOffset);
  if (onLink4) addressAt(onLink4, spec.onLink.scannerOffset, `lab "${lab}" onLink.scannerOffset`);
  checkHosts(lab, 'onLink', spec.onLink.hosts, onLink4, onLink6, onLinkReserved, false);

  if (spec.loss !== undefined) {
    const { percent, direction } = spec.loss;
    if (typeof percent !== 'number' || !(percent > 0 && percent < 100) || Math.round(percent * 100) !== percent * 100) {
      fail(lab, `loss.percent ${String(percent)} must be above 0 and below 100, with at most two decimals`);
    }
    if (direction !== 'both' && direction !== 'to-targets' && direction !== 'from-targets') fail(lab, `loss.direction "${String(direction)}" must be both, to-targets or from-targets`);
  }
  if (spec.rate !== undefined) {
    const { kbit, burstBytes, direction } = spec.rate;
    if (!Number.isInteger(kbit) || kbit < 8 || kbit > 100_000_000) fail(lab, `rate.kbit ${String(kbit)} must be an integer from 8 to 100000000`);
    if (burstBytes !== undefined && (!Number.isInteger(burstBytes) || burstBytes < 1600)) fail(lab, `rate.burstBytes ${String(burstBytes)} must be an integer >= 1600 (one full frame)`);
    if (direction !== 'both' && direction !== 'to-targets' && direction !== 'from-targets') fail(lab, `rate.direction "${String(direction)}" must be both, to-targets or from-targets`);
  }
  if (spec.delay !== undefined) {
    const { ms, direction, queuePackets } = spec.delay;
    if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) fail(lab, `delay.ms ${String(ms)} must be an integer from 1 to 60000`);
    if (queuePackets !== undefined && (!Number.isInteger(queuePackets) || queuePackets < 16 || queuePackets > 1_048_576)) fail(lab, `delay.queuePackets ${String(queuePackets)} must be an integer from 16 to 1048576`);
    if (direction !== 'both' && direction !== 'to-targets' && direction !== 'from-targets') fail(lab, `delay.direction "${String(direction)}" must be both, to-targets or from-targets`);
  }
  let scanPorts: ResolvedLab['scanPorts'];
  try {
    scanPorts = {
      tcp: parsePortList(spec.scanPorts.tcp, `lab "${lab}" scanPorts.tcp`),
      udp: parsePortList(spec.scanPorts.udp, `lab "${lab}" scanPorts.udp`),
    };
  } catch (err) {
    if (err instanceof TestnetError) throw err;
    fail(lab, 'scanPorts must be { tcp: "1-1024", udp: "53" }');
  }
  return { spec, icmp, routed4, routed6, silent, onLink4, onLink6, scanPorts };
}
