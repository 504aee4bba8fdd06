import { TestnetError } from './errors.js';
import type { DelayFault, HostSpec, IcmpMode, LabSpec, LossFault, PortRule, RateFault, ServiceSpec } from './spec.js';

/**
 * The named labs. Hosts are generated from small service catalogues so that
 * the standard lab looks like a small office (every host different, all of
 * them plausible) while staying identical from run to run.
 */

const tcpBanner = (port: number, banner: string): ServiceSpec => ({ protocol: 'tcp', port, kind: 'banner', banner });
const tcpReply = (port: number, reply: string): ServiceSpec => ({ protocol: 'tcp', port, kind: 'request-reply', reply });
const HTTP = 'HTTP/1.1 200 OK\r\nServer: portflow-testnet\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/** Low-port services an office host may run: banner-first ones and ones that wait for the client. */
const LOW_SERVICES: readonly ServiceSpec[] = [
  tcpBanner(21, '220 portflow-testnet FTP ready\r\n'),
  tcpBanner(22, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'),
  tcpBanner(23, '\r\nportflow-testnet login: '),
  tcpBanner(25, '220 mail.lab ESMTP portflow-testnet\r\n'),
  tcpReply(53, '\u0000\u0000'),
  tcpReply(80, HTTP),
  tcpBanner(110, '+OK portflow-testnet POP3 ready\r\n'),
  tcpReply(111, '\u0000\u0000\u0000\u0000'),
  tcpReply(135, '\u0005\u0000'),
  tcpReply(139, '\u0083\u0000\u0000\u0001\u008f'),
  tcpBanner(143, '* OK [CAPABILITY IMAP4rev1] portflow-testnet ready\r\n'),
  tcpReply(389, '0\u0084'),
  tcpReply(443, '\u0015\u0003\u0003\u0000\u0002\u0002\u0028'),
  tcpReply(445, '\u0000\u0000\u0000\u0000'),
  tcpBanner(587, '220 mail.lab ESMTP portflow-testnet\r\n'),
  tcpReply(631, HTTP),
  tcpBanner(873, '@RSYNCD: 31.0\n'),
  tcpBanner(990, '220 portflow-testnet FTPS ready\r\n'),
  tcpBanner(993, '* OK portflow-testnet IMAPS\r\n'),
  tcpBanner(995, '+OK portflow-testnet POP3S\r\n'),
];

/** High ports (beyond 1,024) the standard lab's scan range includes. */
export const STANDARD_HIGH_PORTS = [3306, 3389, 5432, 5900, 6379, 8080, 8443, 9100] as const;
const HIGH_SERVICES: readonly ServiceSpec[] = [
  tcpBanner(3306, 'J\u0000\u0000\u0000\n8.0.36-portflow-testnet\u0000'),
  tcpReply(3389, '\u0003\u0000\u0000\u0013'),
  tcpReply(5432, 'N'),
  tcpBanner(5900, 'RFB 003.008\n'),
  tcpReply(6379, '-ERR unknown command\r\n'),
  tcpReply(8080, HTTP),
  tcpReply(8443, '\u0015\u0003\u0003\u0000\u0002\u0002\u0028'),
  tcpReply(9100, '@PJL INFO STATUS\r\nCODE=10001\r\n'),
];

/** Ports the standard lab filters: no host runs a service there. */
const DROPPED_PORTS = [113, 137, 161, 179, 514, 1023] as const;
const PROHIBITED_PORTS = [119, 138, 162, 515, 548, 1022] as const;
const RESET_PORTS = [1080, 1024] as const;

function officeHost(i: number, offset: number): HostSpec {
  const services: ServiceSpec[] = [];
  // 12 of the 20 low services, a different window per host.
  for (let k = 0; k < 12; k++) services.push(LOW_SERVICES[(i * 3 + k) % LOW_SERVICES.length]);
  // 2 of the 8 high services.
  services.push(HIGH_SERVICES[i % HIGH_SERVICES.length], HIGH_SERVICES[(i + 3) % HIGH_SERVICES.length]);
  services.push({ protocol: 'udp', port: 53, kind: 'dns' });
  if (i % 4 === 0) services.push({ protocol: 'udp', port: 123, kind: 'udp-reply', reply: 'portflow-testnet ntp' });
  const rules: PortRule[] = [
    { protocol: 'tcp', port: DROPPED_PORTS[i % DROPPED_PORTS.length], action: 'drop' },
    { protocol: 'tcp', port: PROHIBITED_PORTS[i % PROHIBITED_PORTS.length], action: 'admin-prohibited' },
  ];
  if (i % 4 === 1) rules.push({ protocol: 'tcp', port: RESET_PORTS[i % RESET_PORTS.length], action: 'tcp-reset' });
  if (i % 4 === 2) rules.push({ protocol: 'udp', port: 161, action: 'drop' });
  if (i % 4 === 3) rules.push({ protocol: 'udp', port: 500, action: 'admin-prohibited' });
  return { offset, services, rules };
}

/** Offsets spread over the /24 rather than packed, as an office DHCP pool and statics would be. */
function spreadOffsets(count: number, first: number, step: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i * step);
}

