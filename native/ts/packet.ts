// Packet builders and the parser, for tests and tools. Each call crosses into
// native code once; nothing here runs per packet on a scan's hot path (the sender
// patches templates natively).
import { ipToBytes, macToBytes } from './address.js';
import { getBinding } from './binding.js';
import { NativeError, PacketOptionError, PacketParseError } from './errors.js';

export interface LinkOptions {
  /** Both MACs: an Ethernet frame. Neither: a raw IP packet (for a raw socket). */
  srcMac?: string;
  dstMac?: string;
}

export interface IpOptions extends LinkOptions {
  src: string;
  dst: string;
  /** TTL / hop limit; default 64. */
  ttl?: number;
  /** IPv4 identification; default 0. */
  ipId?: number;
  /** IPv4 DF bit; default true. */
  dontFragment?: boolean;
  /** IPv4 TOS / IPv6 traffic class; default 0. */
  tos?: number;
  /** IPv6 flow label (20 bits); default 0. */
  flowLabel?: number;
}

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export interface TcpOptions extends IpOptions {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** Bitwise OR of TcpFlags; default SYN. */
  flags?: number;
  window?: number;
  mss?: number;
  sackPermitted?: boolean;
  timestamps?: boolean;
  tsval?: number;
  tsecr?: number;
  /** 0..14; omitted: no window-scale option. */
  windowScale?: number;
}

/** A SYN as Linux sends it: MSS, SACK-permitted, timestamps (TSval = send clock), NOP, window scale 7. */
export type SynOptions = Omit<TcpOptions, 'flags' | 'ack'>;
export type AckOptions = Omit<TcpOptions, 'flags'> & { ack: number };

export interface UdpOptions extends IpOptions {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

export interface IcmpEchoOptions extends IpOptions {
  id?: number;
  seq?: number;
  payload?: Uint8Array;
}

export interface IcmpTimestampOptions extends IpOptions {
  id?: number;
  seq?: number;
  /** ms since midnight UT; default now. */
  originate?: number;
}

export interface ArpRequestOptions {
  srcMac: string;
  senderIp: string;
  targetIp: string;
}

export interface NdpSolicitOptions {
  srcMac: string;
  /** Usually the interface's link-local address. */
  src: string;
  target: string;
}

function checkInt(field: string, v: unknown, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new PacketOptionError(field, `${field}: ${String(v)} must be an integer from 0 to ${max}`);
  }
}

function checkBool(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw new PacketOptionError(field, `${field}: ${String(v)} must be true or false`);
}

function ipFields(o: IpOptions): Record<string, unknown> {
  if (o === null || typeof o !== 'object') throw new PacketOptionError('options', 'options: expected an object');
  const src = ipToBytes('src', o.src);
  const dst = ipToBytes('dst', o.dst);
  if (src.length !== dst.length) throw new PacketOptionError('dst', `dst: ${o.dst} and src ${o.src} are of different address families`);
  if ((o.srcMac === undefined) !== (o.dstMac === undefined)) {
    const missing = o.srcMac === undefined ? 'srcMac' : 'dstMac';
    throw new PacketOptionError(missing, `${missing}: give both srcMac and dstMac for an Ethernet frame, or neither for a raw IP packet`);
  }
  checkInt('ttl', o.ttl, 255);
  checkInt('ipId', o.ipId, 0xffff);
  checkInt('tos', o.tos, 255);
  checkInt('flowLabel', o.flowLabel, 0xfffff);
  checkBool('dontFragment', o.dontFragment);
  return {
    src,
    dst,
    srcMac: o.srcMac === undefined ? undefined : macToBytes('srcMac', o.srcMac),
    dstMac: o.dstMac === undefined ? undefined : macToBytes('dstMac', o.dstMac),
    ttl: o.ttl,
    ipId: o.ipId,
    dontFragment: o.dontFragment,
    tos: o.tos,
    flowLabel: o.flowLabel,
  };
}

function payloadOf(field: string, p: unknown): Buffer | undefined {
  if (p === undefined) return undefined;
  if (!(p instanceof Uint8Array)) throw new PacketOptionError(field, `${field}: expected a Buffer or Uint8Array`);
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NativeError) throw err;
    // The native side names the field in "buildX: field ..." messages.
    const msg = err instanceof Error ? err.message : String(err);
    const field = /^\w+: (\w+)/.exec(msg)?.[1] ?? 'options';
    throw new PacketOptionError(field, msg);
  }
}

