// Where replies are classified (docs/ARCHITECTURE.md): a probe engine record
// (native record format v1), read in place, becomes a port state and a reason
// in nmap's words. The native side only matches replies to probes; what they
// mean is decided here, for the SYN and UDP scans alike.
//
// SYN scan: SYN-ACK → open (syn-ack); RST → closed (reset); ICMP unreachable
// codes 0, 1, 2, 3, 9, 10, 13 (and ICMPv6 destination unreachable) → filtered
// with the code's name; no answer after the last retry → filtered
// (no-response). UDP scan: a UDP reply → open (udp-response); ICMP port
// unreachable → closed (port-unreach); any other unreachable → filtered;
// no answer → open|filtered (no-response).
import { RecordKind, RecordOffset } from '@portflow/native';
import { reasonCode, STATE_CODE } from '../results.js';

export const OPEN = STATE_CODE.open;
export const CLOSED = STATE_CODE.closed;
export const FILTERED = STATE_CODE.filtered;
export const OPEN_FILTERED = STATE_CODE['open-filtered'];

export const R_SYN_ACK = reasonCode('syn-ack');
export const R_RESET = reasonCode('reset');
export const R_UDP_RESPONSE = reasonCode('udp-response');
export const R_PORT_UNREACH = reasonCode('port-unreach');
export const R_NO_RESPONSE = reasonCode('no-response');
export const R_NET_UNREACH = reasonCode('net-unreach');
export const R_HOST_UNREACH = reasonCode('host-unreach');
export const R_PROTO_UNREACH = reasonCode('proto-unreach');
export const R_NET_PROHIBITED = reasonCode('net-prohibited');
export const R_HOST_PROHIBITED = reasonCode('host-prohibited');
export const R_ADMIN_PROHIBITED = reasonCode('admin-prohibited');
export const R_TIME_EXCEEDED = reasonCode('time-exceeded');
export const R_BEYOND_SCOPE = reasonCode('beyond-scope');
export const R_ICMP_UNKNOWN = reasonCode('icmp-unknown');
export const R_SPLIT_HANDSHAKE = reasonCode('split-handshake-syn');
export const R_UNKNOWN_RESPONSE = reasonCode('unknown-response');

const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;
const PROTO_UDP = 17;

/** Packed outcome: state | reason << 8; IGNORE for a record that decides nothing. */
export const IGNORE = -1;
const pack = (state: number, reason: number) => state | (reason << 8);
export const outcomeState = (o: number) => o & 0xff;
export const outcomeReason = (o: number) => o >>> 8;

/**
 * ICMPv4 destination unreachable (type 3) codes → reason (RFC 792, RFC 1122 §3.2.2.1, RFC
 * 1812 §5.2.7.1: 9/10 network/host administratively prohibited, 13 communication
 * administratively prohibited). Codes not listed are reported as icmp-unknown, filtered.
 */
const V4_UNREACH: Record<number, number> = {
  0: R_NET_UNREACH,
  1: R_HOST_UNREACH,
  2: R_PROTO_UNREACH,
  3: R_PORT_UNREACH,
  9: R_NET_PROHIBITED,
  10: R_HOST_PROHIBITED,
  13: R_ADMIN_PROHIBITED,
};
/** ICMPv6 destination unreachable (type 1) codes (RFC 4443 §3.1). */
const V6_UNREACH: Record<number, number> = {
  0: R_NET_UNREACH, // no route to destination
  1: R_ADMIN_PROHIBITED,
  2: R_BEYOND_SCOPE,
  3: R_HOST_UNREACH, // address unreachable
  4: R_PORT_UNREACH,
  5: R_ADMIN_PROHIBITED, // source address failed ingress/egress policy
  6: R_ADMIN_PROHIBITED, // reject route to destination
};

/** The reason of an ICMP error (type, code) of a family; R_ICMP_UNKNOWN when it is no unreachable. */
export function icmpReason(family: number, type: number, code: number): number {
  if (family === 6) {
    if (type === 1) return V6_UNREACH[code] ?? R_ICMP_UNKNOWN;
    if (type === 3) return R_TIME_EXCEEDED;
    return R_ICMP_UNKNOWN;
  }
  if (type === 3) return V4_UNREACH[code] ?? R_ICMP_UNKNOWN;
  if (type === 11) return R_TIME_EXCEEDED;
  return R_ICMP_UNKNOWN;
}

/** A reply record of a SYN scan → packed outcome (or IGNORE). */
export function classifySynReply(b: Uint8Array, off: number): number {
  const kind = b[off + RecordOffset.kind];
  if (kind === RecordKind.TcpReply) {
    const f = b[off + RecordOffset.tcpFlags];
    if (f & TCP_RST) return pack(CLOSED, R_RESET);
    if ((f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) return pack(OPEN, R_SYN_ACK);
    // A bare SYN (split handshake, simultaneous open): something listens, as nmap says.
    if (f & TCP_SYN) return pack(OPEN, R_SPLIT_HANDSHAKE);
    // Any other reply the engine matched to our probe still ends it (its position must be
    // final), as nmap's "unknown response": filtered.
    return pack(FILTERED, R_UNKNOWN_RESPONSE);
  }
  if (kind === RecordKind.IcmpError) {
    // Every ICMP error about a SYN means filtered (nmap: port unreachable to a TCP probe too).
    return pack(FILTERED, icmpReason(b[off + RecordOffset.family], b[off + RecordOffset.icmpType], b[off + RecordOffset.icmpCode]));
  }
  return IGNORE;
}

/** A reply record of a UDP scan → packed outcome (or IGNORE). */
export function classifyUdpReply(b: Uint8Array, off: number): number {
  const kind = b[off + RecordOffset.kind];
  if (kind === RecordKind.UdpReply) return pack(OPEN, R_UDP_RESPONSE);
  if (kind === RecordKind.IcmpError) {
    const reason = icmpReason(b[off + RecordOffset.family], b[off + RecordOffset.icmpType], b[off + RecordOffset.icmpCode]);
    return pack(reason === R_PORT_UNREACH ? CLOSED : FILTERED, reason);
  }
  // A TCP reply to a UDP probe cannot match a cookie; anything else decides nothing.
  return IGNORE;
}

/** A NoAnswer record (the probe's last retry timed out). */
export function classifyNoAnswer(b: Uint8Array, off: number): number {
  return b[off + RecordOffset.proto] === PROTO_UDP ? pack(OPEN_FILTERED, R_NO_RESPONSE) : pack(FILTERED, R_NO_RESPONSE);
}
