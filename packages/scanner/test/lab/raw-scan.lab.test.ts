// The raw scans (SYN, UDP, host discovery) on the native probe engine, in
// @portflow/testnet labs, against the lab's truth: the standard lab (IPv4 and
// IPv6, routed and on-link), UDP with ICMP limits lifted and at Linux
// defaults, 1% loss each way, and a SIGKILL after a checkpoint resumed from
// the log. nmap runs next to the SYN scan for the figures only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import * as native from '@portflow/native';
import { compareDiscovery, LoopbackNamespace, startLab, type Lab } from '@portflow/testnet';
import type { ScanResults } from '../../src/index.js';

const skipLab = inject('labSkipReason');
// The raw scans need the native probe engine built in.
const noEngine = typeof (native as Record<string, unknown>).ProbeEngine !== 'function' || typeof (native as Record<string, unknown>).planLink !== 'function';
const skip = skipLab || (noEngine ? '@portflow/native has no probe engine in this build (ProbeEngine, planLink)' : '');
const labIt = skip ? it.skip : it;
if (skip) console.log(`[scanner raw lab] skipped: ${skip}`);

const CHILD = fileURLToPath(new URL('./raw-scan-child.mjs', import.meta.url));

type Found = [target: string, port: number, protocol: 'tcp' | 'udp', state: string, reason: string | undefined];
interface ChildOutput {
  results: ScanResults;
  counts: Record<string, number>;
  metrics: Record<string, number>;
  found: Found[];
  hosts: [string, string, number, number | undefined][];
  warnings: [string, string | undefined, string][];
  rateLimits: [number, number][];
  wallMs: number;
  error?: string;
}

async function runRaw(lab: Lab, input: object, timeoutMs = 120_000): Promise<ChildOutput> {
  const r = await lab.runInScannerNs(CHILD, [], { input: JSON.stringify(input), timeoutMs });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as ChildOutput;
  expect(out.error, out.error).toBeUndefined();
  return out;
}

/** Every (host, port) reported exactly once, in a state and with a reason the truth accepts. */
function checkAgainstTruth(lab: Lab, found: Found[], hosts: readonly string[], ports: number[], protocol: 'tcp' | 'udp', reasonOk: (reason: string | undefined, truthReasons: readonly string[], state: string, truthState: string) => boolean = (r, rs) => rs.includes(r ?? '')): string[] {
  const truth = lab.truth();
  const seen = new Set<string>();
  const wrong: string[] = [];
  for (const [target, port, proto, state, reason] of found) {
    const key = `${target}:${port}/${proto}`;
    if (seen.has(key)) wrong.push(`${key} reported twice`);
    seen.add(key);
    const t = truth.expect(target, proto, port);
    // The truth speaks nmap ("open|filtered"), events @portflow/core ("open-filtered").
    if (!t.accept.includes((state === 'open-filtered' ? 'open|filtered' : state) as never)) wrong.push(`${key}: ${state}/${reason}, truth ${t.state} (${t.cause}; accepts ${t.accept.join('|')})`);
    else if (!reasonOk(reason, t.reasons, state, t.state)) wrong.push(`${key}: reason ${reason}, truth ${t.reasons.join('|')}`);
  }
  for (const h of hosts) for (const p of ports) if (!seen.has(`${h}:${p}/${protocol}`)) wrong.push(`${h}:${p}/${protocol} not reported`);
  return wrong;
}

/** A range over the first 255 interface ids of an IPv6 /64 prefix ("2001:db8:20:1::/64" → "…::1-…::ff"). */
const v6Range = (prefix: string): string => {
  const base = prefix.split('/')[0];
  return `${base}1-${base}ff`;
};