/** Any TCP segment. */
export function buildTcp(o: TcpOptions): Buffer {
  const base = ipFields(o);
  checkInt('srcPort', o.srcPort, 0xffff);
  checkInt('dstPort', o.dstPort, 0xffff);
  if (o.srcPort === undefined || o.dstPort === undefined) throw new PacketOptionError('dstPort', 'srcPort and dstPort are required');
  for (const f of ['seq', 'ack', 'tsval', 'tsecr'] as const) checkInt(f, o[f], 0xffffffff);
  checkInt('flags', o.flags, 255);
  checkInt('window', o.window, 0xffff);
  checkInt('mss', o.mss, 0xffff);
  checkInt('windowScale', o.windowScale, 14);
  checkBool('sackPermitted', o.sackPermitted);
  checkBool('timestamps', o.timestamps);
  return callNative(() =>
    getBinding().buildTcp({
      ...base,
      srcPort: o.srcPort,
      dstPort: o.dstPort,
      seq: o.seq,
      ack: o.ack,
      flags: o.flags,
      window: o.window,
      mss: o.mss,
      sackPermitted: o.sackPermitted,
      timestamps: o.timestamps,
      tsval: o.tsval,
      tsecr: o.tsecr,
      windowScale: o.windowScale,
    }),
  );
}

/** A SYN probe with the options a Linux stack sends; TSval defaults to sendClock() for stateless RTT. */
export function buildSyn(o: SynOptions): Buffer {
  const v6 = typeof o?.src === 'string' && o.src.includes(':');
  return buildTcp({
    window: 64240,
    mss: v6 ? 1440 : 1460,
    sackPermitted: true,
    timestamps: true,
    windowScale: 7,
    ...o,
    tsval: o?.tsval ?? sendClock(),
    flags: TcpFlags.SYN,
  });
}

/** A bare ACK (timestamps only if asked). */
export function buildAck(o: AckOptions): Buffer {
  return buildTcp({ ...o, flags: TcpFlags.ACK });
}

export function buildUdp(o: UdpOptions): Buffer {
  const base = ipFields(o);
  checkInt('srcPort', o.srcPort, 0xffff);
  checkInt('dstPort', o.dstPort, 0xffff);
  if (o.srcPort === undefined || o.dstPort === undefined) throw new PacketOptionError('dstPort', 'srcPort and dstPort are required');
  return callNative(() => getBinding().buildUdp({ ...base, srcPort: o.srcPort, dstPort: o.dstPort, payload: payloadOf('payload', o.payload) }));
}

/** ICMP echo request (IPv4) or ICMPv6 echo request (IPv6), by the addresses' family. */
export function buildIcmpEcho(o: IcmpEchoOptions): Buffer {
  const base = ipFields(o);
  checkInt('id', o.id, 0xffff);
  checkInt('seq', o.seq, 0xffff);
  return callNative(() => getBinding().buildIcmpEcho({ ...base, id: o.id, seq: o.seq, payload: payloadOf('payload', o.payload) }));
}

/** ICMP timestamp request (IPv4 only). */
export function buildIcmpTimestamp(o: IcmpTimestampOptions): Buffer {
  const base = ipFields(o);
  if ((base.src as Buffer).length !== 4) throw new PacketOptionError('src', `src: ICMP timestamp requests exist only for IPv4, got ${o.src}`);
  checkInt('id', o.id, 0xffff);
  checkInt('seq', o.seq, 0xffff);
  checkInt('originate', o.originate, 86_399_999);
  const originate = o.originate ?? Date.now() % 86_400_000;
  return callNative(() => getBinding().buildIcmpTimestamp({ ...base, id: o.id, seq: o.seq, originate }));
}

/** Broadcast ARP who-has for targetIp (an Ethernet frame). */
export function buildArpRequest(o: ArpRequestOptions): Buffer {
  const srcMac = macToBytes('srcMac', o?.srcMac);
  const senderIp = ipToBytes('senderIp', o.senderIp);
  const targetIp = ipToBytes('targetIp', o.targetIp);
  if (senderIp.length !== 4 || targetIp.length !== 4) throw new PacketOptionError('targetIp', 'targetIp: ARP resolves IPv4 addresses; use buildNdpSolicit for IPv6');
  return callNative(() => getBinding().buildArpRequest({ srcMac, senderIp, targetIp }));
}

/** ICMPv6 neighbour solicitation for target, to its solicited-node multicast group (an Ethernet frame). */
export function buildNdpSolicit(o: NdpSolicitOptions): Buffer {
  const srcMac = macToBytes('srcMac', o?.srcMac);
  const src = ipToBytes('src', o.src);
  const target = ipToBytes('target', o.target);
  if (src.length !== 16 || target.length !== 16) throw new PacketOptionError('target', 'target: neighbour solicitation is IPv6; use buildArpRequest for IPv4');
  return callNative(() => getBinding().buildNdpSolicit({ srcMac, src, target }));
}

/** The TCP timestamp clock: wall-clock microseconds modulo 2^32 (what buildSyn puts in TSval). */
export function sendClock(): number {
  return getBinding().sendClock();
}

