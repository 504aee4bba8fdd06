// The native record format, version 1 (see src/ring/record.h and the README):
// 64-byte little-endian records read in place from the ring's ArrayBuffer.
import { bytesToIp } from './address.js';

export const RECORD_VERSION = 1;
export const RECORD_SIZE = 64;

export const RecordKind = {
  TcpReply: 1,
  UdpReply: 2,
  IcmpError: 3,
  NeighborReply: 4,
  NoAnswer: 5,
  RetriesSent: 6,
  Counters: 7,
  IcmpReply: 8,
} as const;
export type RecordKindName = keyof typeof RecordKind;

export const RecordFlag = {
  DontFragment: 1 << 0,
  ChecksumPartial: 1 << 1,
  HasTimestamps: 1 << 2,
  HasMss: 1 << 3,
  HasWindowScale: 1 << 4,
  SackPermitted: 1 << 5,
  Ndp: 1 << 6,
  /** The record carries its probe's job position (f64 at `position`), written by producers that walk the job (the connect engine). */
  JobPosition: 1 << 7,
} as const;

/** Byte offsets within a record. */
export const RecordOffset = {
  version: 0, kind: 1, family: 2, flags: 3, port: 4, localPort: 6, timeMs: 8, addr: 16, aux: 32,
  ttl: 48, tcpFlags: 49, icmpType: 49, icmpCode: 50, windowScale: 50, proto: 51, window: 52, ipId: 54,
  mss: 56, quotedSeq: 56, echoedSend: 60,
  seq: 32, ack: 36, tsval: 40, optionSignature: 44, reporter: 32, mac: 32, count: 32, echoId: 32, echoSeq: 34,
  localErrno: 36, attempt: 36, position: 56,
  ctrSent: 16, ctrReceived: 24, ctrRetries: 32, ctrOverflow: 40, ctrParseErrors: 48, ctrKernelDrops: 56, producerId: 4,
} as const;

const KIND_NAMES: Record<number, RecordKindName> = Object.fromEntries(Object.entries(RecordKind).map(([k, v]) => [v, k as RecordKindName]));

/**
 * A record decoded into an object: for tools and tests; hot paths read fields in place.
 * Counters records carry only kind, family, flags, timeMs and `counters` (their counters
 * occupy the bytes the other kinds use for ports, TTL and the rest).
 */
export interface DecodedRecord {
  kind: RecordKindName | number;
  family: 0 | 4 | 6;
  flags: number;
  timeMs: number;
  port?: number;
  localPort?: number;
  addr?: string;
  ttl?: number;
  proto?: number;
  ipId?: number;
  echoedSend?: number;
  /** The probe's job position (records with RecordFlag.JobPosition). */
  position?: number;
  /** NoAnswer from the connect engine: the errno the connect failed with locally (0: timed out). */
  localErrno?: number;
  /** RetriesSent naming its probe: the attempt number of that resend (2 = first resend). */
  attempt?: number;
  tcp?: { flags: number; window: number; windowScale?: number; mss?: number; seq: number; ack: number; tsval?: number; optionSignature: number };
  icmp?: { type: number; code: number; reporter?: string; quotedSeq?: number; id?: number; seq?: number };
  mac?: string;
  count?: number;
  counters?: { producerId: number; sent: number; received: number; retries: number; overflow: number; parseErrors: number; kernelDrops: number };
}

function mac(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[o + i].toString(16).padStart(2, '0');
  return s;
}

/** Decodes the record at byte offset `off` (allocates; use the in-place readers on hot paths). */
export function decodeRecord(view: DataView, off: number): DecodedRecord {
  const b = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const kind = b[off + 1];
  const family = b[off + 2] as 0 | 4 | 6;
  const r: DecodedRecord = { kind: KIND_NAMES[kind] ?? kind, family, flags: b[off + 3], timeMs: view.getFloat64(off + 8, true) };
  if (kind === RecordKind.Counters) {
    r.counters = {
      producerId: view.getUint16(off + 4, true),
      sent: view.getFloat64(off + 16, true),
      received: view.getFloat64(off + 24, true),
      retries: view.getFloat64(off + 32, true),
      overflow: view.getFloat64(off + 40, true),
      parseErrors: view.getFloat64(off + 48, true),
      kernelDrops: view.getFloat64(off + 56, true),
    };
    return r;
  }
  r.port = view.getUint16(off + 4, true);
  r.localPort = view.getUint16(off + 6, true);
  if (family === 4 || family === 6) r.addr = bytesToIp(b, off + 16, family);
  r.ttl = b[off + 48];
  r.proto = b[off + 51];
  r.ipId = view.getUint16(off + 54, true);
  // With JobPosition, bytes 56-63 hold the position instead of mss / quotedSeq / echoedSend.
  const positioned = (r.flags & RecordFlag.JobPosition) !== 0;
  r.echoedSend = positioned ? 0 : view.getUint32(off + 60, true);
  if (positioned) r.position = view.getFloat64(off + 56, true);
  switch (kind) {
    case RecordKind.TcpReply: {
      const flags = r.flags;
      r.tcp = {
        flags: b[off + 49],
        window: view.getUint16(off + 52, true),
        seq: view.getUint32(off + 32, true),
        ack: view.getUint32(off + 36, true),
        optionSignature: view.getUint32(off + 44, true),
      };
      if (flags & RecordFlag.HasWindowScale) r.tcp.windowScale = b[off + 50];
      if (flags & RecordFlag.HasMss && !positioned) r.tcp.mss = view.getUint16(off + 56, true);
      if (flags & RecordFlag.HasTimestamps) r.tcp.tsval = view.getUint32(off + 40, true);
      break;
    }
    case RecordKind.IcmpError:
      r.icmp = { type: b[off + 49], code: b[off + 50] };
      if (!positioned) r.icmp.quotedSeq = view.getUint32(off + 56, true);
      if (family) r.icmp.reporter = bytesToIp(b, off + 32, family);
      break;
    case RecordKind.IcmpReply:
      r.icmp = { type: b[off + 49], code: b[off + 50], id: view.getUint16(off + 32, true), seq: view.getUint16(off + 34, true) };
      break;
    case RecordKind.NeighborReply:
      r.mac = mac(b, off + 32);
      break;
    case RecordKind.UdpReply:
      r.count = view.getUint32(off + 32, true);
      break;
    case RecordKind.NoAnswer:
      r.count = view.getUint32(off + 32, true);
      if (positioned) r.localErrno = view.getUint32(off + 36, true);
      break;
    case RecordKind.RetriesSent:
      r.count = view.getUint32(off + 32, true);
      if (family === 4 || family === 6) r.attempt = view.getUint32(off + 36, true);
      break;
  }
  return r;
}
