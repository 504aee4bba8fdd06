import { icmpSysctls } from './icmp.js';
import { labNamesFor, type LabNames } from './names.js';
import { routerRuleset } from './nft.js';
import type { ResolvedLab, ServiceSpec } from './spec.js';
import { topologyOf, type PlacedHost, type Topology } from './topology.js';

/**
 * The concrete steps that build a lab, computed without touching the system:
 * which namespaces exist, the `ip -batch` lines for each, sysctls, the
 * router's ruleset, qdiscs and the listener processes. lab.ts executes it.
 */

/** What a listener process (dist/server.js) serves inside one namespace. */
export interface ServerConfig {
  readonly namespace: string;
  readonly hosts: readonly { readonly addresses: readonly string[]; readonly services: readonly ServiceSpec[] }[];
}

export type NamespaceRole = 'scanner' | 'router' | 'target' | 'on-link';

export interface NamespacePlan {
  readonly name: string;
  readonly role: NamespaceRole;
  /** Interfaces that never get an address (bridges): bring-up does not wait for their carrier. */
  readonly layer2Only: readonly string[];
  /** Written before any interface exists, so `default.*` settings reach the interfaces created later. */
  readonly sysctls: Readonly<Record<string, string>>;
  /** Like sysctls, but the keys may not exist on this kernel (`sysctl -e`): absent means the setting is moot. */
  readonly optionalSysctls: Readonly<Record<string, string>>;
  /** Lines for `ip -n NAME -batch -`. */
  readonly ip: readonly string[];
  /** Lines for `ip -6 -n NAME -batch -` (IPv6 policy rules: a batch line cannot choose the family). */
  readonly ip6: readonly string[];
  /** Ruleset for `nft -f -` inside the namespace. */
  readonly nft?: string;
  /** Lines for `tc -n NAME -batch -`. */
  readonly tc: readonly string[];
  readonly server?: ServerConfig;
  /** The delay line program to run in this namespace (the router), started before links are awaited. */
  readonly delayLine?: DelayLineConfig;
}

export interface DelayLineConfig {
  readonly tun: string;
  readonly ms: number;
  readonly queuePackets: number;
}

export interface LabPlan {
  readonly id: string;
  readonly names: LabNames;
  readonly topology: Topology;
  readonly namespaces: readonly NamespacePlan[];
  /** Lines for `ip -batch -` in the root namespace: veth pairs created directly inside the lab's namespaces. */
  readonly veths: readonly string[];
}

const BRIDGE = 'type bridge forward_delay 0 stp_state 0 mcast_snooping 0';
const TBF_LATENCY = '50ms';
const DEFAULT_BURST = 32 * 1024;
const DEFAULT_DELAY_QUEUE = 16_384;
const ROUTER_IFINDEX = 1000;
const PEER_IFINDEX = 2000;
/** Policy routing table and rule priority that send forwarded traffic through the delay line. */
const DELAY_TABLE = 100;
const DELAY_PREF = 100;
/** The kernel queues packets for the delay line in the tun's tx queue; 500 would drop bursts. */
const DELAY_TXQUEUELEN = 16_384;

function hostAddrLines(h: PlacedHost, lab: ResolvedLab, dev: string): string[] {
  const p4 = h.kind === 'routed' ? lab.routed4 : lab.onLink4;
  const p6 = h.kind === 'routed' ? lab.routed6 : lab.onLink6;
  const out: string[] = [];
  if (h.ipv4 && p4) out.push(`addr add ${h.ipv4}/${p4.length} dev ${dev}`);
  // nodad: a tentative address cannot send, and DAD would add a second per address.
  if (h.ipv6 && p6) out.push(`addr add ${h.ipv6}/${p6.length} dev ${dev} nodad`);
  return out;
}

function serverFor(namespace: string, hosts: readonly PlacedHost[]): ServerConfig | undefined {
  const withServices = hosts.filter((h) => h.spec.services.length > 0);
  if (withServices.length === 0) return undefined;
  return {
    namespace,
    hosts: withServices.map((h) => ({
      addresses: [h.ipv4, h.ipv6].filter((a): a is string => a !== undefined),
      services: h.spec.services,
    })),
  };
}