/** Round-trip time in µs from a TSecr echoed by a SYN-ACK and the send clock now. */
export function rttMicros(tsecr: number, now: number = sendClock()): number {
  return (now - tsecr) >>> 0;
}

export type ChecksumStatus = 'ok' | 'bad' | 'partial' | 'absent' | 'not-checked';

export interface ParsedPacket {
  link: { ethertype: number; src?: string; dst?: string; vlan?: number };
  arp?: { op: 'request' | 'reply' | number; senderMac: string; senderIp: string; targetMac: string; targetIp: string };
  ip?: {
    version: 4 | 6;
    src: string;
    dst: string;
    ttl: number;
    tos: number;
    ipId: number;
    dontFragment: boolean;
    fragment: boolean;
    protocol: number;
    length: number;
    flowLabel?: number;
    extensionHeaders?: number;
    checksum: ChecksumStatus;
  };
  tcp?: {
    srcPort: number;
    dstPort: number;
    seq: number;
    ack: number;
    flags: number;
    /** Set flags as letters in bit order: F S R P A U E C. */
    flagNames: string;
    window: number;
    urgent: number;
    /** Option kinds in wire order (0 EOL, 1 NOP, 2 MSS, 3 WS, 4 SACK-permitted, 8 timestamps, …). */
    options: number[];
    optionsMalformed: boolean;
    /** Option layout packed 4 bits per option (kind+1), first option lowest: the record format's signature. */
    optionSignature: number;
    mss?: number;
    windowScale?: number;
    sackPermitted: boolean;
    tsval?: number;
    tsecr?: number;
    checksum: ChecksumStatus;
  };
  udp?: { srcPort: number; dstPort: number; length: number; checksum: ChecksumStatus };
  icmp?: {
    version: 4 | 6;
    type: number;
    code: number;
    /** What an error says about the probe: 'port-unreachable' (closed UDP port), 'admin-prohibited' (filtered), … */
    meaning: string;
    checksum: ChecksumStatus;
    id?: number;
    seq?: number;
    mtu?: number;
    originate?: number;
    receive?: number;
    transmit?: number;
    quoted?: {
      version: 4 | 6;
      src: string;
      dst: string;
      protocol: number;
      ttl: number;
      ipId?: number;
      srcPort?: number;
      dstPort?: number;
      seq?: number;
      echoId?: number;
      echoSeq?: number;
    };
  };
  ndp?: { type: 'solicitation' | 'advertisement'; target: string; mac?: string; router?: boolean; solicited?: boolean; override?: boolean };
  payload: { offset: number; length: number };
}

export type LinkTypeName = 'ethernet' | 'sll' | 'sll2' | 'raw';
const LINK_TYPES: Record<LinkTypeName, number> = { ethernet: 1, sll: 113, sll2: 276, raw: 101 };

export interface ParseOptions {
  /** A name or a pcap DLT number (1, 113, 276, 101, 228, 229); default 'ethernet'. */
  linkType?: LinkTypeName | number;
  /** The capture flagged the L4 checksum as not yet computed (TP_STATUS_CSUMNOTREADY, lo and veth). */
  checksumNotReady?: boolean;
}

const ERROR_CODES = { truncated: 'ERR_PACKET_TRUNCATED', malformed: 'ERR_PACKET_MALFORMED', unsupported: 'ERR_PACKET_UNSUPPORTED' } as const;
const FIXES = {
  truncated: 'capture with a larger snaplen or check the frame was not cut',
  malformed: 'the frame is not valid on the wire; check the link type and the source',
  unsupported: 'only IPv4, IPv6 and ARP over Ethernet/SLL/raw links are decoded',
} as const;

/** Decodes one frame. Throws PacketParseError (with `.partial`) if a layer is cut short or malformed. */
export function parse(frame: Uint8Array, options: ParseOptions = {}): ParsedPacket {
  if (!(frame instanceof Uint8Array)) throw new PacketOptionError('frame', 'frame: expected a Buffer or Uint8Array');
  const lt = options.linkType ?? 'ethernet';
  const dlt = typeof lt === 'number' ? lt : LINK_TYPES[lt];
  if (dlt === undefined) throw new PacketOptionError('linkType', `linkType: "${String(lt)}" is not one of ethernet, sll, sll2, raw or a DLT number`);
  const r = callNative(() => getBinding().parse(frame, dlt, options.checksumNotReady === true));
  const error = r.error as { kind: keyof typeof ERROR_CODES; layer: string; offset: number } | undefined;
  if (error) {
    delete r.error;
    throw new PacketParseError(
      ERROR_CODES[error.kind],
      error.layer,
      error.offset,
      `packet ${error.kind} at its ${error.layer} layer (byte ${error.offset} of ${frame.length}): ${FIXES[error.kind]}`,
      r,
    );
  }
  return r as unknown as ParsedPacket;
}
