import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildDnsQuery, buildDnsResponse, parseDnsQuery, TYPE_A, TYPE_AAAA } from '../src/dns.js';

const V4 = Buffer.from([10, 20, 1, 10]);
const V6 = Buffer.alloc(16, 1);

describe('lab DNS responder', () => {
  it('answers an A query with the host address', () => {
    const q = buildDnsQuery(0x1234, 'lab.portflow.test', TYPE_A);
    const parsed = parseDnsQuery(q)!;
    const r = buildDnsResponse(q, parsed, V4, V6);
    expect(r.readUInt16BE(0)).toBe(0x1234);
    expect(r.readUInt16BE(2) & 0x8000).toBe(0x8000);
    expect(r.readUInt16BE(2) & 0xf).toBe(0);
    expect(r.readUInt16BE(6)).toBe(1);
    expect([...r.subarray(r.length - 4)]).toEqual([10, 20, 1, 10]);
  });

  it('answers AAAA with the IPv6 address, and other types with no answer', () => {
    const q6 = buildDnsQuery(1, 'x.test', TYPE_AAAA);
    expect(buildDnsResponse(q6, parseDnsQuery(q6)!, V4, V6).subarray(-16)).toEqual(V6);
    const mx = buildDnsQuery(2, 'x.test', 15);
    expect(buildDnsResponse(mx, parseDnsQuery(mx)!, V4, V6).readUInt16BE(6)).toBe(0);
  });

  it("answers nmap's status request (opcode 2, no question) with NOTIMP", () => {
    const status = Buffer.from([0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const r = buildDnsResponse(status, parseDnsQuery(status)!, V4, V6);
    expect(r.readUInt16BE(2) & 0xf).toBe(4);
  });

  it('ignores what is not a query, and answers a truncated question with FORMERR', () => {
    expect(parseDnsQuery(Buffer.alloc(0))).toBeUndefined();
    expect(parseDnsQuery(Buffer.alloc(11))).toBeUndefined();
    const response = buildDnsQuery(1, 'a.b', TYPE_A);
    response.writeUInt16BE(0x8100, 2);
    expect(parseDnsQuery(response)).toBeUndefined();
    const cut = buildDnsQuery(3, 'lab.portflow.test', TYPE_A).subarray(0, 20);
    const r = buildDnsResponse(cut, parseDnsQuery(cut)!, V4, V6);
    expect(r.readUInt16BE(2) & 0xf).toBe(1);
  });

  it('never throws on garbage', () => {
    for (let i = 0; i < 5000; i++) {
      const msg = randomBytes(i % 80);
      const q = parseDnsQuery(msg);
      if (q) expect(buildDnsResponse(msg, q, V4, V6).length).toBeGreaterThanOrEqual(12);
    }
  });
});