describe('raw scans of the standard lab', () => {
  labIt('SYN scan: the truth for every live host x port, IPv4 and IPv6, routed and on-link; nmap -T5 alongside for the figures', async () => {
    const lab = await startLab('standard');
    try {
      const truth = lab.truth();
      const hosts = [...truth.liveHosts];
      const ports = [...truth.lab.scanPorts.tcp];
      const out = await runRaw(lab, { options: { targets: hosts, ports: ports.join(','), type: 'syn', skipDiscovery: true, report: { closed: true, filtered: true } } });
      expect(out.results.outcome).toBe('completed');
      expect(checkAgainstTruth(lab, out.found, hosts, ports, 'tcp')).toEqual([]);
      expect(out.results.openPorts).toBe(truth.openPorts('tcp').filter((p) => ports.includes(p.port) && hosts.includes(p.address)).length);
      console.log(`[scanner raw lab] SYN, ${hosts.length} live addresses x ${ports.length} ports: ${out.results.durationMs} ms, sent ${out.metrics['probes.sent']}, retried ${out.metrics['probes.retried']}, duplicates ${out.metrics['probe.duplicates']}, drops ${out.metrics['probe.drops']}, resent answers ${out.metrics['probe.resent_answers']}, back-offs ${JSON.stringify(out.rateLimits)}, final rate ${out.metrics['probe.rate']} pps`);

      // Figures, the benchmark's setting: the routed IPv4 /24 (16 live hosts, the rest silent), no
      // discovery, T5 with one retry, next to nmap with the same settings in the same lab.
      const range = lab.targets.ipv4!;
      const fast = await runRaw(lab, { options: { targets: range, ports: ports.join(','), type: 'syn', skipDiscovery: true, timing: 5, maxRetries: 1 } });
      const routedOpen = truth.openPorts('tcp').filter((p) => ports.includes(p.port) && truth.discovery.routed.includes(p.address) && !p.address.includes(':'));
      expect(fast.found.map(([t, p]) => `${t}:${p}`).sort()).toEqual(routedOpen.map((p) => `${p.address}:${p.port}`).sort());
      let nmapMs = NaN;
      let nmapOpen = -1;
      if (!spawnSync('nmap', ['-V'], { stdio: 'ignore' }).error) {
        const t0 = performance.now();
        const n = await lab.exec('timeout', ['120', 'nmap', '-T5', '--min-rate', '20000', '--max-retries', '1', '-Pn', '-sS', '-n', '-p', ports.join(','), '-oG', '-', range], { timeoutMs: 130_000 });
        nmapMs = performance.now() - t0;
        expect(n.code, n.stderr).toBe(0);
        nmapOpen = (n.stdout.match(/\/open\/tcp/g) ?? []).length;
      } else if (process.env.CI === 'true') throw new Error('nmap is required on CI (apt-get install -y nmap)');
      console.log(
        `[scanner raw lab] SYN of ${range} x ${ports.length} ports, no discovery, T5, 1 retry: portflow ${fast.results.durationMs} ms (scan) / ${Math.round(fast.wallMs)} ms (process), ${fast.metrics['probes.sent']} packets, final rate ${fast.metrics['probe.rate']} pps, back-offs ${JSON.stringify(fast.rateLimits)}, ${fast.found.length} open; ` +
          `timeout 120 nmap -T5 --min-rate 20000 --max-retries 1 -Pn -sS: ${Math.round(nmapMs)} ms, ${nmapOpen} open`,
      );
    } finally {
      await lab.down();
    }
  });

  labIt('UDP scan with ICMP limits lifted: the truth for every live host x port', async () => {
    const lab = await startLab('standard', { icmp: 'lifted' });
    try {
      const truth = lab.truth();
      const hosts = [...truth.liveHosts];
      const ports = [...truth.lab.scanPorts.udp];
      const out = await runRaw(lab, { options: { targets: hosts, ports: ports.join(','), type: 'udp', skipDiscovery: true, report: { closed: true, filtered: true } } });
      expect(out.results.outcome).toBe('completed');
      expect(checkAgainstTruth(lab, out.found, hosts, ports, 'udp')).toEqual([]);
      // Lifted limits: every closed port answers, so none may hide as open|filtered.
      const hidden = out.found.filter(([t, p, , st]) => st === 'open-filtered' && truth.expect(t, 'udp', p).state === 'closed');
      expect(hidden).toEqual([]);
      console.log(`[scanner raw lab] UDP (ICMP lifted), ${hosts.length} x ${ports.length}: ${out.results.durationMs} ms, warnings ${out.warnings.length}`);
    } finally {
      await lab.down();
    }
  });

  labIt('UDP scan at Linux-default ICMP limits: limited hosts are named, their silent ports marked icmp-ratelimit, never plain no-response when closed', async () => {
    const lab = await startLab('standard', { icmp: 'default' });
    try {
      const truth = lab.truth();
      const hosts = [...truth.discovery.routed].filter((a) => !a.includes(':')).slice(0, 4);
      const out = await runRaw(lab, { options: { targets: hosts, ports: '1-200', type: 'udp', skipDiscovery: true, maxRetries: 1, report: { closed: true, filtered: true } } });
      expect(out.results.outcome).toBe('completed');
      const wrong: string[] = [];
      const limited = new Set(out.warnings.filter((w) => w[0] === 'ICMP_RATE_LIMITED').map((w) => w[1]));
      for (const [t, p, , state, reason] of out.found) {
        const real = truth.expect(t, 'udp', p).state;
        if (real === 'closed' && state === 'open-filtered' && reason !== 'icmp-ratelimit') wrong.push(`${t}:${p} closed reported open|filtered/${reason}`);
        if (state === 'open' && real !== 'open') wrong.push(`${t}:${p} false open`);
      }
      expect(wrong).toEqual([]);
      expect(limited.size).toBeGreaterThan(0);
      console.log(`[scanner raw lab] UDP at default ICMP limits, ${hosts.length} x 200: ${out.results.durationMs} ms, hosts found rate-limiting: ${[...limited].join(', ')}`);
    } finally {
      await lab.down();
    }
  });

  labIt('discovery (ping scan) finds exactly the live hosts, on-link and routed, IPv4 and IPv6', async () => {
    const lab = await startLab('standard');
    try {
      const targets = [lab.targets.ipv4!, lab.onLink.ipv4!, v6Range(lab.targets.ipv6!), v6Range(lab.onLink.ipv6!)];
      const out = await runRaw(lab, { options: { targets, exclude: [lab.scanner.ipv4!, lab.scanner.ipv6!], type: 'ping' } });
      expect(out.results.outcome).toBe('completed');
      const found = out.hosts.map((h) => h[0]);
      expect(new Set(found).size).toBe(found.length);
      const c = compareDiscovery(lab.truth(), found, { segment: 'all' });
      expect({ missed: c.missed, extra: c.extra }).toEqual({ missed: [], extra: [] });
      const onLink = new Set(lab.truth().discovery.onLink);
      for (const [ip, method] of out.hosts) if (onLink.has(ip)) expect(method, ip).toBe(ip.includes(':') ? 'ndp' : 'arp');
      console.log(`[scanner raw lab] ping scan of ${targets.join(' ')}: ${out.hosts.length} up in ${out.results.durationMs} ms`);
    } finally {
      await lab.down();
    }
  });

  labIt('1% loss each way: default retries ≥ 99.9% of the states and no false open; maxRetries 4 (as the README advises for lossy links) every state', async () => {
    const lab = await startLab('standard', { loss: { percent: 1, direction: 'both' } });
    try {
      const truth = lab.truth();
      const hosts = truth.discovery.routed.slice(0, 8);
      const ports = [...truth.lab.scanPorts.tcp];
      const byDefault = await runRaw(lab, { options: { targets: hosts, ports: ports.join(','), type: 'syn', skipDiscovery: true, report: { closed: true, filtered: true } } });
      const wrongByDefault = checkAgainstTruth(lab, byDefault.found, hosts, ports, 'tcp');
      expect(wrongByDefault.length, wrongByDefault.join('\n')).toBeLessThanOrEqual(Math.floor(hosts.length * ports.length * 0.001));
      const falseOpen = byDefault.found.filter(([target, port, proto, state]) => state === 'open' && !truth.expect(target, proto, port).accept.includes('open'));
      expect(falseOpen).toEqual([]);
      console.log(`[scanner raw lab] SYN with 1% loss each way, default retries (T3: 3): ${byDefault.results.durationMs} ms, states not the truth's: ${wrongByDefault.length} of ${hosts.length * ports.length}`);
      const out = await runRaw(lab, { options: { targets: hosts, ports: ports.join(','), type: 'syn', skipDiscovery: true, maxRetries: 4, report: { closed: true, filtered: true } } });
      expect(checkAgainstTruth(lab, out.found, hosts, ports, 'tcp')).toEqual([]);
      // Replies to resends are matched and read as such (each TCP try has its own source port).
      expect(out.metrics['probe.resent_answers']).toBeGreaterThan(0);
      console.log(
        `[scanner raw lab] SYN with 1% loss each way, ${hosts.length} x ${ports.length}: ${out.results.durationMs} ms, retried ${out.metrics['probes.retried']}, ` +
          `answers first try ${out.metrics['probe.first_try_answers']} / after a resend ${out.metrics['probe.resent_answers']}, back-offs ${JSON.stringify(out.rateLimits)}, final rate ${out.metrics['probe.rate']} pps`,
      );
    } finally {
      await lab.down();
    }
  });

  labIt('SIGKILL after a checkpoint, resumed from the log: every port exactly once, the truth', async () => {
    const lab = await startLab('standard');
    const dir = mkdtempSync(join(tmpdir(), 'pf-raw-resume-'));
    try {
      const truth = lab.truth();
      const hosts = truth.discovery.routed.filter((a) => !a.includes(':'));
      const ports = [...truth.lab.scanPorts.tcp];
      const log = join(dir, 'scan.jsonl');
      const options = { targets: hosts, ports: ports.join(','), type: 'syn', skipDiscovery: true, maxRate: 4000, checkpointIntervalMs: 250, report: { closed: true, filtered: true } };
      const child = lab.spawnInScanner(process.execPath, [CHILD], { stdio: ['pipe', 'ignore', 'inherit'] });
      child.stdin!.end(JSON.stringify({ options, log }));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        if (/"type":"ScanCheckpoint"[^\n]*"lowWater":[1-9]/.test(text)) break;
        if (Date.now() > deadline) throw new Error('no checkpoint with progress within 60 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const before = readFileSync(log, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
        try {
          return [JSON.parse(l) as { type: string; target?: string; port?: number; protocol?: string; state?: string; reason?: string }];
        } catch {
          return [];
        }
      });
      expect(before.some((e) => e.type === 'ScanCompleted')).toBe(false);
      const out = await runRaw(lab, { options: { ...options, maxRate: undefined }, resumeLog: log });
      expect(out.results.outcome).toBe('completed');
      const prior: Found[] = before.filter((e) => e.type === 'PortFound').map((e) => [e.target!, e.port!, 'tcp', e.state!, e.reason]);
      expect(checkAgainstTruth(lab, [...prior, ...out.found], hosts, ports, 'tcp')).toEqual([]);
      expect(out.results.portsScanned).toBe(hosts.length * ports.length);
      console.log(`[scanner raw lab] resume after SIGKILL: ${prior.length} ports before, ${out.found.length} after`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await lab.down();
    }
  });
});

