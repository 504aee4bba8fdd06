// The pure parts of the raw scans: the classification table, UDP payload
// bytes against the specifications' layouts, timing templates, rate-control
// decisions and ICMP rate-limit detection.
import { describe, expect, it } from 'vitest';
import { RECORD_SIZE, RecordKind, RecordOffset } from '@portflow/native';
import {
  classifyNoAnswer,
  classifySynReply,
  classifyUdpReply,
} from '../src/engines/record-classifier.js';
import { icmpCeiling, IcmpRateLimitDetector, looksRateLimited } from '../src/icmp-ratelimit.js';
import { LOSS_THRESHOLD, MIN_LOSS_ANSWERS, RateController } from '../src/rate-control.js';
import { TryLoss, tryOfReply } from '../src/engines/try-loss.js';
import { reasonName, STATE_CODE } from '../src/results.js';
import { resolveTiming, TIMING_TEMPLATES, timingTemplate } from '../src/timing.js';
import {
  defaultUdpPayloads,
  dnsQuery,
  ikeMainMode,
  mdnsQuery,
  memcachedVersion,
  netbiosEncodeName,
  netbiosNodeStatus,
  ntpRequest,
  radiusStatusServer,
  rpcPortmapNull,
  sipOptions,
  snmpGetRequest,
  ssdpMSearch,
  tftpReadRequest,
} from '../src/udp-payloads.js';
import { ScanOptionError } from '../src/scan-errors.js';

const STATES = Object.fromEntries(Object.entries(STATE_CODE).map(([k, v]) => [v, k]));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function record(kind: number, f: { family?: number; flags?: number; type?: number; code?: number; proto?: number } = {}): Uint8Array {
  const b = new Uint8Array(RECORD_SIZE);
  b[RecordOffset.version] = 1;
  b[RecordOffset.kind] = kind;
  b[RecordOffset.family] = f.family ?? 4;
  if (f.flags !== undefined) b[RecordOffset.tcpFlags] = f.flags;
  if (f.type !== undefined) b[RecordOffset.icmpType] = f.type;
  if (f.code !== undefined) b[RecordOffset.icmpCode] = f.code;
  b[RecordOffset.proto] = f.proto ?? 6;
  return b;
}
const decode = (o: number) => (o < 0 ? 'ignored' : `${STATES[o & 0xff]}/${reasonName(o >>> 8)}`);

