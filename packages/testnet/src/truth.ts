import { canonicalAddress, parseAddress, prefixContains, type Prefix } from './address.js';
import { TestnetError } from './errors.js';
import type { IcmpMode, Protocol, ResolvedLab, ServiceSpec } from './spec.js';
import { topologyOf, type PlacedHost, type Topology } from './topology.js';

/**
 * Ground truth: what a correct scanner must report for any address, port and
 * protocol of a lab, and which hosts a correct discovery must find. It is
 * computed from the same resolved spec the lab is built from.
 */

export type PortState = 'open' | 'closed' | 'filtered' | 'open|filtered';

/** Reasons in nmap's vocabulary: what the scanner saw that justifies the state. */
export type Reason =
  | 'syn-ack'
  | 'reset'
  | 'udp-response'
  | 'port-unreach'
  | 'admin-prohibited'
  | 'host-unreach'
  | 'no-response';

/** Why the port behaves as it does (which part of the lab causes it). */
export type Cause =
  | 'listener'
  | 'kernel-closed'
  | 'rule-drop'
  | 'rule-admin-prohibited'
  | 'rule-tcp-reset'
  | 'non-live-dropped'
  | 'non-live-unreachable'
  | 'no-neighbour';

/** What makes an open port answer: the SYN alone, or a datagram of a given kind. */
export type Elicitor = 'connect' | 'any-datagram' | 'dns-query';

export interface PortExpectation {
  /** The port's real state. */
  readonly state: PortState;
  /** States a correct scanner may report (the real state first); wider than `state` only where ICMP rate limits or UDP's silence make the real one unknowable. */
  readonly accept: readonly PortState[];
  /** Reasons a correct scanner may give. */
  readonly reasons: readonly Reason[];
  readonly cause: Cause;
  readonly service?: {
    readonly kind: ServiceSpec['kind'];
    readonly elicitedBy: Elicitor;
    /** What a banner-first service sends on connect. */
    readonly banner?: string;
    /** What a request-reply or udp-reply service answers. */
    readonly reply?: string;
  };
}

export interface PortTruth extends PortExpectation {
  readonly address: string;
  readonly protocol: Protocol;
  readonly port: number;
}

export type HostRole = 'target' | 'on-link' | 'router';

export interface HostTruth {
  readonly address: string;
  readonly family: 4 | 6;
  readonly role: HostRole;
  /** On the scanner's own segment (found by ARP/NDP) rather than behind the router. */
  readonly onLink: boolean;
  /** Every port that is not in the host's default state, by protocol then port. */
  readonly ports: readonly PortTruth[];
  /** The state of every port not listed in `ports`. */
  readonly defaults: { readonly tcp: PortExpectation; readonly udp: PortExpectation };
}

export interface TruthJSON {
  readonly lab: string;
  readonly description: string;
  readonly icmp: { readonly router: IcmpMode; readonly targets: IcmpMode };
  readonly nonLive: ResolvedLab['spec']['nonLive'];
  readonly faults: { readonly loss?: ResolvedLab['spec']['loss']; readonly rate?: ResolvedLab['spec']['rate']; readonly delay?: ResolvedLab['spec']['delay'] };
  readonly scanner: { readonly ipv4?: string; readonly ipv6?: string };
  readonly prefixes: { readonly routed: string[]; readonly silent: string[]; readonly onLink: string[] };
  readonly scanPorts: { readonly tcp: string; readonly udp: string };
  readonly liveHosts: readonly string[];
  readonly discovery: { readonly routed: readonly string[]; readonly onLink: readonly string[] };
  readonly hosts: readonly HostTruth[];
  /** The expectation for every address of the lab's prefixes that is not a live host. */
  readonly nonLiveHosts: {
    readonly routed: { readonly tcp: PortExpectation; readonly udp: PortExpectation };
    readonly onLink: { readonly tcp: PortExpectation; readonly udp: PortExpectation };
  };
}

function withLimit(e: PortExpectation, limited: boolean, protocol: Protocol): PortExpectation {
  // Under the kernel's ICMP rate limits an ICMP answer may never come: the
  // scanner then sees silence, which for UDP reads as open|filtered.
  if (!limited) return e;
  const accept = protocol === 'udp' && !e.accept.includes('open|filtered') ? [...e.accept, 'open|filtered' as const] : e.accept;
  return { ...e, accept, reasons: [...e.reasons, 'no-response'] };
}

function serviceExpectation(s: ServiceSpec): PortExpectation {
  if (s.protocol === 'tcp') {
    return {
      state: 'open',
      accept: ['open'],
      reasons: ['syn-ack'],
      cause: 'listener',
      service: s.kind === 'banner' ? { kind: s.kind, elicitedBy: 'connect', banner: s.banner } : { kind: s.kind, elicitedBy: 'connect', reply: s.reply },
    };
  }
  return {
    state: 'open',
    accept: ['open'],
    reasons: ['udp-response'],
    cause: 'listener',
    service: s.kind === 'dns' ? { kind: s.kind, elicitedBy: 'dns-query' } : { kind: s.kind, elicitedBy: 'any-datagram', reply: s.reply },
  };
}