describe('SYN scan of a namespace loopback (raw IP layer)', () => {
  labIt('finds exactly the listeners on 127.0.0.1 and ::1; every other port closed by RST', async () => {
    const ns = new LoopbackNamespace('pfrawlo', 'lo');
    const listener = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', `
      const net = require('node:net');
      net.createServer((c) => c.destroy()).listen(8080, '127.0.0.1');
      net.createServer((c) => c.destroy()).listen(22, '::1', () => process.stdout.write('ready\\n'));
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => listener.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
      const r = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, CHILD], {
        input: JSON.stringify({ options: { targets: ['127.0.0.1', '::1'], ports: '1-1024,8080', type: 'syn', skipDiscovery: true, report: { closed: true, filtered: true } } }),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as ChildOutput;
      expect(out.results.outcome).toBe('completed');
      expect(out.found).toHaveLength(2 * 1025);
      const open = out.found.filter((f) => f[3] === 'open').map((f) => `${f[0]}:${f[1]}`).sort();
      expect(open).toEqual(['127.0.0.1:8080', '::1:22']);
      for (const f of out.found) if (f[3] !== 'open') expect([f[3], f[4]]).toEqual(['closed', 'reset']);
      console.log(`[scanner raw lab] SYN of 127.0.0.1 + ::1 x 1,025 ports in a namespace: ${out.results.durationMs} ms`);
    } finally {
      listener.stdin!.end();
      listener.kill('SIGKILL');
      ns.delete();
    }
  });
});
