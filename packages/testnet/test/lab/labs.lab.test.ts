import { describe, expect } from 'vitest';
import { addressAt } from '../../src/address.js';
import { compareScan, labNames, startLab, type Lab, type PortState, type Reason, type ScanReport } from '../../src/index.js';
import { labIt, leftovers, mismatches, probesFor } from './check.js';

/** Addresses of the lab that must not answer: routed, silent and on-link ones that are not live. */
function nonLiveSamples(lab: Lab): string[] {
  const r = lab.resolved;
  const out: string[] = [];
  const truth = lab.truth();
  const pick = (p: NonNullable<typeof r.routed4>, offsets: number[]) => {
    for (const o of offsets) {
      const a = addressAt(p, o, 'sample');
      if (!truth.isLive(a) && a !== lab.scanner.ipv4 && a !== lab.scanner.ipv6) out.push(a);
    }
  };
  if (r.routed4) pick(r.routed4, [11, 77, 200]);
  if (r.routed6) pick(r.routed6, [11, 0xbeef]);
  for (const s of r.silent) pick(s, [5, 4242]);
  if (r.onLink4) pick(r.onLink4, [99]);
  if (r.onLink6) pick(r.onLink6, [0x99]);
  return out;
}

describe.each(labNames())('lab %s', (name) => {
  labIt('comes up, answers plain sockets as its truth says, and leaves nothing behind', async () => {
    const lab = await startLab(name);
    let results;
    try {
      const truth = lab.truth();
      const probes = probesFor(truth, nonLiveSamples(lab));
      results = await lab.probe(probes, { timeoutMs: 1000 });
      expect(results).toHaveLength(probes.length);
      expect(mismatches(truth, results)).toEqual([]);
      // Every kind of behaviour the lab declares was actually seen.
      const outcomes = new Set(results.map((r) => `${r.protocol}:${r.outcome}`));
      expect(outcomes).toContain('tcp:connected');
      expect(outcomes).toContain('tcp:refused');
      expect(outcomes).toContain('udp:reply');
      expect(outcomes).toContain('udp:refused');
      expect(outcomes).toContain(lab.spec.nonLive === 'drop' ? 'tcp:timeout' : 'tcp:unreachable');
    } finally {
      await lab.down();
    }
    expect(leftovers(lab)).toEqual([]);
  });
});

