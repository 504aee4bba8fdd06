/**
 * Just enough DNS for a lab responder and for probes: parse a query's header
 * and first question, build an answer. Every read is bounds-checked, since a
 * scanner may send anything to port 53.
 */

export interface DnsQuestion {
  readonly id: number;
  readonly opcode: number;
  readonly rd: boolean;
  /** Byte offset just past the first question, or -1 when there is none or it is malformed. */
  readonly questionEnd: number;
  readonly qtype: number;
  readonly qclass: number;
}

const HEADER = 12;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_NOTIMP = 4;

/** undefined: not a DNS query at all (too short, or a response); answer nothing. */
export function parseDnsQuery(msg: Buffer): DnsQuestion | undefined {
  if (msg.length < HEADER) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined;
  const id = msg.readUInt16BE(0);
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  const qdcount = msg.readUInt16BE(4);
  if (qdcount === 0) return { id, opcode, rd, questionEnd: -1, qtype: 0, qclass: 0 };
  let off = HEADER;
  for (let labels = 0; ; labels++) {
    if (off >= msg.length || labels > 127) return { id, opcode, rd, questionEnd: -1, qtype: 0, qclass: 0 };
    const len = msg[off];
    if (len === 0) { off += 1; break; }
    if (len > 63) return { id, opcode, rd, questionEnd: -1, qtype: 0, qclass: 0 };
    off += 1 + len;
  }
  if (off + 4 > msg.length) return { id, opcode, rd, questionEnd: -1, qtype: 0, qclass: 0 };
  return { id, opcode, rd, questionEnd: off + 4, qtype: msg.readUInt16BE(off), qclass: msg.readUInt16BE(off + 2) };
}

/** The answer a lab DNS server gives: its own address for A/AAAA IN queries, NOERROR/empty otherwise. */
export function buildDnsResponse(msg: Buffer, q: DnsQuestion, ipv4: Buffer | undefined, ipv6: Buffer | undefined): Buffer {
  let rcode = 0;
  if (q.opcode !== 0) rcode = RCODE_NOTIMP;
  else if (q.questionEnd < 0) rcode = RCODE_FORMERR;
  const question = rcode === 0 ? msg.subarray(HEADER, q.questionEnd) : Buffer.alloc(0);
  const rdata = rcode === 0 && q.qclass === CLASS_IN ? (q.qtype === TYPE_A ? ipv4 : q.qtype === TYPE_AAAA ? ipv6 : undefined) : undefined;
  const out = Buffer.alloc(HEADER + question.length + (rdata ? 12 + rdata.length : 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(0x8000 | (q.opcode << 11) | 0x0400 | (q.rd ? 0x0100 : 0) | rcode, 2);
  out.writeUInt16BE(rcode === 0 ? 1 : 0, 4);
  out.writeUInt16BE(rdata ? 1 : 0, 6);
  question.copy(out, HEADER);
  if (rdata) {
    let o = HEADER + question.length;
    out.writeUInt16BE(0xc00c, o); // name: pointer to the question's
    out.writeUInt16BE(q.qtype, o + 2);
    out.writeUInt16BE(CLASS_IN, o + 4);
    out.writeUInt32BE(60, o + 6);
    out.writeUInt16BE(rdata.length, o + 10);
    rdata.copy(out, o + 12);
    o += 12 + rdata.length;
  }
  return out;
}

/** A standard recursive query for `name`, for probes. */
export function buildDnsQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const out = Buffer.alloc(HEADER + qname.length + 4);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(0x0100, 2);
  out.writeUInt16BE(1, 4);
  qname.copy(out, HEADER);
  out.writeUInt16BE(qtype, HEADER + qname.length);
  out.writeUInt16BE(CLASS_IN, HEADER + qname.length + 2);
  return out;
}
