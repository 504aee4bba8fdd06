import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { TestnetError } from './errors.js';
import type { LabOverrides } from './labs.js';
import type { LabSpec } from './spec.js';
import { isAlive, listNamespaces, processesIn, processStartTime } from './namespaces.js';
import { parseLabNamespace } from './names.js';
import { run, runSync } from './run.js';

/**
 * What labs exist on this machine and who owns them. A lab's namespaces carry
 * its owner's pid in their names; a small state file in /run (tmpfs, so it
 * vanishes with the namespaces on reboot) adds the owner's start time, the lab
 * and its options, and whether the lab was left up on purpose (`testnet up`).
 */
export const STATE_DIR = '/run/portflow-testnet';

export interface LabState {
  readonly id: string;
  readonly lab: string;
  readonly overrides: LabOverrides;
  /** The full spec the lab was built from (overrides applied), so its truth can be recomputed. */
  readonly spec: LabSpec;
  readonly ownerPid: number;
  readonly ownerStart: string | undefined;
  /** Left up on purpose (by `testnet up`): never stale, removed by `testnet down`. */
  readonly persistent: boolean;
  readonly createdAt: string;
  readonly namespaces: readonly string[];
}

export interface LabStatus {
  readonly id: string;
  readonly state: LabState | undefined;
  readonly namespaces: readonly string[];
  readonly processes: number;
  /** `running`: its owner is alive; `persistent`: left up by `testnet up`; `stale`: owner gone, nobody will clean it. */
  readonly status: 'running' | 'persistent' | 'stale';
}

export function writeLabState(state: LabState): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  writeFileSync(`${STATE_DIR}/${state.id}.json`, `${JSON.stringify(state, null, 2)}\n`);
}

export function readLabState(id: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(`${STATE_DIR}/${id}.json`, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function removeLabState(id: string): void {
  rmSync(`${STATE_DIR}/${id}.json`, { force: true });
}

/** Every lab on the machine, from its namespaces and state files. */
export function labStatuses(): LabStatus[] {
  const byId = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    const parsed = parseLabNamespace(ns);
    if (!parsed) continue;
    const list = byId.get(parsed.id) ?? [];
    list.push(ns);
    byId.set(parsed.id, list);
  }
  let stateFiles: string[] = [];
  try {
    stateFiles = readdirSync(STATE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  } catch {
    // no state directory yet
  }
  for (const id of stateFiles) if (!byId.has(id)) byId.set(id, []);
  const procs = processesIn([...byId.values()].flat());
  const out: LabStatus[] = [];
  for (const [id, namespaces] of byId) {
    const state = readLabState(id);
    const pid = state?.ownerPid ?? Number(/^pftn(\d+)-/.exec(id)?.[1]);
    const ownerAlive = isAlive(pid) && (state?.ownerStart === undefined || processStartTime(pid) === state.ownerStart);
    const status = state?.persistent ? 'persistent' : ownerAlive ? 'running' : 'stale';
    const processes = namespaces.reduce((n, ns) => n + (procs.get(ns)?.length ?? 0), 0);
    out.push({ id, state, namespaces, processes, status });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

function survivors(namespaces: readonly string[]): number[] {
  return [...processesIn(namespaces).values()].flat();
}

const KILL_GRACE_MS = 1000;
const KILL_WAIT_MS = 3000;
const POLL_MS = 20;

/**
 * Remove a lab: kill every process inside its namespaces first (`ip netns del`
 * leaves them running, and they keep the namespace alive), then delete the
 * namespaces, which takes their veths, bridges, qdiscs and nft tables along.
 */
export async function removeLab(id: string, namespaces: readonly string[]): Promise<void> {
  let pids = survivors(namespaces);
  signalAll(pids, 'SIGTERM');
  for (let waited = 0; pids.length > 0 && waited < KILL_GRACE_MS; waited += POLL_MS) {
    await sleep(POLL_MS);
    pids = survivors(namespaces);
  }
  signalAll(pids, 'SIGKILL');
  for (let waited = 0; pids.length > 0 && waited < KILL_WAIT_MS; waited += POLL_MS) {
    await sleep(POLL_MS);
    pids = survivors(namespaces);
  }
  if (pids.length > 0) {
    throw new TestnetError('ERR_TESTNET_STATE', `lab ${id}: processes ${pids.join(', ')} survived SIGKILL; the namespaces are kept (check for processes in uninterruptible sleep)`);
  }
  const present = new Set(listNamespaces());
  const del = namespaces.filter((n) => present.has(n));
  if (del.length > 0) await run('ip', ['-force', '-batch', '-'], { input: del.map((n) => `netns del ${n}\n`).join('') });
  removeLabState(id);
}

/** Synchronous twin of removeLab(), for process exit and signal handlers. */
export function removeLabSync(id: string, namespaces: readonly string[]): void {
  let pids = survivors(namespaces);
  signalAll(pids, 'SIGTERM');
  for (let waited = 0; pids.length > 0 && waited < KILL_GRACE_MS; waited += POLL_MS) {
    sleepSync(POLL_MS);
    pids = survivors(namespaces);
  }
  signalAll(pids, 'SIGKILL');
  for (let waited = 0; pids.length > 0 && waited < KILL_WAIT_MS; waited += POLL_MS) {
    sleepSync(POLL_MS);
    pids = survivors(namespaces);
  }
  const present = new Set(listNamespaces());
  const del = namespaces.filter((n) => present.has(n));
  if (del.length > 0) runSync('ip', ['-force', '-batch', '-'], { input: del.map((n) => `netns del ${n}\n`).join('') });
  removeLabState(id);
}

/** Remove every stale lab (owner dead, not left up on purpose), and only those. Returns their ids. */
export async function removeStaleLabs(): Promise<string[]> {
  const stale = labStatuses().filter((l) => l.status === 'stale');
  for (const l of stale) await removeLab(l.id, l.namespaces);
  return stale.map((l) => l.id);
}
