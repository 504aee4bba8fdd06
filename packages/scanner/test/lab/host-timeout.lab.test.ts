// hostTimeoutMs with the real probe engine in the standard lab: two live hosts and one
// silent address of the routed /24 (the router drops everything to it), SYN scan with a
// 2 s probe timeout and 5 retries, so the silent address could only end by NoAnswer after
// 12 s; with hostTimeoutMs 1,000 it is given up first. The router counts the SYNs that
// reach it for that address (an nftables counter ahead of the lab's own table): exactly one
// per port, so no resend left after the host was given up (the first would be due at 2 s).
// Then the same with a connect scan (the native connect engine).
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import * as native from '@portflow/native';
import { startLab } from '@portflow/testnet';
import type { ScanResults } from '../../src/index.js';

const skipLab = inject('labSkipReason');
const noEngine = typeof (native as Record<string, unknown>).ProbeEngine !== 'function';
const skip = skipLab || (noEngine ? '@portflow/native has no probe engine in this build' : '');
const labIt = skip ? it.skip : it;
if (skip) console.log(`[scanner host-timeout lab] skipped: ${skip}`);

const CHILD = fileURLToPath(new URL('./raw-scan-child.mjs', import.meta.url));

interface ChildOutput {
  results: ScanResults;
  found: [string, number, string, string, string | undefined][];
  warnings: [string, string | undefined, string][];
  error?: string;
}

/**
 * Two live hosts and one silent address of the routed /24, 20 open or closed ports, a 2 s
 * probe timeout and 5 retries: the silent address is given up after `hostTimeoutMs`, and the
 * router counts exactly one SYN per port for it.
 */
async function silentHostGivenUp(type: 'syn' | 'connect', hostTimeoutMs: number): Promise<void> {
  const lab = await startLab('standard');
  try {
    const truth = lab.truth();
    const live = truth.discovery.routed.filter((a) => !a.includes(':')).slice(0, 2);
    const prefix = lab.targets.ipv4!.split('/')[0].split('.').slice(0, 3).join('.');
    const silent = [...Array(250).keys()].map((i) => `${prefix}.${i + 3}`).find((a) => !lab.targets.live.includes(a))!;
    // Open and closed ports only (the dropped port would need its own retries on the live hosts too).
    const ports = truth.lab.scanPorts.tcp.filter((p) => live.every((a) => truth.expect(a, 'tcp', p).state !== 'filtered')).slice(0, 20);
    expect(ports.length).toBe(20);

    const rtr = lab.namespaces.find((n) => n.endsWith('-rtr'))!;
    const nft = async (args: string[]): Promise<string> => {
      const r = await lab.execIn(rtr, 'nft', args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    await nft(['add', 'table', 'inet', 'pf_hto']);
    await nft(['add', 'chain', 'inet', 'pf_hto', 'pre', '{ type filter hook prerouting priority -300; }']);
    await nft(['add', 'rule', 'inet', 'pf_hto', 'pre', 'ip', 'daddr', silent, 'tcp', 'flags', 'syn', 'counter']);

    const r = await lab.runInScannerNs(CHILD, [], {
      input: JSON.stringify({
        options: {
          targets: [...live, silent], ports: ports.join(','), type, skipDiscovery: true, report: { closed: true, filtered: true },
          initialTimeoutMs: 2000, minTimeoutMs: 2000, maxTimeoutMs: 2000, maxRetries: 5, hostTimeoutMs,
        },
      }),
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ChildOutput;
    expect(out.error, out.error).toBeUndefined();
    expect(out.results.outcome).toBe('completed');

    // The silent host: one HOST_TIMEOUT naming every port as left, no port result, timed out.
    const timeouts = out.warnings.filter(([code]) => code === 'HOST_TIMEOUT');
    expect(timeouts.map(([, target]) => target)).toEqual([silent]);
    expect(timeouts[0][2]).toContain(`; 20 of its 20 TCP ports were left unscanned`);
    expect(out.found.filter(([t]) => t === silent)).toEqual([]);
    const hosts = new Map(out.results.hosts.map((h) => [h.address, h]));
    expect(hosts.get(silent)?.timedOut).toBe(true);

    // The live hosts: every port, as the truth says, not timed out.
    for (const a of live) {
      expect(hosts.get(a)?.timedOut, a).toBe(false);
      for (const p of ports) {
        const f = out.found.filter(([t, port]) => t === a && port === p);
        expect(f.length, `${a}:${p}`).toBe(1);
        expect(truth.expect(a, 'tcp', p).accept, `${a}:${p}`).toContain(f[0][3]);
      }
    }

    // At the target side: the first try of each port and nothing after the host was given up.
    const listed = await nft(['list', 'chain', 'inet', 'pf_hto', 'pre']);
    const packets = Number(/counter packets (\d+)/.exec(listed)?.[1]);
    console.log(`[scanner host-timeout lab] ${type === 'connect' ? 'connect: ' : ''}${silent}: ${packets} SYNs reached the router (20 ports, 5 retries allowed, 2 s timeout, hostTimeoutMs ${hostTimeoutMs.toLocaleString('en')}); scan ${out.results.durationMs} ms`);
    expect(packets).toBe(20);
  } finally {
    await lab.down();
  }
}

describe('hostTimeoutMs on the probe engine', () => {
  labIt('gives a silent host up after hostTimeoutMs: no resend reaches it, the live hosts get the truth', () => silentHostGivenUp('syn', 1000));
});

// The same on the native connect engine (no raw sockets: the kernel's connect). Five
// retries at a 2 s timeout would keep connecting to the silent address for 12 s, and the
// kernel itself retransmits a connect's SYN after 1 s; given up after 500 ms (its
// connects in flight closed), it gets only each port's first SYN, counted at the router.
describe('hostTimeoutMs on the connect engine', () => {
  const connectIt = skipLab ? it.skip : it;
  connectIt('gives a silent host up after hostTimeoutMs: no resend reaches it, the live hosts get the truth', () => silentHostGivenUp('connect', 500));
});
