import { describe, expect, it } from 'vitest';
import {
  PacketOptionError,
  PacketParseError,
  TcpFlags,
  buildAck,
  buildArpRequest,
  buildIcmpEcho,
  buildIcmpTimestamp,
  buildNdpSolicit,
  buildSyn,
  buildTcp,
  buildUdp,
  parse,
  rttMicros,
  sendClock,
  type ParsedPacket,
} from '../ts/index.js';
import { readPcap } from './helpers/pcap.js';

const fixture = (name: string) => readPcap(new URL(`./fixtures/${name}.pcap`, import.meta.url).pathname);
const veth = fixture('veth-ethernet');
const parsed = veth.frames.map((f) => ({ frame: f, p: parse(f) }));
const find = (pred: (p: ParsedPacket) => boolean) => {
  const hit = parsed.find(({ p }) => pred(p));
  if (!hit) throw new Error('fixture packet not found');
  return hit;
};
const MACS = { srcMac: '02:00:00:0a:00:01', dstMac: '02:00:00:0a:00:02' };

describe('fixtures captured from real Linux stacks', () => {
  it('parses every frame and every checksum the kernel computed verifies', () => {
    expect(veth.linkType).toBe(1);
    expect(parsed.length).toBeGreaterThan(40);
    for (const { p } of parsed) {
      if (p.ip?.version === 4) expect(p.ip.checksum).toBe('ok');
      const l4 = p.tcp ?? p.udp ?? p.icmp;
      if (p.ip) expect(l4?.checksum).toBe('ok');
    }
  });

  it('decodes a Linux SYN, its SYN-ACK and the echoed timestamp', () => {
    const syn = find((p) => p.tcp?.flagNames === 'S' && p.tcp.dstPort === 8080 && p.ip?.version === 4).p;
    expect(syn.tcp).toMatchObject({ options: [2, 4, 8, 1, 3], mss: 1460, sackPermitted: true, windowScale: 10, window: 64240, tsecr: 0 });
    expect(syn.tcp!.optionSignature).toBe(0x42953);
    expect(syn.ip).toMatchObject({ src: '10.201.0.1', dst: '10.201.0.2', ttl: 64, dontFragment: true, protocol: 6 });
    const synack = find((p) => p.tcp?.flagNames === 'SA' && p.ip?.version === 4).p;
    expect(synack.tcp!.tsecr).toBe(syn.tcp!.tsval);
    expect(synack.tcp!.ack).toBe((syn.tcp!.seq + 1) >>> 0);
    const rst = find((p) => p.tcp?.flagNames === 'RA' && p.ip?.version === 6).p;
    expect(rst.tcp).toMatchObject({ srcPort: 81, window: 0, options: [] });
  });

  it('tells closed UDP ports from administratively filtered ports by the quoted probe', () => {
    for (const v of [4, 6]) {
      const closed = find((p) => p.icmp?.version === v && p.icmp.meaning === 'port-unreachable' && p.icmp.quoted?.protocol === 17).p;
      expect(closed.icmp!.quoted).toMatchObject({ dstPort: 53, protocol: 17, version: v });
      const filtered = find((p) => p.icmp?.version === v && p.icmp.meaning === 'admin-prohibited' && p.icmp.quoted?.protocol === 17).p;
      expect(filtered.icmp!.quoted!.dstPort).toBe(8082);
      const tcpReject = find((p) => p.icmp?.version === v && p.icmp.meaning === 'admin-prohibited' && p.icmp.quoted?.protocol === 6).p;
      expect(tcpReject.icmp!.quoted).toMatchObject({ dstPort: 8081 });
      expect(tcpReject.icmp!.quoted!.seq).toBeTypeOf('number');
    }
    expect(find((p) => p.icmp?.meaning === 'admin-prohibited' && p.icmp.version === 4).p.icmp).toMatchObject({ type: 3, code: 13 });
    expect(find((p) => p.icmp?.meaning === 'admin-prohibited' && p.icmp.version === 6).p.icmp).toMatchObject({ type: 1, code: 1 });
  });

  it('decodes ARP and NDP replies and skips IPv6 extension headers', () => {
    expect(find((p) => p.arp?.op === 'reply').p.arp).toEqual({
      op: 'reply', senderMac: '02:00:00:0a:00:02', senderIp: '10.201.0.2', targetMac: '02:00:00:0a:00:01', targetIp: '10.201.0.1',
    });
    expect(find((p) => p.ndp?.type === 'advertisement').p.ndp).toEqual({
      type: 'advertisement', target: 'fd00:201::2', mac: '02:00:00:0a:00:02', router: false, solicited: true, override: true,
    });
    const mld = find((p) => p.icmp?.type === 143).p;
    expect(mld.ip!.extensionHeaders).toBe(1);
    expect(mld.icmp!.checksum).toBe('ok');
  });

  it('parses Linux cooked captures (SLL and SLL2) the same as Ethernet', () => {
    for (const name of ['any-sll', 'any-sll2']) {
      const f = fixture(name);
      const ps = f.frames.map((fr) => parse(fr, { linkType: f.linkType }));
      expect(ps.some((p) => p.tcp?.flagNames === 'RA')).toBe(true);
      expect(ps.some((p) => p.icmp?.meaning === 'port-unreachable')).toBe(true);
    }
  });

  it('reports loopback checksums the kernel left partial as partial, not bad, when told so', () => {
    const lo = fixture('lo-partial-checksums');
    const syn = lo.frames.find((f) => parse(f).tcp?.flagNames === 'S')!;
    expect(parse(syn).tcp!.checksum).toBe('bad');
    expect(parse(syn, { checksumNotReady: true }).tcp!.checksum).toBe('partial');
  });
});

