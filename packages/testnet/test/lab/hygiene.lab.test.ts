import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { labStatuses, listNamespaces, processesIn, startLab, STATE_DIR } from '../../src/index.js';
import { labIt } from './check.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const CLI = `${DIST}cli.js`;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

/** A separate process that brings a lab up, reports its namespaces and then idles, as a test run would. */
function ownerProcess(): { child: ChildProcess; up: Promise<{ id: string; namespaces: string[] }> } {
  const script = `
    const { startLab } = await import(${JSON.stringify(`${DIST}index.js`)});
    const lab = await startLab('unreachable');
    process.stdout.write(JSON.stringify({ id: lab.id, namespaces: lab.namespaces }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const up = new Promise<{ id: string; namespaces: string[] }>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { id: string; namespaces: string[] });
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code, signal) => reject(new Error(`owner exited (${signal ?? code}) before its lab was up: ${err}`)));
  });
  return { child, up };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

const present = (namespaces: readonly string[]) => {
  const all = new Set(listNamespaces());
  return namespaces.filter((n) => all.has(n));
};

describe('hygiene', () => {
  labIt('a run killed with SIGKILL leaves a stale lab that down --all-stale removes, and only that', async () => {
    const bystander = await startLab('unreachable'); // our own live lab must survive
    try {
      const { child, up } = ownerProcess();
      const { id, namespaces } = await up;
      child.kill('SIGKILL');
      await exited(child);
      expect(present(namespaces)).toEqual(namespaces);
      expect(labStatuses().find((l) => l.id === id)?.status).toBe('stale');
      expect(labStatuses().find((l) => l.id === bystander.id)?.status).toBe('running');

      const r = cli('down', '--all-stale');
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(id);
      expect(present(namespaces)).toEqual([]);
      expect(labStatuses().find((l) => l.id === id)).toBeUndefined();
      expect(present(bystander.namespaces)).toEqual(bystander.namespaces);
      expect(cli('down', '--all-stale').stdout).toBe('no stale labs\n');
    } finally {
      await bystander.down();
    }
    expect(present(bystander.namespaces)).toEqual([]);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    labIt(`a run stopped with ${signal} tears its lab down, listeners included`, async () => {
      const { child, up } = ownerProcess();
      const { namespaces } = await up;
      expect([...processesIn(namespaces).values()].flat().length).toBeGreaterThan(0);
      child.kill(signal);
      await exited(child);
      expect(child.signalCode).toBe(signal);
      expect(present(namespaces)).toEqual([]);
    });
  }

  labIt('treats a reused owner pid and a corrupt state file as stale, without crashing', () => {
    mkdirSync(STATE_DIR, { recursive: true });
    // Our own (live) pid, but another process start time: the pid was reused.
    const reused = `pftn${process.pid}-999`;
    writeFileSync(`${STATE_DIR}/${reused}.json`, JSON.stringify({ id: reused, lab: 'standard', ownerPid: process.pid, ownerStart: '1', persistent: false, namespaces: [] }));
    // A state file that is not JSON, of an owner that cannot exist (above pid_max).
    const corrupt = 'pftn99999999-0';
    writeFileSync(`${STATE_DIR}/${corrupt}.json`, '{"id": "pftn99999999-0", "lab": trunc');
    const statuses = labStatuses();
    expect(statuses.find((l) => l.id === reused)?.status).toBe('stale');
    expect(statuses.find((l) => l.id === corrupt)?.status).toBe('stale');
    const status = cli('status');
    expect(status.status).toBe(0);
    const r = cli('down', '--all-stale');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(reused);
    expect(r.stdout).toContain(corrupt);
    expect(existsSync(`${STATE_DIR}/${reused}.json`)).toBe(false);
    expect(existsSync(`${STATE_DIR}/${corrupt}.json`)).toBe(false);
  });

  labIt('a bring-up that fails removes what it had built and says why', async () => {
    const before = new Set(listNamespaces());
    const err = await startLab('standard', { readyTimeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    // readyTimeoutMs bounds both waits: for the links, then for the listeners
    expect(['ERR_TESTNET_STATE', 'ERR_TESTNET_SERVER']).toContain(err?.code);
    expect(err?.message).toMatch(/^(lab pftn\d+-\d+: links not ready after 1 ms in pftn|listeners in pftn\d+-\d+-(t|o)\d+ did not report ready within 1 ms)/);
    expect(listNamespaces().filter((n) => !before.has(n))).toEqual([]);
  });

  labIt('refuses to start without root, with a typed error', () => {
    const script = `import(${JSON.stringify(`${DIST}index.js`)}).then((m) => m.startLab('standard')).then(() => process.exit(0), (e) => { console.log(e.code + ' ' + e.message); process.exit(3); });`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout.trim()).toBe('ERR_TESTNET_NOT_ROOT lab "standard" needs root (network namespaces, veths, nftables); run as root or skip lab tests');
  });

  labIt('testnet up leaves a lab up that status lists, --all-stale spares and down removes', async () => {
    const up = cli('up', '--lab', 'unreachable', '--json');
    expect(up.status, up.stderr).toBe(0);
    const info = JSON.parse(up.stdout) as { id: string; namespaces: string[]; scanner: { namespace: string } };
    try {
      expect(present(info.namespaces)).toEqual(info.namespaces);
      const status = JSON.parse(cli('status', '--json').stdout) as { id: string; status: string; processes: number }[];
      const mine = status.find((s) => s.id === info.id)!;
      expect(mine.status).toBe('persistent');
      expect(mine.processes).toBeGreaterThan(0); // the detached listeners outlived the CLI
      cli('down', '--all-stale');
      expect(present(info.namespaces)).toEqual(info.namespaces);
      const exec = cli('exec', '--id', info.id, '--', 'ip', '-o', 'addr', 'show');
      expect(exec.status).toBe(0);
      expect(exec.stdout).toContain('inet 10.70.0.2/24'); // ran inside the scanner namespace
      const truth = JSON.parse(cli('truth', '--id', info.id, '--json').stdout) as { lab: string };
      expect(truth.lab).toBe('unreachable');
    } finally {
      const down = cli('down', info.id);
      expect(down.status, down.stderr).toBe(0);
    }
    expect(present(info.namespaces)).toEqual([]);
    expect([...processesIn(info.namespaces).values()].flat()).toEqual([]);
  });
});