describe('classification table', () => {
  it('SYN scan: SYN-ACK open, RST closed, every unreachable filtered with its reason, silence filtered', () => {
    const table: [Uint8Array, string][] = [
      [record(RecordKind.TcpReply, { flags: 0x12 }), 'open/syn-ack'],
      [record(RecordKind.TcpReply, { flags: 0x14 }), 'closed/reset'],
      [record(RecordKind.TcpReply, { flags: 0x04 }), 'closed/reset'],
      [record(RecordKind.TcpReply, { flags: 0x16 }), 'closed/reset'],
      [record(RecordKind.TcpReply, { flags: 0x02 }), 'open/split-handshake-syn'],
      [record(RecordKind.TcpReply, { flags: 0x10 }), 'filtered/unknown-response'],
      [record(RecordKind.IcmpError, { type: 3, code: 0 }), 'filtered/net-unreach'],
      [record(RecordKind.IcmpError, { type: 3, code: 1 }), 'filtered/host-unreach'],
      [record(RecordKind.IcmpError, { type: 3, code: 2 }), 'filtered/proto-unreach'],
      [record(RecordKind.IcmpError, { type: 3, code: 3 }), 'filtered/port-unreach'],
      [record(RecordKind.IcmpError, { type: 3, code: 9 }), 'filtered/net-prohibited'],
      [record(RecordKind.IcmpError, { type: 3, code: 10 }), 'filtered/host-prohibited'],
      [record(RecordKind.IcmpError, { type: 3, code: 13 }), 'filtered/admin-prohibited'],
      [record(RecordKind.IcmpError, { type: 11, code: 0 }), 'filtered/time-exceeded'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 0 }), 'filtered/net-unreach'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 1 }), 'filtered/admin-prohibited'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 3 }), 'filtered/host-unreach'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 4 }), 'filtered/port-unreach'],
      [record(RecordKind.UdpReply), 'ignored'],
      [record(RecordKind.IcmpReply), 'ignored'],
    ];
    for (const [r, want] of table) expect(decode(classifySynReply(r, 0)), JSON.stringify([...r.subarray(0, 4), r[49], r[50]])).toBe(want);
    expect(decode(classifyNoAnswer(record(RecordKind.NoAnswer, { proto: 6 }), 0))).toBe('filtered/no-response');
  });

  it('UDP scan: a reply open, port unreachable closed, other unreachables filtered, silence open|filtered', () => {
    const table: [Uint8Array, string][] = [
      [record(RecordKind.UdpReply, { proto: 17 }), 'open/udp-response'],
      [record(RecordKind.IcmpError, { type: 3, code: 3, proto: 17 }), 'closed/port-unreach'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 4, proto: 17 }), 'closed/port-unreach'],
      [record(RecordKind.IcmpError, { type: 3, code: 13, proto: 17 }), 'filtered/admin-prohibited'],
      [record(RecordKind.IcmpError, { type: 3, code: 1, proto: 17 }), 'filtered/host-unreach'],
      [record(RecordKind.IcmpError, { family: 6, type: 1, code: 1, proto: 17 }), 'filtered/admin-prohibited'],
      [record(RecordKind.TcpReply, { flags: 0x12 }), 'ignored'],
    ];
    for (const [r, want] of table) expect(decode(classifyUdpReply(r, 0))).toBe(want);
    expect(decode(classifyNoAnswer(record(RecordKind.NoAnswer, { proto: 17 }), 0))).toBe('open-filtered/no-response');
  });
});