describe('the standard lab', () => {
  labIt('reports how long it takes to come up and go down', async () => {
    const lab = await startLab('standard');
    const t0 = performance.now();
    await lab.down();
    const downMs = performance.now() - t0;
    console.log(`[testnet lab] standard lab: up ${lab.upMs.toFixed(0)} ms, down ${downMs.toFixed(0)} ms`);
    expect(leftovers(lab)).toEqual([]);
  });

  labIt('finds its on-link neighbours by ARP and NDP', async () => {
    const lab = await startLab('standard');
    try {
      const addrs = lab.onLink.live;
      // Any packet to a neighbour resolves it, as a discovery sweep would; port 7 is closed everywhere.
      const results = await lab.probe([...addrs, '10.20.0.99', '2001:db8:20::99'].map((address) => ({ address, protocol: 'tcp' as const, port: 7 })), { timeoutMs: 1000 });
      expect(results.slice(0, addrs.length).map((r) => r.outcome)).toEqual(addrs.map(() => 'refused'));
      expect(results.slice(addrs.length).map((r) => r.outcome)).toEqual(['timeout', 'timeout']);
      const neigh = await lab.exec('ip', ['neigh', 'show', 'dev', lab.scanner.interface]);
      for (const a of addrs) expect(neigh.stdout).toMatch(new RegExp(`^${a.replace(/\./g, '\\.')} lladdr `, 'm'));
      // A non-live on-link address stays unresolved.
      expect(neigh.stdout).not.toMatch(/^10\.20\.0\.99 lladdr /m);
    } finally {
      await lab.down();
    }
  });

  labIt('agrees with nmap, the second opinion, on every open TCP port', async (ctx) => {
    const lab = await startLab('standard');
    try {
      const which = await lab.exec('sh', ['-c', 'command -v nmap']);
      if (which.code !== 0) {
        if (process.env.CI === 'true') throw new Error('nmap is missing on CI (apt-get install -y nmap)');
        ctx.skip('nmap is not installed');
      }
      const truth = lab.truth();
      const hosts = truth.discovery.routed.filter((a) => !a.includes(':'));
      const r = await lab.exec('nmap', ['-sS', '-Pn', '-n', '-T4', '--max-retries', '3', '-p', lab.spec.scanPorts.tcp, '-oX', '-', ...hosts], { timeoutMs: 110_000 });
      expect(r.code, r.stderr).toBe(0);
      // Every port nmap lists (the closed ones are summarized as "ignored"), with its state and reason.
      const reports: ScanReport[] = [];
      for (const m of r.stdout.matchAll(/<host\b[\s\S]*?<\/host>/g)) {
        const address = /<address addr="([^"]+)" addrtype="ipv4"/.exec(m[0])![1];
        for (const p of m[0].matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([^"]+)" reason="([^"]+)"/g)) {
          reports.push({ address, protocol: 'tcp', port: Number(p[1]), state: p[2] as PortState, reason: p[3] as Reason });
        }
      }
      expect(truth.openPorts('tcp').filter((p) => hosts.includes(p.address))).toHaveLength(224);
      const c = compareScan(truth, reports, { protocol: 'tcp', addresses: hosts });
      expect({ missedOpen: c.missedOpen, wrongState: c.wrongState, wrongReason: c.wrongReason, outsideLab: c.outsideLab }).toEqual({ missedOpen: [], wrongState: [], wrongReason: [], outsideLab: [] });
      // 224 open, and each of the 16 hosts' dropped and admin-prohibited ports as filtered
      expect(c.checked).toBe(224 + 32);
    } finally {
      await lab.down();
    }
  });
  labIt('agrees with nmap on UDP: DNS and reply services open, drops open|filtered, rejects filtered, the rest closed', async (ctx) => {
    const lab = await startLab('standard');
    try {
      if ((await lab.exec('sh', ['-c', 'command -v nmap'])).code !== 0) {
        if (process.env.CI === 'true') throw new Error('nmap is missing on CI (apt-get install -y nmap)');
        ctx.skip('nmap is not installed');
      }
      const truth = lab.truth();
      const hosts = truth.discovery.routed.filter((a) => !a.includes(':') && truth.host(a)!.role === 'target');
      const ports = [9, 53, 123, 161, 500];
      const r = await lab.exec('nmap', ['-sU', '-Pn', '-n', '-T4', '--max-retries', '2', '-p', ports.join(','), '-oX', '-', ...hosts], { timeoutMs: 110_000 });
      expect(r.code, r.stderr).toBe(0);
      const reports: ScanReport[] = [];
      for (const m of r.stdout.matchAll(/<host\b[\s\S]*?<\/host>/g)) {
        const address = /<address addr="([^"]+)" addrtype="ipv4"/.exec(m[0])![1];
        for (const p of m[0].matchAll(/<port protocol="udp" portid="(\d+)"><state state="([^"]+)" reason="([^"]+)"/g)) {
          reports.push({ address, protocol: 'udp', port: Number(p[1]), state: p[2] as PortState, reason: p[3] as Reason });
        }
      }
      const c = compareScan(truth, reports, { protocol: 'udp', addresses: hosts, ports });
      expect({ missedOpen: c.missedOpen, wrongState: c.wrongState, wrongReason: c.wrongReason, outsideLab: c.outsideLab }).toEqual({ missedOpen: [], wrongState: [], wrongReason: [], outsideLab: [] });
      expect(c.checked).toBe(hosts.length * ports.length); // five ports: few enough that nmap lists every one
    } finally {
      await lab.down();
    }
  });
});
