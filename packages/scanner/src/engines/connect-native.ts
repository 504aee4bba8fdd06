// What the native connect engine's records mean for a connect scan (records as
// native/src/connect/connect_engine.h writes them): one function from a record, read in
// place, to a state and a reason. No object per record: the outcome is one packed number.
import { constants } from 'node:os';
import { RecordKind } from '@portflow/native';
import { reasonCode, STATE_CODE } from '../results.js';

const OPEN = STATE_CODE.open;
const CLOSED = STATE_CODE.closed;
const FILTERED = STATE_CODE.filtered;
// nmap's reason words for a connect scan, plus self-connect.
const R_SYN_ACK = reasonCode('syn-ack');
const R_CONN_REFUSED = reasonCode('conn-refused');
const R_SELF_CONNECT = reasonCode('self-connect');
const R_RESET = reasonCode('reset');
const R_NO_RESPONSE = reasonCode('no-response');
const R_HOST_UNREACH = reasonCode('host-unreach');
const R_NET_UNREACH = reasonCode('net-unreach');
const R_ADMIN_PROHIBITED = reasonCode('admin-prohibited');

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** Offsets used here (docs/ARCHITECTURE.md, "Native record format"). */
const KIND = 1;
const FAMILY = 2;
const TCP_FLAGS = 49;
const ICMP_TYPE = 49;
const ICMP_CODE = 50;
const LOCAL_ERRNO = 36;

/** Packs a state and a reason code: state << 8 | reason. */
function outcome(state: number, reason: number): number {
  return (state << 8) | reason;
}
export const outcomeState = (o: number): number => o >> 8;
export const outcomeReason = (o: number): number => o & 0xff;

/** An outcome whose reason is the errno in the record (see `unknownErrno`). */
export const UNKNOWN_ERRNO = -1;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const ETIMEDOUT = constants.errno.ETIMEDOUT;

/** The errno name of a number ("EPROTO"), or "ERRNO<n>". */
export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `ERRNO${n}`;
}

/**
 * The outcome of a final record of the connect engine (TcpReply, IcmpError, NoAnswer), or
 * UNKNOWN_ERRNO for a NoAnswer carrying an errno the engine does not know (the caller reports
 * it filtered with the errno as its reason, and warns once).
 */
export function classifyConnectRecord(bytes: Uint8Array, view: DataView, off: number): number {
  switch (bytes[off + KIND]) {
    case RecordKind.TcpReply: {
      const f = bytes[off + TCP_FLAGS];
      if ((f & (SYN | ACK)) === (SYN | ACK)) return outcome(OPEN, R_SYN_ACK);
      // Our own SYN as the answer: a TCP self-connect (simultaneous open); nothing listens.
      if (f === SYN) return outcome(CLOSED, R_SELF_CONNECT);
      return outcome(CLOSED, f & ACK ? R_CONN_REFUSED : R_RESET);
    }
    case RecordKind.IcmpError: {
      const code = bytes[off + ICMP_CODE];
      const v6 = bytes[off + FAMILY] === 6 && bytes[off + ICMP_TYPE] === 1;
      // ICMP: 0 net, 1 host, 13 admin prohibited; ICMPv6: 0 no route, 3 address, 1 admin prohibited.
      if (v6) return outcome(FILTERED, code === 0 ? R_NET_UNREACH : code === 1 ? R_ADMIN_PROHIBITED : R_HOST_UNREACH);
      return outcome(FILTERED, code === 0 ? R_NET_UNREACH : code === 13 || code === 9 || code === 10 ? R_ADMIN_PROHIBITED : R_HOST_UNREACH);
    }
    case RecordKind.NoAnswer: {
      const err = view.getUint32(off + LOCAL_ERRNO, true);
      if (err === 0 || err === ETIMEDOUT) return outcome(FILTERED, R_NO_RESPONSE);
      return UNKNOWN_ERRNO;
    }
    default:
      return UNKNOWN_ERRNO;
  }
}

/** The errno of a NoAnswer record classified UNKNOWN_ERRNO. */
export function recordErrno(view: DataView, off: number): number {
  return view.getUint32(off + LOCAL_ERRNO, true);
}

/** A shortage's errno → what is short, for warnings and the fatal error. */
export function shortageWhat(code: string): { short: string; fix: string } {
  if (code === 'EMFILE' || code === 'ENFILE') return { short: 'file descriptors', fix: 'file descriptors (ulimit -n)' };
  if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') return { short: 'local ports', fix: 'local ports (net.ipv4.ip_local_port_range, TIME_WAIT sockets)' };
  return { short: 'kernel memory', fix: 'kernel memory (ENOBUFS/ENOMEM: fewer sockets in flight)' };
}