describe('UDP payloads, byte for byte', () => {
  it('DNS: root NS query (RFC 1035 §4.1)', () => {
    expect(hex(dnsQuery())).toBe('7066' + '0100' + '0001' + '0000' + '0000' + '0000' + '00' + '0002' + '0001');
  });
  it('NTP: 48-byte client request, LI 3 VN 4 mode 3 (RFC 5905 §7.3)', () => {
    const b = ntpRequest();
    expect(b.length).toBe(48);
    expect(b[0]).toBe(0b11_100_011);
    expect(b.subarray(1).every((x) => x === 0)).toBe(true);
  });
  it('SNMPv2c GetRequest public sysDescr.0 (RFC 3416, BER X.690)', () => {
    expect(hex(snmpGetRequest())).toBe(
      '3029' + '020101' + '04067075626c6963' + 'a01c' + '020400000001' + '020100' + '020100' + '300e' + '300c' + '06082b06010201010100' + '0500',
    );
  });
  it('NetBIOS: RFC 1001 §14.1 encoding example and the NBSTAT query for "*" (RFC 1002 §4.2.18)', () => {
    expect(Buffer.from(netbiosEncodeName('FRED')).toString('latin1')).toBe('EGFCEFEECACACACACACACACACACACACA');
    const b = netbiosNodeStatus();
    expect(b.length).toBe(50);
    expect(hex(b.subarray(0, 12))).toBe('706600000001000000000000');
    expect(b[12]).toBe(32);
    expect(Buffer.from(b.subarray(13, 45)).toString('latin1')).toBe('CK' + 'A'.repeat(30));
    expect(hex(b.subarray(45))).toBe('00' + '0021' + '0001');
  });
  it('ONC RPC portmapper NULL call (RFC 5531 §9, RFC 1833)', () => {
    expect(hex(rpcPortmapNull())).toBe('70660001' + '00000000' + '00000002' + '000186a0' + '00000002' + '00000000' + '0'.repeat(32));
  });
  it('IKEv1 Main Mode SA proposal (RFC 2408 §3, RFC 2409 appendix A)', () => {
    expect(hex(ikeMainMode())).toBe(
      Buffer.from('portflow').toString('hex') + '0'.repeat(16) + '01100200' + '00000000' + '00000050' +
        '00000034' + '00000001' + '00000001' +
        '00000028' + '01010001' +
        '00000020' + '01010000' + '80010005' + '80020002' + '80030001' + '80040002' + '800b0001' + '800c7080',
    );
  });
  it('text protocols: SSDP M-SEARCH, SIP OPTIONS with the RFC 3261 headers', () => {
    expect(Buffer.from(ssdpMSearch()).toString()).toBe('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n');
    const sip = Buffer.from(sipOptions()).toString();
    expect(sip.startsWith('OPTIONS sip:')).toBe(true);
    for (const h of ['Via: SIP/2.0/UDP ', ';branch=z9hG4bK', 'Max-Forwards: 70', 'To: ', 'From: ', ';tag=', 'Call-ID: ', 'CSeq: 1 OPTIONS', 'Content-Length: 0\r\n\r\n']) expect(sip).toContain(h);
  });
  it('mDNS, TFTP, memcached, RADIUS', () => {
    expect(hex(mdnsQuery())).toBe('7066' + '0000' + '0001' + '000000000000' + '095f7365727669636573' + '075f646e732d7364' + '045f756470' + '056c6f63616c' + '00' + '000c' + '8001');
    expect(hex(tftpReadRequest())).toBe('0001' + Buffer.from('portflow.txt').toString('hex') + '00' + Buffer.from('octet').toString('hex') + '00');
    expect(hex(memcachedVersion())).toBe('7066000000010000' + Buffer.from('version\r\n').toString('hex'));
    const r = radiusStatusServer();
    expect(r.length).toBe(38);
    expect([r[0], r[2] * 256 + r[3], r[20], r[21]]).toEqual([12, 38, 80, 18]);
  });
  it('covers at least ten services by port', () => {
    expect([...defaultUdpPayloads().keys()].sort((a, b) => a - b)).toEqual([53, 69, 111, 123, 137, 161, 500, 1812, 1900, 5060, 5353, 11211]);
  });
});

describe('timing templates', () => {
  it('T0-T5 by number, flag and name; nmap round-trip timeouts', () => {
    expect(timingTemplate('T4')).toBe(TIMING_TEMPLATES[4]);
    expect(timingTemplate('-T5').name).toBe('insane');
    expect(timingTemplate('polite').level).toBe(2);
    expect(timingTemplate(3)).toMatchObject({ initialRttMs: 1000, minRttMs: 100, maxRttMs: 10_000 });
    expect(timingTemplate(4)).toMatchObject({ initialRttMs: 500, minRttMs: 100, maxRttMs: 1250 });
    expect(timingTemplate(5)).toMatchObject({ initialRttMs: 250, minRttMs: 50, maxRttMs: 300, maxRetries: 2 });
    for (let i = 1; i < 6; i++) expect(TIMING_TEMPLATES[i].initialRate).toBeGreaterThan(TIMING_TEMPLATES[i - 1].initialRate);
    expect(() => timingTemplate('T9')).toThrow(ScanOptionError);
  });
  it('explicit options override the template; maxRate bounds everything; contradictions are refused', () => {
    const t = resolveTiming(timingTemplate(5), { maxRate: 1000, maxRetries: 6 });
    expect(t).toMatchObject({ maxRate: 1000, initialRate: 1000, maxRetries: 6, initialRttMs: 250 });
    expect(resolveTiming(timingTemplate(3), { minRate: 20_000 }).initialRate).toBe(20_000);
    expect(() => resolveTiming(timingTemplate(3), { minRate: 10, maxRate: 5 })).toThrow(/minRate 10 is above maxRate 5/);
    expect(() => resolveTiming(timingTemplate(3), { maxRate: -1 })).toThrow(/maxRate/);
  });
});

