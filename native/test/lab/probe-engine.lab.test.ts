// The probe engine against the standard @portflow/testnet lab (root): the engine runs in
// the lab's scanner namespace (a child process, probe-engine-child.mjs) and the truth
// comes from the lab's spec; packet counts on the target side come from nftables counters
// in the router's namespace, never from the engine's own counters.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLab, type Lab } from '@portflow/testnet';
import { buildTcp, type LinkPlan, type ProbeEngineOptions } from '../../ts/index.js';
import { labLinkPlan } from './lab-link.js';

const skip = inject('labSkipReason');
const labIt = skip ? it.skip : it;
const CHILD = fileURLToPath(new URL('./probe-engine-child.mjs', import.meta.url));
const SOURCE_PORTS = { first: 61000, count: 4536 };

interface Rec {
  kind: string;
  addr: string;
  port: number;
  localPort: number;
  proto: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  reporter?: string;
  count?: number;
  mac?: string;
  typeByte?: number;
}
interface ChildOutput {
  replies: Rec[];
  outcomes: Rec[];
  retriesSent: number;
  countersRecords: number;
  counters: Record<string, number>;
  state: string;
  pause?: { before: string; after: string; sentAtPause: number; sentAfterPause: number; stateWhilePaused: string };
  wallMs: number;
}
interface ChildInput {
  targets: { v4?: string[]; v6?: string[] };
  ports: Array<[number, number, number]>;
  options: Omit<ProbeEngineOptions, 'job'>;
  pause?: { afterMs: number; forMs: number; counter: string[] };
  stopAfterMs?: number;
}

let lab: Lab;
let plan: LinkPlan;
let routerNs: string;

function runChild(input: ChildInput, onReady?: () => Promise<void>): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    const c = lab.spawnInScanner(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready: Promise<void> = Promise.resolve();
    c.stdout!.on('data', (d: Buffer) => (out += d));
    c.stderr!.on('data', (d: Buffer) => {
      err += d;
      if (onReady && err.includes('READY\n')) {
        const f = onReady;
        onReady = undefined;
        ready = f();
      }
    });
    c.on('error', reject);
    c.on('close', (code) => {
      ready.then(() => {
        if (code !== 0) return reject(new Error(`child exited ${code}: ${err}`));
        resolve(JSON.parse(out) as ChildOutput);
      }, reject);
    });
    c.stdin!.end(JSON.stringify(input));
  });
}

const baseOptions = (over: Partial<ProbeEngineOptions> = {}): Omit<ProbeEngineOptions, 'job'> => ({
  mode: 'tcp-syn',
  link: plan,
  sourcePorts: SOURCE_PORTS,
  rate: 2000,
  maxRetries: 1,
  initialRttMs: 300,
  minRttMs: 100,
  maxRttMs: 1000,
  window: 4096,
  lingerMs: 300,
  ...over,
});