const TCP_CLOSED: PortExpectation = { state: 'closed', accept: ['closed'], reasons: ['reset'], cause: 'kernel-closed' };
const UDP_CLOSED: PortExpectation = { state: 'closed', accept: ['closed'], reasons: ['port-unreach'], cause: 'kernel-closed' };

export class LabTruth {
  readonly lab: ResolvedLab;
  readonly topology: Topology;
  readonly liveHosts: readonly string[];
  readonly discovery: { readonly routed: readonly string[]; readonly onLink: readonly string[] };
  private readonly hosts = new Map<string, HostTruth>();
  private readonly portIndex = new Map<string, Map<string, PortTruth>>();
  private readonly routedPrefixes: Prefix[];
  private readonly onLinkPrefixes: Prefix[];
  private readonly nonLiveRouted: { tcp: PortExpectation; udp: PortExpectation };
  private readonly nonLiveOnLink: { tcp: PortExpectation; udp: PortExpectation };

  constructor(lab: ResolvedLab) {
    this.lab = lab;
    this.topology = topologyOf(lab);
    const routerLimited = lab.icmp.router === 'default';
    const targetsLimited = lab.icmp.targets === 'default';
    this.routedPrefixes = [lab.routed4, lab.routed6, ...lab.silent].filter((p): p is Prefix => p !== undefined);
    this.onLinkPrefixes = [lab.onLink4, lab.onLink6].filter((p): p is Prefix => p !== undefined);

    if (lab.spec.nonLive === 'drop') {
      this.nonLiveRouted = {
        tcp: { state: 'filtered', accept: ['filtered'], reasons: ['no-response'], cause: 'non-live-dropped' },
        udp: { state: 'filtered', accept: ['filtered', 'open|filtered'], reasons: ['no-response'], cause: 'non-live-dropped' },
      };
    } else {
      const tcp: PortExpectation = { state: 'filtered', accept: ['filtered'], reasons: ['host-unreach'], cause: 'non-live-unreachable' };
      const udp: PortExpectation = { ...tcp, accept: ['filtered'] };
      this.nonLiveRouted = { tcp: withLimit(tcp, routerLimited, 'tcp'), udp: withLimit(udp, routerLimited, 'udp') };
    }
    // No router in between: the scanner's own kernel gives up on ARP/NDP. A
    // raw scanner sees silence, a connect() scanner gets EHOSTUNREACH locally.
    this.nonLiveOnLink = {
      tcp: { state: 'filtered', accept: ['filtered'], reasons: ['no-response', 'host-unreach'], cause: 'no-neighbour' },
      udp: { state: 'filtered', accept: ['filtered', 'open|filtered'], reasons: ['no-response', 'host-unreach'], cause: 'no-neighbour' },
    };

    const t = this.topology;
    const add = (address: string | undefined, role: HostRole, onLink: boolean, placed: PlacedHost | undefined): void => {
      if (address === undefined) return;
      const limited = role === 'router' ? routerLimited : targetsLimited;
      const defaults = { tcp: TCP_CLOSED, udp: withLimit(UDP_CLOSED, limited, 'udp') };
      const ports: PortTruth[] = [];
      if (placed) {
        for (const s of placed.spec.services) ports.push({ address, protocol: s.protocol, port: s.port, ...serviceExpectation(s) });
        for (const r of placed.spec.rules ?? []) {
          let e: PortExpectation;
          if (r.action === 'drop') {
            e = { state: 'filtered', accept: r.protocol === 'udp' ? ['filtered', 'open|filtered'] : ['filtered'], reasons: ['no-response'], cause: 'rule-drop' };
          } else if (r.action === 'tcp-reset') {
            e = { state: 'closed', accept: ['closed'], reasons: ['reset'], cause: 'rule-tcp-reset' };
          } else {
            e = withLimit({ state: 'filtered', accept: ['filtered'], reasons: ['admin-prohibited'], cause: 'rule-admin-prohibited' }, routerLimited, r.protocol);
          }
          ports.push({ address, protocol: r.protocol, port: r.port, ...e });
        }
      }
      ports.sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1));
      const family = address.includes(':') ? 6 : 4;
      this.hosts.set(address, { address, family, role, onLink, ports, defaults });
      this.portIndex.set(address, new Map(ports.map((p) => [`${p.protocol}/${p.port}`, p])));
    };
    add(t.router.routed4, 'router', false, undefined);
    add(t.router.routed6, 'router', false, undefined);
    for (const h of t.routed) {
      add(h.ipv4, 'target', false, h);
      add(h.ipv6, 'target', false, h);
    }
    add(t.router.onLink4, 'router', true, undefined);
    add(t.router.onLink6, 'router', true, undefined);
    for (const h of t.onLink) {
      add(h.ipv4, 'on-link', true, h);
      add(h.ipv6, 'on-link', true, h);
    }
    this.liveHosts = [...this.hosts.keys()];
    this.discovery = {
      routed: this.liveHosts.filter((a) => !this.hosts.get(a)!.onLink),
      onLink: this.liveHosts.filter((a) => this.hosts.get(a)!.onLink),
    };
  }

  /** The live host at `address`, or undefined when nothing answers there. */
  host(address: string): HostTruth | undefined {
    const canon = canonicalAddress(address);
    return canon === undefined ? undefined : this.hosts.get(canon);
  }

  /** Is `address` a live host a correct discovery must find? */
  isLive(address: string): boolean {
    return this.host(address) !== undefined;
  }

  /** What a correct scanner must report for one port; throws for an address outside the lab. */
  expect(address: string, protocol: Protocol, port: number): PortTruth {
    const parsed = parseAddress(address);
    if (!parsed) throw new TestnetError('ERR_TESTNET_ADDRESS', `truth: "${address}" is not an IP address`);
    if (protocol !== 'tcp' && protocol !== 'udp') throw new TestnetError('ERR_TESTNET_OPTIONS', `truth: protocol "${String(protocol)}" must be tcp or udp`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TestnetError('ERR_TESTNET_OPTIONS', `truth: port ${port} must be an integer from 1 to 65535`);
    const canon = canonicalAddress(address)!;
    const host = this.hosts.get(canon);
    if (host) {
      const listed = this.portIndex.get(canon)!.get(`${protocol}/${port}`);
      return listed ?? { address: canon, protocol, port, ...host.defaults[protocol] };
    }
    if (this.routedPrefixes.some((p) => prefixContains(p, parsed.family, parsed.value))) {
      return { address: canon, protocol, port, ...this.nonLiveRouted[protocol] };
    }
    if (this.onLinkPrefixes.some((p) => prefixContains(p, parsed.family, parsed.value))) {
      if (canon === this.topology.scanner.ipv4 || canon === this.topology.scanner.ipv6) {
        throw new TestnetError('ERR_TESTNET_ADDRESS', `truth: ${canon} is the scanner itself; the lab has no truth for it`);
      }
      return { address: canon, protocol, port, ...this.nonLiveOnLink[protocol] };
    }
    throw new TestnetError('ERR_TESTNET_ADDRESS', `truth: ${canon} lies outside lab "${this.lab.spec.name}" (${this.prefixTexts().join(', ')})`);
  }

  /** Every open port of every live host. */
  openPorts(protocol?: Protocol): PortTruth[] {
    const out: PortTruth[] = [];
    for (const h of this.hosts.values()) for (const p of h.ports) if (p.state === 'open' && (!protocol || p.protocol === protocol)) out.push(p);
    return out;
  }

  /** Every port of every live host that is not in its host's default state. */
  exceptions(): PortTruth[] {
    return [...this.hosts.values()].flatMap((h) => h.ports);
  }

  /** The expectation for each address × port of the lab's scan range (live hosts unless addresses are given). */
  *entries(protocol: Protocol, addresses: Iterable<string> = this.liveHosts): Generator<PortTruth> {
    const ports = this.lab.scanPorts[protocol];
    for (const a of addresses) for (const p of ports) yield this.expect(a, protocol, p);
  }

  private prefixTexts(): string[] {
    return [...this.routedPrefixes, ...this.onLinkPrefixes].map((p) => p.text);
  }

  toJSON(): TruthJSON {
    const spec = this.lab.spec;
    return {
      lab: spec.name,
      description: spec.description,
      icmp: this.lab.icmp,
      nonLive: spec.nonLive,
      faults: { ...(spec.loss ? { loss: spec.loss } : {}), ...(spec.rate ? { rate: spec.rate } : {}), ...(spec.delay ? { delay: spec.delay } : {}) },
      scanner: this.topology.scanner,
      prefixes: {
        routed: [this.lab.routed4, this.lab.routed6].filter((p): p is Prefix => p !== undefined).map((p) => p.text),
        silent: this.lab.silent.map((p) => p.text),
        onLink: this.onLinkPrefixes.map((p) => p.text),
      },
      scanPorts: spec.scanPorts,
      liveHosts: this.liveHosts,
      discovery: this.discovery,
      hosts: [...this.hosts.values()],
      nonLiveHosts: { routed: this.nonLiveRouted, onLink: this.nonLiveOnLink },
    };
  }
}

export function computeTruth(lab: ResolvedLab): LabTruth {
  return new LabTruth(lab);
}