describe('rate control', () => {
  it('ramps while answering hosts keep answering, holds on silence, halves on drops, stays within bounds', () => {
    const rc = new RateController(1000, 100, 10_000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 1000 })).toBe('increase');
    expect(rc.rate).toBe(2000); // slow start doubles
    // A silent interval (a sparse -Pn range): nothing changes.
    expect(rc.update({ drops: 0, answered: 0, achievedRate: 2000 })).toBe('hold');
    expect(rc.rate).toBe(2000);
    // The sender cannot keep up: no ramp.
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 900 })).toBe('hold');
    expect(rc.update({ drops: 3, answered: 50, achievedRate: 2000 })).toBe('backoff-drops');
    expect(rc.rate).toBe(1000);
    expect(rc.limitSeen).toBe(2000);
    expect(rc.update({ drops: 0, answered: 10, achievedRate: 1000 })).toBe('increase');
    expect(rc.rate).toBe(1250); // after a back-off: +25%
    for (let i = 0; i < 40; i++) rc.update({ drops: 0, answered: 10, achievedRate: rc.rate });
    expect(rc.rate).toBe(10_000);
    for (let i = 0; i < 40; i++) rc.update({ drops: 1, answered: 10, achievedRate: rc.rate });
    expect(rc.rate).toBe(100);
  });

  it('doubles in slow start while the sender achieves half the rate (its pacing undershoots on a shared core), needs 80% after a back-off', () => {
    const rc = new RateController(50_000, 100, 1_000_000);
    expect(rc.slowStart).toBe(true);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 30_000 })).toBe('increase');
    expect(rc.rate).toBe(100_000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 49_000 })).toBe('hold');
    expect(rc.update({ drops: 1, answered: 50, achievedRate: 100_000 })).toBe('backoff-drops');
    expect(rc.slowStart).toBe(false);
    expect(rc.rate).toBe(50_000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 30_000 })).toBe('hold');
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 40_000 })).toBe('increase');
    expect(rc.rate).toBe(62_500);
  });

  it('backs off by a quarter when an answering host loses more than the threshold, and ramps back when it falls', () => {
    const rc = new RateController(4000, 100, 10_000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 4000, lossShare: LOSS_THRESHOLD })).toBe('increase');
    expect(rc.rate).toBe(8000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 8000, lossShare: 0.3 })).toBe('backoff-loss');
    expect(rc.rate).toBe(6000);
    expect(rc.limitSeen).toBe(8000);
    expect(rc.backoffs).toBe(1);
    // Drops win over loss (and halve).
    expect(rc.update({ drops: 2, answered: 50, achievedRate: 6000, lossShare: 0.5 })).toBe('backoff-drops');
    expect(rc.rate).toBe(3000);
    expect(rc.update({ drops: 0, answered: 50, achievedRate: 3000, lossShare: 0.02 })).toBe('increase');
    expect(rc.rate).toBe(3750);
  });

  it('tells the try of a TCP reply from its local port, and judges loss per answering host', () => {
    // Try t of index i leaves from first + (i + t) mod count.
    for (const [i, t] of [[0, 0], [5, 1], [4095, 2], [123_456_789, 3]]) expect(tryOfReply(61000 + ((i + t) % 4096), i, 61000, 4096)).toBe(t);
    expect(tryOfReply(61000, 7, 61000, 1)).toBe(0);
    const l = new TryLoss();
    const half = MIN_LOSS_ANSWERS / 2;
    for (let k = 0; k < MIN_LOSS_ANSWERS; k++) l.answer('10.0.0.1', 0);
    for (let k = 0; k < half; k++) l.answer('10.0.0.2', k % 2);
    // 10.0.0.2 has too few answers to judge; 10.0.0.1 lost nothing.
    expect(l.take()).toBe(0);
    for (let k = 0; k < half; k++) l.answer('10.0.0.2', (k % 2) * 2);
    // Now enough answers, half of them to a resend; judged, then counted anew.
    expect(l.take()).toBe(0.5);
    expect(l.take()).toBe(0);
    expect([l.firstTryAnswers, l.resentAnswers]).toEqual([MIN_LOSS_ANSWERS + half, half]);
  });
});