const standard: LabSpec = {
  name: 'standard',
  description: 'small office: a routed /24 and /64 with 16 live dual-stack hosts (14 open TCP services each, one dropped and one admin-prohibited port, DNS on UDP 53), 3 on-link hosts',
  icmp: 'lifted',
  nonLive: 'drop',
  routed: {
    ipv4: '10.20.1.0/24',
    ipv6: '2001:db8:20:1::/64',
    namespaces: 4,
    hosts: spreadOffsets(16, 10, 13).map((offset, i) => officeHost(i, offset)),
  },
  onLink: {
    ipv4: '10.20.0.0/24',
    ipv6: '2001:db8:20::/64',
    scannerOffset: 2,
    hosts: [
      { offset: 20, services: [tcpReply(80, HTTP), tcpReply(9100, '@PJL\r\n'), tcpReply(631, HTTP)] },
      { offset: 37, services: [tcpBanner(22, 'SSH-2.0-dropbear_2022.83\r\n'), tcpReply(80, HTTP)] },
      { offset: 130, services: [tcpReply(445, '\u0000\u0000\u0000\u0000'), tcpReply(139, '\u0083\u0000\u0000\u0001\u008f')] },
    ],
  },
  scanPorts: { tcp: `1-1024,${STANDARD_HIGH_PORTS.join(',')}`, udp: '53,67,69,123,137,161,500,514,520,1900' },
};

const ipv6: LabSpec = {
  name: 'ipv6',
  description: 'IPv6 only: a routed /64 with 6 live hosts and an on-link /64 with 3 hosts for NDP discovery',
  icmp: 'lifted',
  nonLive: 'drop',
  routed: {
    ipv6: '2001:db8:60:1::/64',
    namespaces: 2,
    hosts: spreadOffsets(6, 0x10, 0x111).map((offset, i) => officeHost(i, offset)),
  },
  onLink: {
    ipv6: '2001:db8:60::/64',
    scannerOffset: 2,
    hosts: [
      { offset: 0x20, services: [tcpBanner(22, 'SSH-2.0-OpenSSH_9.2p1\r\n')] },
      { offset: 0x21, services: [tcpReply(80, HTTP)] },
      { offset: 0xbeef, services: [] },
    ],
  },
  scanPorts: { tcp: '1-1024', udp: '53,123,161' },
};

const onLink: LabSpec = {
  name: 'onlink',
  description: 'ARP and NDP discovery: a /24 and /64 on the scanner segment with 8 live hosts, a small routed /24 behind the router',
  icmp: 'lifted',
  nonLive: 'drop',
  routed: { ipv4: '10.40.1.0/24', namespaces: 1, hosts: [officeHost(0, 10)] },
  onLink: {
    ipv4: '10.40.0.0/24',
    ipv6: '2001:db8:40::/64',
    scannerOffset: 2,
    hosts: spreadOffsets(8, 5, 31).map((offset, i) => ({
      offset,
      services: i % 2 === 0 ? [tcpBanner(22, 'SSH-2.0-OpenSSH_9.2p1\r\n'), tcpReply(80, HTTP)] : [tcpReply(443, '\u0015\u0003\u0003')],
    })),
  },
  scanPorts: { tcp: '22,80,443', udp: '53' },
};

const silentRange: LabSpec = {
  name: 'silent-range',
  description: 'a routed /16 with 4 live hosts and a further silent /16: every other address is dropped by the router',
  icmp: 'lifted',
  nonLive: 'drop',
  routed: {
    ipv4: '10.50.0.0/16',
    silent: ['10.51.0.0/16'],
    namespaces: 1,
    hosts: [10, 300, 40_000, 65_000].map((offset, i) => officeHost(i, offset)),
  },
  onLink: { ipv4: '10.49.0.0/24', scannerOffset: 2, hosts: [] },
  scanPorts: { tcp: '22,80,443', udp: '53' },
};

const unreachable: LabSpec = {
  name: 'unreachable',
  description: 'a routed /24 with 4 live hosts where every other address gets ICMP host unreachable from the router',
  icmp: 'lifted',
  nonLive: 'host-unreachable',
  routed: {
    ipv4: '10.70.1.0/24',
    ipv6: '2001:db8:70:1::/64',
    namespaces: 1,
    hosts: spreadOffsets(4, 10, 50).map((offset, i) => officeHost(i, offset)),
  },
  onLink: { ipv4: '10.70.0.0/24', ipv6: '2001:db8:70::/64', scannerOffset: 2, hosts: [] },
  scanPorts: { tcp: '1-1024', udp: '53,123,161,500' },
};

const BUILTIN: Record<string, LabSpec> = {
  standard,
  ipv6,
  onlink: onLink,
  'silent-range': silentRange,
  unreachable,
};

export function labNames(): string[] {
  return Object.keys(BUILTIN);
}

/** Per-run changes to a named lab; each one is stated in the lab's truth. */
export interface LabOverrides {
  readonly icmp?: IcmpMode | { readonly router: IcmpMode; readonly targets: IcmpMode };
  readonly nonLive?: LabSpec['nonLive'];
  readonly loss?: LossFault;
  readonly rate?: RateFault;
  readonly delay?: DelayFault;
}

/** The spec of a named lab, with overrides applied (not yet validated: resolveLabSpec does that). */
export function labSpec(name: string, overrides: LabOverrides = {}): LabSpec {
  const base = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
  if (!base) {
    throw new TestnetError('ERR_TESTNET_UNKNOWN_LAB', `no lab named "${name}"; the labs are: ${labNames().join(', ')}`);
  }
  const known = new Set(['icmp', 'nonLive', 'loss', 'rate', 'delay']);
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) throw new TestnetError('ERR_TESTNET_OPTIONS', `unknown lab option "${key}"; the options are: ${[...known].join(', ')}`);
  }
  return {
    ...base,
    icmp: overrides.icmp ?? base.icmp,
    nonLive: overrides.nonLive ?? base.nonLive,
    ...(overrides.loss ? { loss: overrides.loss } : base.loss ? { loss: base.loss } : {}),
    ...(overrides.rate ? { rate: overrides.rate } : base.rate ? { rate: base.rate } : {}),
    ...(overrides.delay ? { delay: overrides.delay } : base.delay ? { delay: base.delay } : {}),
  };
}