describe('templates reproduce real packets byte for byte (checksums against known packets)', () => {
  it('SYN, IPv4 and IPv6', () => {
    for (const v of [4, 6]) {
      const { frame, p } = find((q) => q.tcp?.flagNames === 'S' && q.tcp.dstPort === 8080 && q.ip?.version === v);
      const built = buildSyn({
        ...MACS, src: p.ip!.src, dst: p.ip!.dst, ttl: p.ip!.ttl, ipId: p.ip!.ipId, flowLabel: p.ip!.flowLabel,
        srcPort: p.tcp!.srcPort, dstPort: p.tcp!.dstPort, seq: p.tcp!.seq, window: p.tcp!.window,
        tsval: p.tcp!.tsval, windowScale: p.tcp!.windowScale,
      });
      expect(built.toString('hex')).toBe(frame.toString('hex'));
    }
  });

  it('ACK with timestamps and RST', () => {
    const ack = find((q) => q.tcp?.flagNames === 'A' && q.ip?.version === 4 && q.ip.src === '10.201.0.1');
    const t = ack.p.tcp!;
    expect(buildAck({
      ...MACS, src: ack.p.ip!.src, dst: ack.p.ip!.dst, ipId: ack.p.ip!.ipId, srcPort: t.srcPort, dstPort: t.dstPort,
      seq: t.seq, ack: t.ack, window: t.window, timestamps: true, tsval: t.tsval, tsecr: t.tsecr,
    }).equals(ack.frame)).toBe(true);
    const rst = find((q) => q.tcp?.flagNames === 'RA' && q.ip?.version === 4);
    expect(buildTcp({
      srcMac: MACS.dstMac, dstMac: MACS.srcMac, src: rst.p.ip!.src, dst: rst.p.ip!.dst, srcPort: rst.p.tcp!.srcPort, dstPort: rst.p.tcp!.dstPort,
      seq: 0, ack: rst.p.tcp!.ack, flags: TcpFlags.RST | TcpFlags.ACK, window: 0,
    }).equals(rst.frame)).toBe(true);
  });

  it('UDP, ICMP echo and ICMPv6 echo with their payloads', () => {
    for (const v of [4, 6]) {
      const u = find((q) => q.udp?.dstPort === 53 && q.ip?.version === v);
      expect(buildUdp({
        ...MACS, src: u.p.ip!.src, dst: u.p.ip!.dst, ipId: u.p.ip!.ipId, flowLabel: u.p.ip!.flowLabel,
        srcPort: u.p.udp!.srcPort, dstPort: 53, payload: u.frame.subarray(u.p.payload.offset),
      }).equals(u.frame)).toBe(true);
      const e = find((q) => q.icmp?.type === (v === 4 ? 8 : 128));
      expect(buildIcmpEcho({
        ...MACS, src: e.p.ip!.src, dst: e.p.ip!.dst, ipId: e.p.ip!.ipId, flowLabel: e.p.ip!.flowLabel,
        id: e.p.icmp!.id, seq: e.p.icmp!.seq, payload: e.frame.subarray(e.p.payload.offset),
      }).equals(e.frame)).toBe(true);
    }
  });

  it('ARP request and NDP neighbour solicitation', () => {
    const arp = find((q) => q.arp?.op === 'request');
    expect(buildArpRequest({ srcMac: MACS.srcMac, senderIp: '10.201.0.1', targetIp: '10.201.0.2' }).equals(arp.frame)).toBe(true);
    const ns = find((q) => q.ndp?.type === 'solicitation' && q.ip?.src === 'fd00:201::1');
    expect(buildNdpSolicit({ srcMac: MACS.srcMac, src: 'fd00:201::1', target: 'fd00:201::2' }).equals(ns.frame)).toBe(true);
  });
});

