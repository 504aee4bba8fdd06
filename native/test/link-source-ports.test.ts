// Source port blocks from procfs formats (fixtures written to a temporary procfs tree),
// and the opt-in reservation in ip_local_reserved_ports with its restore paths.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SourcePortError, chooseSourcePorts, reserveSourcePorts } from '../ts/index.js';
import { formatReservedPorts, parsePortRange, parseReservedPorts, parseSocketTable } from '../ts/source-ports.js';

// Real lines from Linux 6.18 (/proc/net/tcp header + a listener on 0.0.0.0:8080 + an
// established connection from 10.0.0.2:61005), and the same shapes for tcp6/udp.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41237 1 0000000000000000 100 0 0 10 0
   1: 0200000A:EE4D 0100000A:0016 01 00000000:00000000 02:000A6B2F 00000000     0        0 41876 2 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:F000 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41240 1 0000000000000000 100 0 0 10 0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 40102 2 0000000000000000 0
`;

const dirs: string[] = [];
function fakeProc(opts: { range?: string; reserved?: string; tcp?: string; tcp6?: string | null; udp?: string }): string {
  const root = mkdtempSync(join(tmpdir(), 'pf-proc-'));
  dirs.push(root);
  mkdirSync(join(root, 'sys/net/ipv4'), { recursive: true });
  mkdirSync(join(root, 'net'));
  writeFileSync(join(root, 'sys/net/ipv4/ip_local_port_range'), opts.range ?? '32768\t60999\n');
  writeFileSync(join(root, 'sys/net/ipv4/ip_local_reserved_ports'), opts.reserved ?? '\n');
  writeFileSync(join(root, 'net/tcp'), opts.tcp ?? TCP);
  if (opts.tcp6 !== null) writeFileSync(join(root, 'net/tcp6'), opts.tcp6 ?? TCP6);
  writeFileSync(join(root, 'net/udp'), opts.udp ?? UDP);
  writeFileSync(join(root, 'net/udp6'), UDP.split('\n')[0] + '\n');
  return root;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('procfs formats', () => {
  it('reads the ephemeral range, reserved ports and socket tables', () => {
    expect(parsePortRange('32768\t60999\n')).toEqual([32768, 60999]);
    expect(() => parsePortRange('60999')).toThrowError(SourcePortError);
    expect(parseReservedPorts('\n')).toEqual([]);
    expect(parseReservedPorts('8080,61000-61010,62000\n')).toEqual([[8080, 8080], [61000, 61010], [62000, 62000]]);
    expect(() => parseReservedPorts('80,x')).toThrowError(/ip_local_reserved_ports: cannot read "x"/);
    expect(parseSocketTable(TCP)).toEqual([8080, 61005]);
    expect(parseSocketTable(TCP6)).toEqual([61440]);
    expect(parseSocketTable(UDP)).toEqual([53]);
    expect(formatReservedPorts([[62000, 62000], [61000, 61010], [61011, 61020], [8080, 8080]])).toBe('8080,61000-61020,62000');
  });
});

describe('chooseSourcePorts', () => {
  it('takes the lowest free block above the ephemeral range, skipping reserved and bound ports', () => {
    expect(chooseSourcePorts(4096, { procRoot: fakeProc({ tcp: TCP.split('\n')[0] + '\n', tcp6: null }) })).toEqual({ first: 61000, count: 4096 });
    // 61005 is bound (tcp): the block starts after it.
    expect(chooseSourcePorts(4096, { procRoot: fakeProc({ tcp6: null }) })).toEqual({ first: 61006, count: 4096 });
    // 61440 bound (tcp6), 61000-61010 reserved: 61441-65535 is the only run of 4095.
    expect(chooseSourcePorts(4095, { procRoot: fakeProc({ reserved: '61000-61010\n' }) })).toEqual({ first: 61441, count: 4095 });
    expect(chooseSourcePorts(16, { procRoot: fakeProc({ range: '1024 65000' }) })).toEqual({ first: 65001, count: 16 });
    expect(chooseSourcePorts(undefined, { procRoot: fakeProc({ tcp6: null }) }).count).toBe(4096);
  });

  it('says how to make room when no block fits', () => {
    const root = fakeProc({ reserved: '62000\n' });
    expect(() => chooseSourcePorts(4096, { procRoot: root })).toThrowError(SourcePortError);
    expect(() => chooseSourcePorts(4096, { procRoot: root })).toThrowError(/no 4096 consecutive free source ports above the ephemeral range \(ip_local_port_range ends at 60999.*ask for fewer ports, or lower the range's upper bound/);
    expect(() => chooseSourcePorts(0, { procRoot: root })).toThrowError(/count: 0 must be an integer/);
    expect(() => chooseSourcePorts(16, { procRoot: join(root, 'missing') })).toThrowError(/cannot read .*ip_local_port_range/);
  });

  it('reads the real procfs of this namespace', () => {
    const p = chooseSourcePorts(64);
    const [, hi] = parsePortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
    expect(p.first).toBeGreaterThan(hi);
    expect(p.first + p.count - 1).toBeLessThanOrEqual(65535);
  });
});

describe('reserveSourcePorts (on a fake procfs)', () => {
  it('adds the block, keeps earlier reservations, and restores exactly once', () => {
    const root = fakeProc({ reserved: '8080,61000-61010\n' });
    const file = join(root, 'sys/net/ipv4/ip_local_reserved_ports');
    const r = reserveSourcePorts({ first: 61005, count: 100 }, { procRoot: root });
    expect(readFileSync(file, 'utf8').trim()).toBe('8080,61000-61104');
    // Someone else reserves more meanwhile: restore removes only what it added.
    writeFileSync(file, '8080,9000,61000-61104\n');
    r.restore();
    expect(readFileSync(file, 'utf8').trim()).toBe('8080,9000,61000-61010');
    writeFileSync(file, '7000\n');
    r.restore();
    expect(readFileSync(file, 'utf8').trim()).toBe('7000');
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  it('refuses blocks outside 1-65535', () => {
    expect(() => reserveSourcePorts({ first: 65000, count: 1000 }, { procRoot: fakeProc({}) })).toThrowError(SourcePortError);
  });

  // The exit paths need a process of their own; it runs the built package (turbo builds before testing).
  const CHILD = fileURLToPath(new URL('./lab/link-child.mjs', import.meta.url));
  const run = (root: string, how: string) => spawnSync(process.execPath, [CHILD, 'reserve', root, how], { encoding: 'utf8', timeout: 20_000 });

  it.each(['exit', 'throw', 'SIGTERM', 'SIGINT', 'SIGHUP'])('restores on %s and the process ends as it would have', (how) => {
    const root = fakeProc({ reserved: '8080\n' });
    const r = run(root, how);
    expect(readFileSync(join(root, 'sys/net/ipv4/ip_local_reserved_ports'), 'utf8').trim()).toBe('8080');
    expect(r.stdout).toContain('reserved 8080,61000-61099');
    if (how.startsWith('SIG')) expect(r.signal).toBe(how);
    else expect(r.status).toBe(how === 'throw' ? 1 : 0);
  });

  it('does not stand aside for another library hook that follows the same protocol', () => {
    const root = fakeProc({ reserved: '8080\n' });
    const r = run(root, 'SIGTERM-other-hook');
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).toContain('other hook');
    expect(readFileSync(join(root, 'sys/net/ipv4/ip_local_reserved_ports'), 'utf8').trim()).toBe('8080');
  });

  it('stands aside when the application owns the signal', () => {
    const root = fakeProc({ reserved: '8080\n' });
    const r = run(root, 'SIGTERM-owned');
    // The application's handler ran and exited with 3; the exit listener restored.
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('app handler');
    expect(readFileSync(join(root, 'sys/net/ipv4/ip_local_reserved_ports'), 'utf8').trim()).toBe('8080');
  });
});