describe('ICMP rate-limit detection', () => {
  it('flags hosts whose unreachables reach a Linux-default limiter ceiling while probes went unanswered', () => {
    expect(icmpCeiling(4, 10)).toBe(16);
    expect(icmpCeiling(6, 10)).toBe(106);
    expect(looksRateLimited({ unreachables: 6, unanswered: 994, seconds: 0.5, family: 4 })).toBe(true);
    expect(looksRateLimited({ unreachables: 12, unanswered: 500, seconds: 6, family: 4 })).toBe(true);
    // Answers well above the ceiling: no limiter at work (the silence is the ports').
    expect(looksRateLimited({ unreachables: 900, unanswered: 100, seconds: 2, family: 4 })).toBe(false);
    // Few closed ports, the rest dropped by a firewall: below the burst, not a limit.
    expect(looksRateLimited({ unreachables: 3, unanswered: 7, seconds: 1, family: 4 })).toBe(false);
    expect(looksRateLimited({ unreachables: 6, unanswered: 0, seconds: 1, family: 4 })).toBe(false);
    const d = new IcmpRateLimitDetector();
    const t0 = 1_000_000;
    // A limiter: a burst of 6, then one per second while the scan retries.
    for (let i = 0; i < 6; i++) d.unreachable('10.0.0.1', 4, t0 + i);
    d.unreachable('10.0.0.1', 4, t0 + 1003);
    for (let i = 0; i < 50; i++) d.unanswered('10.0.0.1', 4);
    // No limiter: 60 closed ports answered at once, 5 dropped ones silent.
    for (let i = 0; i < 60; i++) d.unreachable('10.0.0.2', 4, t0 + i / 10);
    for (let i = 0; i < 5; i++) d.unanswered('10.0.0.2', 4);
    // No limiter, few ports: 8 closed answered within 2 ms, one dropped.
    for (let i = 0; i < 8; i++) d.unreachable('2001:db8::3', 6, t0 + i / 4);
    d.unanswered('2001:db8::3', 6);
    expect(d.limitedHosts()).toEqual(['10.0.0.1']);
  });
});

describe('on-link targets', () => {
  it('are the targets inside a route without a gateway, found by walking the targets or, for a huge set, the prefix', async () => {
    const { onLinkTargets } = await import('../src/engines/probe-backend.js');
    const { buildTargetSet, parseTargets } = await import('../src/targets.js');
    const plan = {
      interface: 'eth0', ifindex: 2, layer: 'ethernet' as const, srcMac: '02:00:00:00:00:02', srcV4: '10.1.0.2', srcV6: null, mtu: 1500, neighbors: [],
      routes: [{ prefix: '10.1.0.0/30', mac: null }, { prefix: '0.0.0.0/0', mac: null, gateway: '10.1.0.1' }],
    };
    const small = buildTargetSet(parseTargets(['10.1.0.1-10.1.0.9', '192.0.2.1']));
    expect(onLinkTargets(plan, small)).toEqual({ addresses: ['10.1.0.1', '10.1.0.2', '10.1.0.3'], more: false });
    const huge = buildTargetSet(parseTargets(['10.0.0.0/8']));
    expect(onLinkTargets(plan, huge)).toEqual({ addresses: ['10.1.0.0', '10.1.0.1', '10.1.0.2', '10.1.0.3'], more: false });
    expect(onLinkTargets(plan, small, 2)).toEqual({ addresses: ['10.1.0.1', '10.1.0.2'], more: true });
  });
});