export function planLab(lab: ResolvedLab, pid: number, seq: number): LabPlan {
  const t = topologyOf(lab);
  const nsCount = lab.spec.routed.namespaces;
  const names = labNamesFor(pid, seq, nsCount, t.onLink.length);
  const ifs = names.ifaces;
  const common = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' };
  const targetIcmp = icmpSysctls(lab.icmp.targets);
  const defaults4 = (via: string | undefined): string[] => (via ? [`route add default via ${via}`] : []);
  const defaults6 = (via: string | undefined): string[] => (via ? [`route add ::/0 via ${via}`] : []);

  const scanner: NamespacePlan = {
    name: names.scanner,
    role: 'scanner',
    sysctls: { ...common, ...targetIcmp },
    ip: [
      'link set lo up',
      ...(t.scanner.ipv4 ? [`addr add ${t.scanner.ipv4}/${lab.onLink4!.length} dev ${ifs.scanner}`] : []),
      ...(t.scanner.ipv6 ? [`addr add ${t.scanner.ipv6}/${lab.onLink6!.length} dev ${ifs.scanner} nodad`] : []),
      `link set ${ifs.scanner} up`,
      ...defaults4(t.router.onLink4),
      ...defaults6(t.router.onLink6),
    ],
    ip6: [],
    optionalSysctls: {},
    layer2Only: [],
    tc: [],
  };

  const rate = lab.spec.rate;
  const tc: string[] = [];
  if (rate) {
    const burst = rate.burstBytes ?? DEFAULT_BURST;
    // tbf on the router port that packets leave by: the target side shapes
    // what goes to the targets, the on-link side what comes back to the scanner.
    const devs = rate.direction === 'to-targets' ? [ifs.routerTargets] : rate.direction === 'from-targets' ? [ifs.routerOnLink] : [ifs.routerTargets, ifs.routerOnLink];
    for (const dev of devs) tc.push(`qdisc add dev ${dev} root tbf rate ${rate.kbit}kbit burst ${burst} latency ${TBF_LATENCY}`);
  }
  const delay = lab.spec.delay;
  const delayIp: string[] = [];
  const delayIp6: string[] = [];
  if (delay) {
    // Forwarded packets entering from the chosen side are routed into the tun
    // (table 100); the delay line writes them back into it, and coming in on
    // the tun they take the main table to their real next hop. The local table
    // is consulted first, so the router's own addresses are never delayed.
    const tun = ifs.delayTun;
    const sides = delay.direction === 'to-targets' ? [ifs.routerOnLink] : delay.direction === 'from-targets' ? [ifs.routerTargets] : [ifs.routerOnLink, ifs.routerTargets];
    delayIp.push(`tuntap add dev ${tun} mode tun`, `link set ${tun} txqueuelen ${DELAY_TXQUEUELEN}`, `link set ${tun} up`);
    if (lab.onLink4) delayIp.push(`route add default dev ${tun} table ${DELAY_TABLE}`, ...sides.map((d, i) => `rule add iif ${d} lookup ${DELAY_TABLE} pref ${DELAY_PREF + i}`));
    if (lab.onLink6) {
      delayIp.push(`route add ::/0 dev ${tun} table ${DELAY_TABLE}`);
      delayIp6.push(...sides.map((d, i) => `rule add iif ${d} lookup ${DELAY_TABLE} pref ${DELAY_PREF + i}`));
    }
  }
  const router: NamespacePlan = {
    name: names.router,
    role: 'router',
    sysctls: {
      ...common,
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
      ...icmpSysctls(lab.icmp.router),
    },
    ip: [
      'link set lo up',
      `link add name ${ifs.onLinkBridge} ${BRIDGE}`,
      `link add name ${ifs.targetBridge} ${BRIDGE}`,
      `link add name ${ifs.routerOnLink} type veth peer name ${ifs.routerOnLinkPort}`,
      `link add name ${ifs.routerTargets} type veth peer name ${ifs.routerTargetsPort}`,
      ...[ifs.routerToScanner, ifs.routerOnLinkPort, ...ifs.routerToOnLink].flatMap((d) => [`link set ${d} master ${ifs.onLinkBridge}`, `link set ${d} up`]),
      ...[ifs.routerTargetsPort, ...ifs.routerToTarget].flatMap((d) => [`link set ${d} master ${ifs.targetBridge}`, `link set ${d} up`]),
      ...(t.router.onLink4 ? [`addr add ${t.router.onLink4}/${lab.onLink4!.length} dev ${ifs.routerOnLink}`] : []),
      ...(t.router.onLink6 ? [`addr add ${t.router.onLink6}/${lab.onLink6!.length} dev ${ifs.routerOnLink} nodad`] : []),
      ...(t.router.routed4 ? [`addr add ${t.router.routed4}/${lab.routed4!.length} dev ${ifs.routerTargets}`] : []),
      ...(t.router.routed6 ? [`addr add ${t.router.routed6}/${lab.routed6!.length} dev ${ifs.routerTargets} nodad`] : []),
      `link set ${ifs.onLinkBridge} up`,
      `link set ${ifs.targetBridge} up`,
      `link set ${ifs.routerOnLink} up`,
      `link set ${ifs.routerTargets} up`,
      // Silent prefixes need a route, or the router answers "net unreachable"
      // before the forward hook (where nftables drops them) is ever reached.
      ...lab.silent.map((p) => `route add ${p.text} dev ${ifs.routerTargets}`),
      ...delayIp,
    ],
    ip6: delayIp6,
    // With br_netfilter loaded (it is on these machines), frames the bridges
    // switch between their ports would also cross the IP hooks, and the
    // router's forward rules would judge traffic that is merely bridged.
    optionalSysctls: {
      'net.bridge.bridge-nf-call-iptables': '0',
      'net.bridge.bridge-nf-call-ip6tables': '0',
      'net.bridge.bridge-nf-call-arptables': '0',
    },
    layer2Only: [ifs.onLinkBridge, ifs.targetBridge],
    nft: routerRuleset(t, { onLink: ifs.routerOnLink, targets: ifs.routerTargets, bridges: [ifs.onLinkBridge, ifs.targetBridge] }),
    tc,
    ...(delay ? { delayLine: { tun: ifs.delayTun, ms: delay.ms, queuePackets: delay.queuePackets ?? DEFAULT_DELAY_QUEUE } } : {}),
  };

  const targetSysctls = { ...common, ...targetIcmp, 'net.core.somaxconn': '4096', 'net.ipv4.tcp_max_syn_backlog': '4096' };
  const targets: NamespacePlan[] = names.targets.map((name, i) => {
    const hosts = t.routed.filter((h) => h.namespaceIndex === i);
    const dev = ifs.target[i];
    const server = serverFor(name, hosts);
    return {
      name,
      role: 'target',
      sysctls: targetSysctls,
      ip: ['link set lo up', ...hosts.flatMap((h) => hostAddrLines(h, lab, dev)), `link set ${dev} up`, ...defaults4(t.router.routed4), ...defaults6(t.router.routed6)],
      ip6: [],
      optionalSysctls: {},
      layer2Only: [],
      tc: [],
      ...(server ? { server } : {}),
    };
  });
  const onLinks: NamespacePlan[] = names.onLink.map((name, i) => {
    const h = t.onLink[i];
    const dev = ifs.onLink[i];
    const server = serverFor(name, [h]);
    return {
      name,
      role: 'on-link',
      sysctls: targetSysctls,
      ip: [
        'link set lo up',
        ...hostAddrLines(h, lab, dev),
        `link set ${dev} up`,
        ...(h.ipv4 ? defaults4(t.router.onLink4) : []),
        ...(h.ipv6 ? defaults6(t.router.onLink6) : []),
      ],
      ip6: [],
      optionalSysctls: {},
      layer2Only: [],
      tc: [],
      ...(server ? { server } : {}),
    };
  });

  // Explicit, distinct ifindexes on the two ends: a veth whose index equals its
  // peer's (both would be 2 in fresh namespaces) is not "urgent" to the
  // kernel's link watch, so its carrier would show up to a second late.
  const pairs: [string, string, string, string][] = [
    [ifs.routerToScanner, names.router, ifs.scanner, names.scanner],
    ...names.targets.map((ns, i): [string, string, string, string] => [ifs.routerToTarget[i], names.router, ifs.target[i], ns]),
    ...names.onLink.map((ns, i): [string, string, string, string] => [ifs.routerToOnLink[i], names.router, ifs.onLink[i], ns]),
  ];
  const veths = pairs.map(
    ([a, nsA, b, nsB], k) => `link add name ${a} index ${ROUTER_IFINDEX + k} netns ${nsA} type veth peer name ${b} index ${PEER_IFINDEX + k} netns ${nsB}`,
  );
  return { id: names.id, names, topology: t, namespaces: [scanner, router, ...targets, ...onLinks], veths };
}