describe('build → parse round trips', () => {
  const families = [
    { src: '192.0.2.1', dst: '198.51.100.7' },
    { src: '2001:db8::1', dst: '2001:db8:ffff::abcd' },
  ];
  const links = [{}, { srcMac: '02:aa:bb:cc:dd:01', dstMac: '02:aa:bb:cc:dd:02' }];
  for (const addrs of families) {
    for (const link of links) {
      const label = `${addrs.src.includes(':') ? 'IPv6' : 'IPv4'} ${'srcMac' in link ? 'Ethernet' : 'raw'}`;
      const linkType = 'srcMac' in link ? 'ethernet' : 'raw';
      it(`${label}: SYN, ACK, UDP, ICMP echo`, () => {
        const syn = parse(buildSyn({ ...link, ...addrs, srcPort: 40000, dstPort: 443, seq: 0xdeadbeef, tsval: 123456, ttl: 55, ipId: 77 }), { linkType });
        expect(syn.ip).toMatchObject({ src: addrs.src, dst: addrs.dst, ttl: 55 });
        expect(syn.tcp).toMatchObject({ flagNames: 'S', srcPort: 40000, dstPort: 443, seq: 0xdeadbeef, tsval: 123456, tsecr: 0, windowScale: 7, sackPermitted: true, checksum: 'ok' });
        expect(syn.tcp!.mss).toBe(addrs.src.includes(':') ? 1440 : 1460);
        if (syn.ip!.version === 4) expect(syn.ip).toMatchObject({ checksum: 'ok', ipId: 77, dontFragment: true });
        const ack = parse(buildAck({ ...link, ...addrs, srcPort: 1, dstPort: 2, seq: 5, ack: 0xffffffff, window: 512 }), { linkType });
        expect(ack.tcp).toMatchObject({ flagNames: 'A', ack: 0xffffffff, window: 512, options: [], checksum: 'ok' });
        const payload = Buffer.from('hello, scanner');
        const udp = parse(buildUdp({ ...link, ...addrs, srcPort: 5353, dstPort: 53, payload }), { linkType });
        expect(udp.udp).toMatchObject({ srcPort: 5353, dstPort: 53, length: 8 + payload.length, checksum: 'ok' });
        expect(udp.payload.length).toBe(payload.length);
        const echo = parse(buildIcmpEcho({ ...link, ...addrs, id: 4242, seq: 7, payload }), { linkType });
        expect(echo.icmp).toMatchObject({ type: addrs.src.includes(':') ? 128 : 8, id: 4242, seq: 7, checksum: 'ok' });
      });
    }
  }

  it('ICMP timestamp (IPv4 only)', () => {
    const ts = parse(buildIcmpTimestamp({ src: '192.0.2.1', dst: '192.0.2.2', id: 9, seq: 3, originate: 1234 }), { linkType: 'raw' });
    expect(ts.icmp).toMatchObject({ type: 13, id: 9, seq: 3, originate: 1234, receive: 0, transmit: 0, checksum: 'ok' });
    expect(() => buildIcmpTimestamp({ src: '::1', dst: '::2' })).toThrow(PacketOptionError);
  });

  it('ARP and NDP requests', () => {
    const arp = parse(buildArpRequest({ srcMac: '02:00:00:00:00:09', senderIp: '10.0.0.1', targetIp: '10.0.0.99' }));
    expect(arp.arp).toMatchObject({ op: 'request', senderIp: '10.0.0.1', targetIp: '10.0.0.99', targetMac: '00:00:00:00:00:00' });
    expect(arp.link.dst).toBe('ff:ff:ff:ff:ff:ff');
    const ns = parse(buildNdpSolicit({ srcMac: '02:00:00:00:00:09', src: 'fe80::1', target: '2001:db8::1234:5678' }));
    expect(ns.link.dst).toBe('33:33:ff:34:56:78');
    expect(ns.ip).toMatchObject({ dst: 'ff02::1:ff34:5678', ttl: 255 });
    expect(ns.ndp).toMatchObject({ type: 'solicitation', target: '2001:db8::1234:5678', mac: '02:00:00:00:00:09' });
    expect(ns.icmp!.checksum).toBe('ok');
  });

  it('UDP checksum of zero is sent as 0xffff, and edge values survive', () => {
    for (let port = 0; port < 2000; port++) {
      const p = parse(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: port, dstPort: 65535 - port }), { linkType: 'raw' });
      expect(p.udp!.checksum).toBe('ok');
    }
  });

  it('SYN TSval defaults to the send clock, giving a stateless RTT', () => {
    const before = sendClock();
    const syn = parse(buildSyn({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2 }), { linkType: 'raw' });
    expect(rttMicros(syn.tcp!.tsval!, before)).toBeGreaterThan(0xf0000000); // tsval is not before `before`
    expect(rttMicros(syn.tcp!.tsval!)).toBeLessThan(60_000_000);
    expect(rttMicros(0xfffffff0, 0x10)).toBe(0x20);
  });
});

