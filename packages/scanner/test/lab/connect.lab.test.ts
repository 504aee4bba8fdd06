// Connect scan exactness where the truth is known: the loopback of a
// namespace this test creates (listeners it starts, nothing else), and the
// standard @portflow/testnet lab (open, closed, dropped, admin-prohibited and
// TCP-reset ports on routed IPv4 and IPv6 hosts). nmap -sT runs as a second
// opinion and for the figures, never as the truth.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LoopbackNamespace, startLab } from '@portflow/testnet';
import type { ScanResults } from '../../src/index.js';

const skip = inject('labSkipReason');
const labIt = skip ? it.skip : it;
if (skip) console.log(`[scanner lab] skipped: ${skip}`);

const CHILD = fileURLToPath(new URL('./scan-child.mjs', import.meta.url));
/** The namespace whose loopback the first describe scans (made in its beforeAll). */
let ns: LoopbackNamespace | undefined;

interface ChildOutput {
  results: ScanResults;
  counts: Record<string, number>;
  metrics: Record<string, number>;
  found: [string, number, string, string | undefined][];
  wallMs: number;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function runInNs(args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', ns!.name, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${String(code)}: ${err}`))));
    c.stdin.end(input);
  });
}

async function scanInNs(options: object): Promise<ChildOutput> {
  return JSON.parse(await runInNs([process.execPath, CHILD], JSON.stringify(options))) as ChildOutput;
}

function hasNmap(): boolean {
  return !spawnSync('nmap', ['-V'], { stdio: 'ignore' }).error;
}