async function nft(args: string[], input?: string): Promise<string> {
  const r = await lab.execIn(routerNs, 'nft', args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Counters named by comment from `nft -j list table inet pfprobe`. */
function nftCounters(json: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of JSON.parse(json).nftables) {
    const rule = item.rule;
    if (!rule) continue;
    const counter = rule.expr.find((e: { counter?: { packets: number } }) => e.counter)?.counter;
    if (counter && rule.comment) out[rule.comment] = counter.packets;
  }
  return out;
}

/** One port of each kind for `host`, from the truth. */
function portsOf(host: string) {
  const t = lab.truth();
  const find = (cause: string) => {
    for (let p = 1; p <= 1024; p++) if (t.expect(host, 'tcp', p).cause === cause) return p;
    throw new Error(`no ${cause} port on ${host}`);
  };
  return { open: find('listener'), closed: find('kernel-closed'), dropped: find('rule-drop'), prohibited: find('rule-admin-prohibited') };
}

/** The first routed target host (not the router) of a family. */
const target = (family: 4 | 6) => lab.truth().discovery.routed.find((a) => a.includes(':') === (family === 6) && lab.truth().host(a)?.role === 'target')!;

const tcpFlagsOf = (rs: Rec[], addr: string, port: number) => rs.filter((r) => r.kind === 'TcpReply' && r.addr === addr && r.port === port).map((r) => r.tcpFlags);

describe.skipIf(!!skip)('probe engine in the standard lab', () => {
  beforeAll(async () => {
    lab = await startLab('standard');
    routerNs = lab.namespaces.find((n) => n.endsWith('-rtr'))!;
    plan = await labLinkPlan(lab, lab.onLink.live);
  });
  afterAll(async () => {
    await lab?.down();
  });

  labIt('SYNs over IPv4 and IPv6: SYN-ACK, RST, NoAnswer and ICMP admin-prohibited, matched by cookie', async () => {
    const h4 = target(4);
    const h6 = target(6);
    const p4 = portsOf(h4);
    const p6 = portsOf(h6);
    const ports = [...new Set([...Object.values(p4), ...Object.values(p6)])].sort((a, b) => a - b);
    const out = await runChild({ targets: { v4: [h4], v6: [h6] }, ports: ports.map((p) => [1, p, p]), options: baseOptions() });
    for (const [h, p, unreachType, prohibitCode] of [[h4, p4, 3, 13], [h6, p6, 1, 1]] as const) {
      expect(tcpFlagsOf(out.replies, h, p.open)).toEqual([0x12]);
      expect(tcpFlagsOf(out.replies, h, p.closed).map((f) => f! & 0x04)).toEqual([0x04]);
      const icmp = out.replies.filter((r) => r.kind === 'IcmpError' && r.addr === h && r.port === p.prohibited);
      expect(icmp.map((r) => [r.icmpType, r.icmpCode])).toEqual([[unreachType, prohibitCode]]);
      const none = out.outcomes.filter((r) => r.kind === 'NoAnswer' && r.addr === h);
      expect(none.map((r) => [r.port, r.count])).toEqual([[p.dropped, 2]]);
    }
    for (const r of out.replies) {
      expect(r.localPort).toBeGreaterThanOrEqual(SOURCE_PORTS.first);
      expect(r.localPort).toBeLessThan(SOURCE_PORTS.first + SOURCE_PORTS.count);
    }
    expect(out.counters.matched).toBe(out.replies.length);
    expect(out.counters.probes).toBe(ports.length * 2);
    expect(out.counters.lowWater).toBe(ports.length * 2);
    expect(out.counters.inFlight).toBe(0);
    expect(out.counters).toMatchObject({ sendErrors: 0, noRoute: 0, captureErrors: 0 });
    expect(out.state).toBe('done');
  });

  labIt('raw IP layer (the fallback): the same SYNs through IP_HDRINCL / IPV6_HDRINCL sockets', async () => {
    const h4 = target(4);
    const h6 = target(6);
    const p4 = portsOf(h4);
    const p6 = portsOf(h6);
    const ports = [...new Set([p4.open, p4.closed, p6.open, p6.closed])].sort((a, b) => a - b);
    const out = await runChild({ targets: { v4: [h4], v6: [h6] }, ports: ports.map((p) => [1, p, p]), options: baseOptions({ link: { ...plan, layer: 'ip' }, maxRetries: 0 }) });
    for (const [h, p] of [[h4, p4], [h6, p6]] as const) {
      expect(tcpFlagsOf(out.replies, h, p.open)).toEqual([0x12]);
      expect(tcpFlagsOf(out.replies, h, p.closed).map((f) => f! & 0x04)).toEqual([0x04]);
    }
    expect(out.counters.sendErrors).toBe(0);
  });

  labIt('UDP: a DNS query gets its answer, a closed port an ICMP port unreachable, the source port carries the cookie', async () => {
    const h4 = target(4);
    const t = lab.truth();
    let closed = 0;
    for (let p = 1; p < 1024 && !closed; p++) if (t.expect(h4, 'udp', p).cause === 'kernel-closed') closed = p;
    // A DNS query for "lab." type A (the lab's responder answers DNS messages only).
    const dns = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x6c, 0x61, 0x62, 0, 0, 1, 0, 1]);
    const out = await runChild({
      targets: { v4: [h4] },
      ports: [[2, Math.min(53, closed), Math.min(53, closed)], [2, Math.max(53, closed), Math.max(53, closed)]],
      options: { ...baseOptions({ mode: 'udp', maxRetries: 1 }), udpPayloads: [[53, dns.toString('hex')]] as never },
    });
    const udp = out.replies.filter((r) => r.kind === 'UdpReply');
    expect(udp.map((r) => [r.addr, r.port])).toEqual([[h4, 53]]);
    const icmp = out.replies.filter((r) => r.kind === 'IcmpError');
    expect(icmp.map((r) => [r.addr, r.port, r.icmpType, r.icmpCode])).toEqual([[h4, closed, 3, 3]]);
    expect(out.outcomes.filter((r) => r.kind === 'NoAnswer')).toEqual([]);
    expect(out.counters.matched).toBe(2);
  });

  labIt('discovery: ICMP echo (v4, v6), ICMP timestamp, TCP SYN to 443 and TCP ACK to 80; a silent address gets nothing', async () => {
    const h4 = target(4);
    const h6 = target(6);
    const silent = '10.20.1.250';
    expect(lab.truth().isLive(silent)).toBe(false);
    const discovery = [{ method: 'icmp-echo' }, { method: 'icmp-timestamp' }, { method: 'tcp-syn' }, { method: 'tcp-ack' }] as const;
    const out = await runChild({ targets: { v4: [h4, silent], v6: [h6] }, ports: [[1, 1, 4]], options: baseOptions({ mode: 'discovery', discovery: [...discovery], maxRetries: 0 }) });
    const from = (h: string) => out.replies.filter((r) => r.addr === h).map((r) => (r.kind === 'TcpReply' ? `tcp ${r.port} ${r.tcpFlags! & 0x04 ? 'rst' : 'syn-ack'}` : `icmp ${r.icmpType}`)).sort();
    const t = lab.truth();
    const syn443 = t.expect(h4, 'tcp', 443).state === 'open' ? 'syn-ack' : 'rst';
    expect(from(h4)).toEqual([`icmp 0`, `icmp 14`, `tcp 443 ${syn443}`, 'tcp 80 rst'].sort());
    const syn443v6 = t.expect(h6, 'tcp', 443).state === 'open' ? 'syn-ack' : 'rst';
    expect(from(h6)).toEqual([`icmp 129`, `tcp 443 ${syn443v6}`, 'tcp 80 rst'].sort());
    // ICMPv6 has no timestamp request: final at once with 0 probes; the silent host: 1 each.
    const none = out.outcomes.filter((r) => r.kind === 'NoAnswer').map((r) => `${r.addr} ${r.proto} ${r.count}`).sort();
    expect(none).toEqual([`${h6} 1 0`, `${silent} 1 1`, `${silent} 1 1`, `${silent} 6 1`, `${silent} 6 1`].sort());
  });

  labIt('discovery by ARP and NDP on the scanner\'s segment: every live on-link host answers with its MAC; silent addresses and the other family get NoAnswer', async () => {
    const live = lab.onLink.live;
    const silent4 = '10.20.0.250';
    const silent6 = '2001:db8:20::fa';
    expect(lab.truth().isLive(silent4) || lab.truth().isLive(silent6)).toBe(false);
    const out = await runChild({
      targets: { v4: [...live.filter((a) => !a.includes(':')), silent4], v6: [...live.filter((a) => a.includes(':')), silent6] },
      ports: [[1, 1, 2]],
      options: baseOptions({ mode: 'discovery', discovery: [{ method: 'arp' }, { method: 'ndp' }], maxRetries: 1 }),
    });
    const macOf = new Map(plan.neighbors.map((n) => [n.address, n.mac]));
    const answers = out.replies.filter((r) => r.kind === 'NeighborReply');
    expect(answers.map((r) => r.addr).sort()).toEqual([...live].sort());
    for (const r of answers) expect(r.mac, r.addr).toBe(macOf.get(r.addr));
    const none = out.outcomes.filter((r) => r.kind === 'NoAnswer').map((r) => `${r.addr} ${r.typeByte} ${r.count}`).sort();
    // ARP to IPv6 targets and NDP to IPv4 ones cannot be sent: final with 0 probes.
    const expected = [
      ...live.map((a) => (a.includes(':') ? `${a} 1 0` : `${a} 135 0`)),
      `${silent4} 1 2`, `${silent4} 135 0`, `${silent6} 135 2`, `${silent6} 1 0`,
    ].sort();
    expect(none).toEqual(expected);
    expect(out.counters.matched).toBe(live.length);
  });

  labIt('forged replies with wrong cookies are rejected as strays', async () => {
    const h4 = target(4);
    const { dropped, open } = portsOf(h4);
    const forged = 20;
    // From the router's namespace (on the path, as an off-path forger would need to be):
    // SYN-ACKs "from" the target to our source ports with an ack no cookie gives.
    const packets = Array.from({ length: forged }, (_, i) =>
      buildTcp({ src: h4, dst: lab.scanner.ipv4!, srcPort: open, dstPort: SOURCE_PORTS.first + i * 7, seq: 1000 + i, ack: 0x12345678 + i, flags: 0x12 }).toString('hex'));
    const py = `import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\nfor h in sys.stdin.read().split():\n  s.sendto(bytes.fromhex(h),('${lab.scanner.ipv4}',0))\n`;
    const out = await runChild(
      { targets: { v4: [h4] }, ports: [[1, dropped, dropped]], options: baseOptions({ maxRetries: 0, initialRttMs: 2500, minRttMs: 2500, maxRttMs: 2500 }) },
      async () => {
        await new Promise((r) => setTimeout(r, 500));
        const r = await lab.execIn(routerNs, '/usr/bin/python3', ['-c', py], { input: packets.join('\n') });
        if (r.code !== 0) throw new Error(`forging failed: ${r.stderr}`);
      },
    );
    expect(out.replies.filter((r) => r.kind === 'TcpReply')).toEqual([]);
    expect(out.counters.matched).toBe(0);
    expect(out.counters.strays).toBeGreaterThanOrEqual(forged);
    expect(out.outcomes.filter((r) => r.kind === 'NoAnswer').map((r) => r.count)).toEqual([1]);
  });

  labIt('on-link targets are reached through their neighbour MACs; an unknown on-link address has no next hop', async () => {
    const t = lab.truth();
    const hosts = lab.onLink.live;
    const ports = [1, 22, 80, 139, 445, 631, 9100];
    const silent = '10.20.0.250';
    const out = await runChild({ targets: { v4: [...hosts.filter((a) => !a.includes(':')), silent], v6: hosts.filter((a) => a.includes(':')) }, ports: ports.map((p) => [1, p, p]), options: baseOptions({ maxRetries: 0 }) });
    for (const h of hosts) {
      for (const p of ports) {
        const state = t.expect(h, 'tcp', p).state;
        expect(tcpFlagsOf(out.replies, h, p), `${h}:${p} ${state}`).toEqual([state === 'open' ? 0x12 : 0x14]);
      }
    }
    const none = out.outcomes.filter((r) => r.addr === silent);
    expect(none.map((r) => r.count)).toEqual(ports.map(() => 0));
    expect(out.counters.noRoute).toBe(ports.length);
  });

  labIt('pause stops the sender: the router counts no probe while paused', async () => {
    await nft(['-f', '-'], `table inet pfprobe {\n chain pre {\n  type filter hook prerouting priority -300;\n  tcp flags & (syn | ack) == syn tcp sport ${SOURCE_PORTS.first}-${SOURCE_PORTS.first + SOURCE_PORTS.count - 1} counter comment "syn"\n }\n}\n`);
    try {
      const h4 = lab.truth().discovery.routed.filter((a) => !a.includes(':'));
      const out = await runChild({
        targets: { v4: h4 },
        ports: [[1, 1, 1024]],
        options: baseOptions({ rate: 2000, maxRetries: 0, lingerMs: 0 }),
        pause: { afterMs: 700, forMs: 1500, counter: ['ip', 'netns', 'exec', routerNs, 'nft', '-j', 'list', 'table', 'inet', 'pfprobe'] },
        stopAfterMs: 700,
      });
      const p = out.pause!;
      expect(p.stateWhilePaused).toBe('paused');
      const before = nftCounters(p.before).syn;
      const after = nftCounters(p.after).syn;
      expect(before).toBeGreaterThan(500);
      expect(after).toBe(before);
      expect(p.sentAfterPause).toBe(p.sentAtPause);
      // It sent again after resume() and stop() ended it early.
      expect(out.counters.sent).toBeGreaterThan(p.sentAfterPause + 500);
      expect(out.state).toBe('stopped');
    } finally {
      await nft(['delete', 'table', 'inet', 'pfprobe']);
    }
  });

  labIt('a full device queue (ENOBUFS) is waited out and counted, never a lost probe: the router sees every SYN once', async () => {
    const h4 = target(4);
    const dev = lab.scanner.interface;
    // A small tbf on the scanner's interface: raw IP sends beyond its queue get ENOBUFS.
    const tc = async (args: string[]) => {
      const r = await lab.exec('tc', args);
      if (r.code !== 0) throw new Error(`tc ${args.join(' ')}: ${r.stderr}`);
    };
    await tc(['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '8mbit', 'burst', '16kb', 'limit', '16kb']);
    await nft(['-f', '-'], `table inet pfprobe {\n chain pre {\n  type filter hook prerouting priority -300;\n  ip daddr ${h4} tcp flags & (syn | ack) == syn tcp sport ${SOURCE_PORTS.first}-${SOURCE_PORTS.first + SOURCE_PORTS.count - 1} counter comment "syn"\n }\n}\n`);
    try {
      const out = await runChild({ targets: { v4: [h4] }, ports: [[1, 1, 1024]], options: baseOptions({ link: { ...plan, layer: 'ip' }, rate: 1e9, maxRetries: 0, initialRttMs: 1000, minRttMs: 1000, maxRttMs: 1000 }) });
      const c = nftCounters(await nft(['-j', 'list', 'table', 'inet', 'pfprobe']));
      expect(out.counters.sendBackpressure).toBeGreaterThan(0);
      expect(out.counters.sendErrors).toBe(0);
      expect(out.counters.sent).toBe(1024);
      expect(c.syn).toBe(1024);
    } finally {
      await nft(['delete', 'table', 'inet', 'pfprobe']);
      await tc(['qdisc', 'del', 'dev', dev, 'root']);
    }
  });

  labIt('retries go only to unanswered probes (SYNs per port counted at the router)', async () => {
    const h4 = target(4);
    const p = portsOf(h4);
    const rules = Object.entries(p)
      .map(([name, port]) => `  ip daddr ${h4} tcp dport ${port} tcp flags & (syn | ack) == syn counter comment "${name}"`)
      .join('\n');
    await nft(['-f', '-'], `table inet pfprobe {\n chain pre {\n  type filter hook prerouting priority -300;\n${rules}\n }\n}\n`);
    try {
      const out = await runChild({ targets: { v4: [h4] }, ports: Object.values(p).sort((a, b) => a - b).map((x) => [1, x, x]), options: baseOptions({ maxRetries: 2, initialRttMs: 300, minRttMs: 300, maxRttMs: 300 }) });
      const c = nftCounters(await nft(['-j', 'list', 'table', 'inet', 'pfprobe']));
      expect(c).toEqual({ open: 1, closed: 1, prohibited: 1, dropped: 3 });
      expect(out.counters.retries).toBe(2);
      expect(out.retriesSent).toBe(2);
      expect(out.outcomes.filter((r) => r.kind === 'NoAnswer').map((r) => [r.port, r.count])).toEqual([[p.dropped, 3]]);
    } finally {
      await nft(['delete', 'table', 'inet', 'pfprobe']);
    }
  });
});