describe('bad input', () => {
  it('builders reject bad options with a typed error naming the field', () => {
    const base = { src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2 };
    const bad: Array<[() => unknown, string]> = [
      [() => buildSyn({ ...base, dst: '10.0.0.256' }), 'dst'],
      [() => buildSyn({ ...base, dst: '::1' }), 'dst'],
      [() => buildSyn({ ...base, dstPort: 65536 }), 'dstPort'],
      [() => buildSyn({ ...base, srcPort: -1 }), 'srcPort'],
      [() => buildSyn({ ...base, ttl: 1.5 }), 'ttl'],
      [() => buildSyn({ ...base, windowScale: 15 }), 'windowScale'],
      [() => buildSyn({ ...base, srcMac: '02:00:00:00:00:01' }), 'dstMac'],
      [() => buildSyn({ ...base, srcMac: 'nope', dstMac: '02:00:00:00:00:01' }), 'srcMac'],
      [() => buildUdp({ ...base, payload: 'x' as never }), 'payload'],
      [() => buildUdp({ ...base, payload: Buffer.alloc(65508) }), 'payload'],
      [() => buildArpRequest({ srcMac: '02:00:00:00:00:01', senderIp: '::1', targetIp: '::2' }), 'targetIp'],
      [() => parse('x' as never), 'frame'],
      [() => parse(Buffer.alloc(20), { linkType: 'token-ring' as never }), 'linkType'],
    ];
    for (const [fn, field] of bad) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(PacketOptionError);
      expect((err as PacketOptionError).field, (err as Error).message).toBe(field);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('every truncation of every real frame is either parsed or a typed error, never a crash', () => {
    let errors = 0;
    for (const { frame } of parsed) {
      for (let n = 0; n < frame.length; n++) {
        try {
          parse(frame.subarray(0, n));
        } catch (e) {
          expect(e).toBeInstanceOf(PacketParseError);
          expect((e as PacketParseError).code).toMatch(/^ERR_PACKET_(TRUNCATED|MALFORMED|UNSUPPORTED)$/);
          errors++;
        }
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });

  it('a truncated frame keeps the layers below the cut in .partial', () => {
    const syn = find((q) => q.tcp?.flagNames === 'S' && q.ip?.version === 4).frame;
    let err: PacketParseError | undefined;
    try {
      parse(syn.subarray(0, 14 + 20 + 10));
    } catch (e) {
      err = e as PacketParseError;
    }
    expect(err?.code).toBe('ERR_PACKET_TRUNCATED');
    expect(err?.layer).toBe('tcp');
    expect(err?.offset).toBe(34);
    expect((err?.partial as ParsedPacket).ip?.src).toBe('10.201.0.1');
    expect(err?.message).toMatch(/^packet truncated at its tcp layer \(byte 34 of 44\): capture with a larger snaplen/);
  });

  it('random garbage and bit-flipped real frames never crash the parser', () => {
    let seed = 0x12345678;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
    for (let i = 0; i < 20000; i++) {
      const base = parsed[rnd() % parsed.length].frame;
      const f = Buffer.from(base);
      for (let k = rnd() % 4; k >= 0; k--) f[rnd() % f.length] ^= 1 << rnd() % 8;
      const g = i % 4 === 0 ? Buffer.from(Array.from({ length: rnd() % 120 }, () => rnd() & 0xff)) : f;
      for (const linkType of ['ethernet', 'sll', 'sll2', 'raw'] as const) {
        try {
          parse(g, { linkType });
        } catch (e) {
          expect(e).toBeInstanceOf(PacketParseError);
        }
      }
    }
  });
});