/** nmap -sT over every port of an address in the namespace: its open ports and wall time. */
function nmapConnect(address: string): { open: number[]; ms: number } {
  const t0 = performance.now();
  const out = sh('ip', ['netns', 'exec', ns!.name, 'nmap', '-sT', '-p-', '-n', '-Pn', ...(address.includes(':') ? ['-6'] : []), '-oG', '-', address]);
  const ms = performance.now() - t0;
  const open = [...out.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
  return { open, ms };
}

// Open ports across the range, the ephemeral range (32768-60999) included:
// that is where TCP self-connects happen.
const LISTEN = [1, 22, 80, 443, 8080, 32768, 33000, 45000, 50000, 60999, 65535];
const LISTENER = `
  const net = require('node:net');
  const ports = process.argv.slice(1).map(Number);
  let left = ports.length * 2;
  for (const host of ['127.0.0.1', '::1']) for (const port of ports) {
    const s = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
    s.listen({ port, host, ipv6Only: host === '::1' }, () => { if (--left === 0) process.stdout.write('ready\\n'); });
  }
  // Dies with its owner, even on SIGKILL: stdin closes.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));`;

describe('connect scan of a namespace loopback', () => {
  let listener: ChildProcess | undefined;

  beforeAll(async () => {
    if (skip) return;
    ns = new LoopbackNamespace('pfscan', 'lo');
    listener = spawn('ip', ['netns', 'exec', ns!.name, process.execPath, '-e', LISTENER, ...LISTEN.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      listener!.on('exit', (c) => reject(new Error(`listener exited with ${String(c)}`)));
    });
  });

  afterAll(() => {
    if (skip) return;
    listener?.stdin?.end();
    listener?.kill('SIGKILL');
    ns!.delete();
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(ns!.name);
  });

  labIt('finds exactly the listeners among all 65,535 ports of 127.0.0.1 and ::1, self-connects counted as closed', async () => {
    const out = await scanInNs({ targets: ['127.0.0.1', '::1'], ports: '1-65535' });
    const r = out.results;
    expect(r.outcome).toBe('completed');
    expect(r.portsScanned).toBe(2 * 65535);
    expect(r.hosts.map((h) => h.address)).toEqual(['127.0.0.1', '::1']);
    let selfConnects = 0;
    for (const h of r.hosts) {
      expect(h.ports.filter((p) => p.state === 'open').map((p) => [p.port, p.reason])).toEqual(LISTEN.map((p) => [p, 'syn-ack']));
      // Besides the listeners, only TCP self-connects are listed: closed, with their own reason.
      const others = h.ports.filter((p) => p.state !== 'open');
      for (const p of others) expect([p.state, p.reason]).toEqual(['closed', 'self-connect']);
      selfConnects += others.length;
      expect(h.defaultState).toEqual({ state: 'closed', reason: 'conn-refused', count: 65535 - LISTEN.length - others.length });
      expect(h.counts).toMatchObject({ open: LISTEN.length, closed: 65535 - LISTEN.length, filtered: 0 });
    }
    expect(selfConnects).toBe(out.metrics['connect.self_connects']);
    expect(out.counts.PortFound).toBe(LISTEN.length);
    expect(out.counts.IPv6PortFound).toBe(LISTEN.length);
    console.log(
      `[scanner lab] connect scan of 127.0.0.1 + ::1, 2 x 65,535 ports: ${r.durationMs} ms (scan), self-connects seen and counted closed: ${out.metrics['connect.self_connects']}, srtt ${out.metrics['connect.srtt']} ms`,
    );
  });

  labIt('runs next to nmap -sT -p- on the same loopback (figures, interleaved; nmap as second opinion)', async () => {
    if (!hasNmap()) {
      if (process.env.CI === 'true') throw new Error('nmap is required on CI (apt-get install -y nmap)');
      console.log('[scanner lab] nmap not installed: comparison skipped');
      return;
    }
    const ours: number[] = [];
    const theirs: number[] = [];
    const theirOpen: number[] = [];
    // Interleaved: the machine's load drifts; each pair sees the same load.
    for (let i = 0; i < 3; i++) {
      const out = await scanInNs({ targets: '127.0.0.1', ports: '1-65535' });
      expect(out.results.hosts[0].ports.filter((p) => p.state === 'open').map((p) => p.port)).toEqual(LISTEN);
      ours.push(out.results.durationMs);
      const n = nmapConnect('127.0.0.1');
      // nmap must see every listener (it may add a self-connect false open of its own).
      expect(n.open).toEqual(expect.arrayContaining(LISTEN));
      theirOpen.push(...n.open);
      theirs.push(n.ms);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const falseOpen = theirOpen.filter((p) => !LISTEN.includes(p));
    console.log(`[scanner lab] 65,535 ports of a namespace's 127.0.0.1: portflow connect ${ours.map((x) => Math.round(x)).join('/')} ms (median ${Math.round(med(ours))}), nmap -sT -p- ${theirs.map((x) => Math.round(x)).join('/')} ms (median ${Math.round(med(theirs))}); nmap false opens over the 3 runs: ${falseOpen.length ? falseOpen.join(', ') : 'none'}`);
  });
});

describe('connect scan of the standard lab', () => {
  labIt('reports the lab truth for every live host x port, IPv4 and IPv6', async () => {
    const lab = await startLab('standard');
    try {
      const truth = lab.truth();
      const targets = [...truth.liveHosts];
      const ports = truth.lab.scanPorts.tcp;
      const run = await lab.runInScannerNs(CHILD, [], {
        input: JSON.stringify({ targets, ports: ports.join(','), report: { closed: true, filtered: true } }),
        timeoutMs: 600_000,
      });
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as ChildOutput;
      expect(out.results.outcome).toBe('completed');
      expect(out.results.portsScanned).toBe(targets.length * ports.length);
      // The connect scan's reason words for what the lab does (the kernel hides which ICMP code came back).
      const reasonFor: Record<string, readonly string[]> = {
        'syn-ack': ['syn-ack'],
        reset: ['conn-refused'],
        // IPv4 reports code 13 as EHOSTUNREACH; IPv6 reports EACCES, which the connect engine reads even
        // when the ICMPv6 error arrived inside connect() (a soft error, as the lab's veth delivers it).
        'admin-prohibited': ['host-unreach', 'no-response', 'admin-prohibited'],
        'host-unreach': ['host-unreach'],
        'no-response': ['no-response'],
      };
      const seen = new Set<string>();
      const wrong: string[] = [];
      for (const [target, port, state, reason] of out.found) {
        const key = `${target}:${port}`;
        if (seen.has(key)) wrong.push(`${key} reported twice`);
        seen.add(key);
        const t = truth.expect(target, 'tcp', port);
        if (state !== t.state) wrong.push(`${key}: ${state}, truth ${t.state} (${t.cause})`);
        else if (!t.reasons.some((r) => reasonFor[r]?.includes(reason ?? ''))) wrong.push(`${key}: reason ${reason}, truth ${t.reasons.join('|')}`);
      }
      expect(wrong).toEqual([]);
      expect(seen.size).toBe(targets.length * ports.length);
      const open = truth.openPorts('tcp').filter((p) => ports.includes(p.port)).length;
      expect(out.results.openPorts).toBe(open);
      console.log(
        `[scanner lab] standard lab, ${targets.length} live addresses x ${ports.length} ports: ${out.results.durationMs} ms, ${open} open, timeouts ${out.metrics['connect.timeouts']}, srtt ${out.metrics['connect.srtt']} ms, timeout ${out.metrics['connect.timeout']} ms`,
      );
    } finally {
      await lab.down();
    }
  });
});
