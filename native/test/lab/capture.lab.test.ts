// The capture thread on a real veth: two network namespaces made (and deleted) here, joined
// by a veth pair; the capture runs in namespace A (a child process, through the test-only
// `captureTest` binding), the target's kernel and crafted packets answer from namespace B.
// Nothing leaves the two namespaces.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RecordFlag, TcpFlags, buildSyn, buildTcp, decodeRecord, loadBinding, type DecodedRecord } from '../../ts/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by @portflow/testnet/vitest-lab-setup: why lab tests cannot run here, or ''. */
    labSkipReason: string;
  }
}

const skip = inject('labSkipReason');
const tag = process.pid.toString(36);
const NS_A = `pfcap${tag}-a`;
const NS_B = `pfcap${tag}-b`;
const IF_A = `pfca${tag}`;
const IF_B = `pfcb${tag}`;
const A4 = '10.251.0.1', B4 = '10.251.0.2', A6 = 'fd00:251::1', B6 = 'fd00:251::2';
const MAC_A = '02:00:00:fb:00:01', MAC_B = '02:00:00:fb:00:02';
const KEY = '0123456789abcdeffedcba9876543210';
const PORT_FIRST = 61000, PORT_COUNT = 4536;

const sh = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).toString();
const inNs = (ns: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);

// Sends raw IP packets from a namespace (IPPROTO_RAW: the header is ours, checksums complete).
const SEND_PY = `
import socket, sys
for h in sys.argv[1:]:
    p = bytes.fromhex(h)
    if p[0] >> 4 == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW); dst = socket.inet_ntop(socket.AF_INET, p[16:20])
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW); dst = socket.inet_ntop(socket.AF_INET6, p[24:40])
    s.sendto(p, (dst, 0)); s.close()
`;
const sendFrom = (ns: string, packets: Buffer[]) => inNs(ns, 'timeout', '10', 'python3', '-c', SEND_PY, ...packets.map((p) => p.toString('hex')));

// A kernel TCP listener on 8080 in B (both families), bounded to 60 s.
const LISTEN_PY = `
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', 8080)); s.listen(64); print('listening', flush=True); time.sleep(60)
`;

function cookie(flow: { proto: number; srcPort: number; dstPort: number; src: string; dst: string }): number {
  const b = loadBinding() as unknown as { captureTest: { cookie(o: object): number } };
  return b.captureTest.cookie({ key: KEY, ...flow });
}

// Internet checksum over `b` (RFC 1071).
function inetSum(b: Buffer, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

// An IPv4 ICMP destination-unreachable from `src` to `dst` quoting `quoted` (an IP packet).
function icmpUnreachable4(src: string, dst: string, code: number, quoted: Buffer): Buffer {
  const icmp = Buffer.concat([Buffer.from([3, code, 0, 0, 0, 0, 0, 0]), quoted]);
  icmp.writeUInt16BE(~inetSum(icmp) & 0xffff, 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip[8] = 64;
  ip[9] = 1;
  src.split('.').forEach((o, i) => (ip[12 + i] = Number(o)));
  dst.split('.').forEach((o, i) => (ip[16 + i] = Number(o)));
  ip.writeUInt16BE(~inetSum(ip) & 0xffff, 10);
  return Buffer.concat([ip, icmp]);
}

interface ChildResult {
  joinMs: number;
  counters: Record<string, number>;
  records: string;
  answered: Array<{ family: number; proto: number; srcPort: number; dstPort: number; dst: string }>;
}

class CaptureChild {
  private buf = '';
  private waiters: Array<(o: Record<string, unknown>) => void> = [];
  readonly proc: ChildProcessWithoutNullStreams;
  constructor(options: object) {
    const script = fileURLToPath(new URL('./capture-child.mjs', import.meta.url));
    this.proc = spawn('ip', ['netns', 'exec', NS_A, process.execPath, script, JSON.stringify(options)]);
    this.proc.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters.shift()?.(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }
  next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('capture child did not answer within 10 s')), 10_000);
      this.waiters.push((o) => {
        clearTimeout(t);
        resolve(o);
      });
    });
  }
  async send(cmd: string): Promise<Record<string, unknown>> {
    const p = this.next();
    this.proc.stdin.write(`${cmd}\n`);
    return p;
  }
}

