import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TruthJSON } from '../src/index.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

describe('testnet CLI (no root needed)', () => {
  it('prints the truth of a named lab as JSON', () => {
    const r = cli('truth', '--lab', 'standard', '--json');
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout) as TruthJSON;
    expect(t.lab).toBe('standard');
    expect(t.hosts.filter((h) => h.role === 'target')).toHaveLength(32);
  });

  it('applies options to the truth', () => {
    const t = JSON.parse(cli('truth', '--lab', 'standard', '--icmp', 'default', '--loss', '2:to-targets', '--json').stdout) as TruthJSON;
    expect(t.icmp).toEqual({ router: 'default', targets: 'default' });
    expect(t.faults.loss).toEqual({ percent: 2, direction: 'to-targets' });
  });

  it('expands the truth to one JSON line per live address, scan port and protocol', () => {
    const r = cli('truth', '--lab', 'standard', '--expand');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { address: string; protocol: string; port: number; state: string });
    const t = JSON.parse(cli('truth', '--lab', 'standard', '--json').stdout) as TruthJSON;
    expect(lines).toHaveLength(t.liveHosts.length * (1032 + 10));
    expect(lines.filter((l) => l.protocol === 'tcp' && l.state === 'open' && !l.address.includes(':') && l.address.startsWith('10.20.1.'))).toHaveLength(224);
  });

  it('lists the labs', () => {
    const r = cli('labs');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^standard\s+small office/m);
  });

  it('fails with one clear line on bad input', () => {
    const unknownLab = cli('truth', '--lab', 'nope');
    expect(unknownLab.status).toBe(1);
    expect(unknownLab.stderr).toBe('testnet: no lab named "nope"; the labs are: standard, ipv6, onlink, silent-range, unreachable [ERR_TESTNET_UNKNOWN_LAB]\n');
    const badLoss = cli('truth', '--lab', 'standard', '--loss', 'lots');
    expect(badLoss.status).toBe(1);
    expect(badLoss.stderr).toMatch(/^testnet: lab "standard": loss\.percent NaN must be above 0/);
    const badIcmp = cli('up', '--icmp', 'off');
    expect(badIcmp.status).toBe(2);
    expect(badIcmp.stderr.split('\n')[0]).toBe('testnet: --icmp "off" must be lifted or default');
    const unknown = cli('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('testnet: unknown command "frobnicate"');
    const badFlag = cli('status', '--bogus');
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr.split('\n')[0]).toMatch(/^testnet: Unknown option '--bogus'/);
  });
});