function decodeAll(base64: string): DecodedRecord[] {
  const b = Buffer.from(base64, 'base64');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: DecodedRecord[] = [];
  for (let off = 0; off < b.length; off += 64) out.push(decodeRecord(view, off));
  return out;
}

describe.skipIf(skip !== '')('capture on a veth pair between two namespaces (root)', () => {
  let listener: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    for (const ns of [NS_A, NS_B]) sh('ip', 'netns', 'add', ns);
    sh('ip', 'link', 'add', IF_A, 'netns', NS_A, 'address', MAC_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', NS_B, 'address', MAC_B);
    for (const [ns, ifname, v4, v6, peer4, peer6, peerMac] of [
      [NS_A, IF_A, A4, A6, B4, B6, MAC_B],
      [NS_B, IF_B, B4, B6, A4, A6, MAC_A],
    ]) {
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      sh('ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', ifname);
      sh('ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', ifname, 'nodad');
      sh('ip', '-n', ns, 'link', 'set', ifname, 'up');
      // Static neighbours: no ARP/NDP exchange races the probes.
      sh('ip', '-n', ns, 'neigh', 'replace', peer4, 'lladdr', peerMac, 'dev', ifname, 'nud', 'permanent');
      sh('ip', '-n', ns, 'neigh', 'replace', peer6, 'lladdr', peerMac, 'dev', ifname, 'nud', 'permanent');
    }
    inNs(NS_B, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0');
    execFileSync('ip', ['netns', 'exec', NS_B, 'nft', '-f', '-'], {
      input: 'table inet pfcap {\n chain input {\n type filter hook input priority 0;\n tcp dport 8081 reject with icmpx admin-prohibited\n }\n}\n',
      timeout: 10_000,
    });
    listener = spawn('ip', ['netns', 'exec', NS_B, 'timeout', '60', 'python3', '-c', LISTEN_PY]);
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.once('data', () => resolve());
      listener!.once('exit', (code) => reject(new Error(`listener exited (${code})`)));
    });
  });

  afterAll(() => {
    listener?.kill();
    for (const ns of [NS_A, NS_B]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // not created
      }
    }
  });

  it('matches kernel and crafted replies by cookie, drops strays and duplicates, accepts partial checksums, stops promptly', async () => {
    const child = new CaptureChild({
      interface: IF_A,
      layer: 'ethernet',
      srcV4: A4,
      srcV6: A6,
      portFirst: PORT_FIRST,
      portCount: PORT_COUNT,
      mode: 'tcp-syn',
      key: KEY,
      blockSize: 1 << 16,
      blockCount: 8,
      retireMs: 1,
      pollMs: 1000, // Stop() must not wait for this: the eventfd wakes poll()
    });
    try {
      const ready = await child.next();
      expect(ready).toEqual({ ready: true });

      const syn = (src: string, dst: string, srcPort: number, dstPort: number, delta = 0) =>
        buildSyn({ src, dst, srcPort, dstPort, seq: (cookie({ proto: 6, srcPort, dstPort, src, dst }) + delta) >>> 0 });
      // Probes from A; B's kernel answers: SYN-ACK (v4, v6: CHECKSUM_PARTIAL on veth), RST-ACK, ICMP admin-prohibited.
      sendFrom(NS_A, [syn(A4, B4, 61100, 8080), syn(A6, B6, 61101, 8080), syn(A4, B4, 61102, 9), syn(A4, B4, 61103, 8081)]);
      // Crafted replies from B.
      const c443 = cookie({ proto: 6, srcPort: 61200, dstPort: 443, src: A4, dst: B4 });
      const c444 = cookie({ proto: 6, srcPort: 61201, dstPort: 444, src: A4, dst: B4 });
      const synAck = buildTcp({ src: B4, dst: A4, srcPort: 443, dstPort: 61200, seq: 1000, ack: (c443 + 1) >>> 0, flags: TcpFlags.SYN | TcpFlags.ACK, mss: 1400 });
      const wrong = buildTcp({ src: B4, dst: A4, srcPort: 443, dstPort: 61202, seq: 1000, ack: (c443 + 1) >>> 0, flags: TcpFlags.SYN | TcpFlags.ACK });
      const rst = buildTcp({ src: B4, dst: A4, srcPort: 444, dstPort: 61201, seq: 0, ack: (c444 + 1) >>> 0, flags: TcpFlags.RST | TcpFlags.ACK });
      const forgedQuote = icmpUnreachable4(B4, A4, 3, syn(A4, B4, 61203, 25, 7));
      const outOfRange = buildTcp({ src: B4, dst: A4, srcPort: 443, dstPort: 5000, seq: 1, ack: 1, flags: TcpFlags.SYN | TcpFlags.ACK });
      sendFrom(NS_B, [synAck, synAck, wrong, rst, forgedQuote, outOfRange]);

      let counters: Record<string, number> = {};
      for (let i = 0; i < 100; i++) {
        counters = (await child.send('counters')).counters as Record<string, number>;
        if (counters.matched >= 6 && counters.duplicates >= 1 && counters.strays >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const result = (await child.send('stop')) as unknown as ChildResult;
      console.log(`veth capture: ${JSON.stringify(result.counters)}; Stop() joined in ${result.joinMs.toFixed(2)} ms (poll timeout 1000 ms)`);
      expect(result.counters).toMatchObject({ matched: 6, duplicates: 1, strays: 2, parseErrors: 0, ringOverflow: 0, answeredFull: 0 });
      // Every packet the filter let through is accounted for; the out-of-range one never got in.
      const c = result.counters;
      expect(c.received).toBe(c.matched + c.duplicates + c.strays + c.parseErrors);
      expect(result.joinMs).toBeLessThan(500);

      const records = decodeAll(result.records);
      expect(records).toHaveLength(6);
      const tcp = records.filter((r) => r.kind === 'TcpReply');
      const kernelSynAcks = tcp.filter((r) => r.port === 8080);
      expect(kernelSynAcks.map((r) => r.addr).sort()).toEqual([B4, B6].sort());
      for (const r of kernelSynAcks) {
        expect(r.tcp!.flags).toBe(TcpFlags.SYN | TcpFlags.ACK);
        expect(r.flags & RecordFlag.ChecksumPartial).toBe(RecordFlag.ChecksumPartial); // TP_STATUS_CSUMNOTREADY on veth
        expect(r.tcp!.optionSignature).not.toBe(0);
        expect(r.ttl).toBe(64);
      }
      const v4SynAck = kernelSynAcks.find((r) => r.family === 4)!;
      expect(v4SynAck.localPort).toBe(61100);
      expect(v4SynAck.tcp!.ack).toBe((cookie({ proto: 6, srcPort: 61100, dstPort: 8080, src: A4, dst: B4 }) + 1) >>> 0);
      const rstAck = tcp.find((r) => r.port === 9)!;
      expect(rstAck.tcp!.flags).toBe(TcpFlags.RST | TcpFlags.ACK);
      const crafted = tcp.find((r) => r.port === 443)!;
      expect(crafted.flags & RecordFlag.ChecksumPartial).toBe(0); // a raw packet's checksum is complete
      expect(crafted.tcp!.mss).toBe(1400);
      expect(tcp.find((r) => r.port === 444)!.tcp!.flags).toBe(TcpFlags.RST | TcpFlags.ACK);
      const icmp = records.find((r) => r.kind === 'IcmpError')!;
      expect(icmp).toMatchObject({ family: 4, addr: B4, port: 8081, localPort: 61103, proto: 6 });
      expect(icmp.icmp).toMatchObject({ type: 3, code: 13, reporter: B4 });
      expect(icmp.echoedSend).not.toBe(0); // the quoted SYN's TSval (buildSyn's send clock)
      expect(icmp.icmp!.quotedSeq).toBe(cookie({ proto: 6, srcPort: 61103, dstPort: 8081, src: A4, dst: B4 }));

      expect(result.answered).toHaveLength(6);
      expect(result.answered).toContainEqual({ family: 6, proto: 6, srcPort: 61101, dstPort: 8080, dst: B6 });
      expect(result.answered).toContainEqual({ family: 4, proto: 6, srcPort: 61103, dstPort: 8081, dst: B4 });
    } finally {
      child.proc.kill();
    }
  });

  it('reports a missing interface as ENODEV', async () => {
    const child = new CaptureChild({ interface: 'pfcap-nope0', srcV4: A4, portFirst: PORT_FIRST, portCount: PORT_COUNT, key: KEY });
    const out = await child.next();
    expect(out.code).toBe('ENODEV');
    expect(String(out.error)).toMatch(/pfcap-nope0/);
  });
});
