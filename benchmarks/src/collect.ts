import { spawnSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './harness.js';
import { SUITES } from './suites/index.js';
import type { Goal } from './suite.js';
import type { WorkerOutput } from './worker.js';
import type { Percentiles } from './suites/latency.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
/** No single benchmark process may take longer than this (a scan that hangs must not hold `pnpm bench`). */
const WORKER_TIMEOUT_MS = 300_000;

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  /** What baselines are keyed by. */
  machineClass: string;
}

export function machine(): Machine {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  const cores = cpus().length;
  return { cpu, cores, kernel: release(), node: process.version, machineClass: `${cpu} x${cores}` };
}

export interface RatioFigure {
  peer: string;
  /** Median of every per-pair ratio (ours ÷ peer, same round, same process). */
  median: number;
  /** Lowest and highest per-process median ratio (per-round ratio when the suite ran in one process). */
  min: number;
  max: number;
  /** (max − min) ÷ median. */
  spread: number;
}

export interface CaseResult {
  id: string;
  title: string;
  unit: string;
  oursNs: number;
  oursMin: number;
  oursMax: number;
  peersNs: Record<string, number>;
  ratios: RatioFigure[];
  /** `notMeasured`: the case was unavailable here, so the goal was neither met nor missed. */
  goals: (Goal & { met: boolean; actual: number; notMeasured?: boolean })[];
  guard: string[];
  /** Show the figure as operations per second too. */
  showRate?: boolean;
  notes?: string[];
  /** Why the case could not run on this machine: no figures then. */
  unavailable?: string;
}

export interface SuiteResult {
  suite: string;
  processes: number;
  cases: CaseResult[];
  latency?: { sync: Percentiles; stream: Percentiles };
}

function pinArgs(suite: string): string[] {
  if (SUITES[suite]?.pin === false) return [];
  // Pin to the last core: the first takes interrupts and the shell; on two cores this halves the noise from
  // whatever else runs. Only where taskset exists.
  const tasksets = ['/usr/bin/taskset', '/bin/taskset'];
  const ts = tasksets.find((p) => existsSync(p));
  const n = cpus().length;
  return ts && n > 1 ? [ts, '-c', String(n - 1)] : [];
}

export function runWorker(suite: string, opts: { quick: boolean; cases?: string[]; guardOnly?: boolean }): WorkerOutput {
  const pin = pinArgs(suite);
  const args = [WORKER, suite, ...(opts.quick ? ['--quick'] : []), ...(opts.guardOnly ? ['--guard-only'] : []), ...(opts.cases ? [`--cases=${opts.cases.join(',')}`] : [])];
  const cmd = pin.length ? pin[0] : process.execPath;
  const full = pin.length ? [...pin.slice(1), process.execPath, ...args] : args;
  // stderr passes through: a scan suite says there what it waits for (the lab lock) and what it skipped.
  const r = spawnSync(cmd, full, { encoding: 'utf8', maxBuffer: 64 << 20, env: process.env, stdio: ['ignore', 'pipe', 'inherit'], timeout: WORKER_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`benchmark process for ${suite} failed (${r.signal ? `killed by ${r.signal} after ${WORKER_TIMEOUT_MS / 1000} s at most` : `exit ${r.status}`}); its stderr is above`);
  return JSON.parse(r.stdout) as WorkerOutput;
}

export function runSuite(name: string, opts: { quick: boolean; processes: number; cases?: string[]; guardOnly?: boolean; log?: (s: string) => void }): SuiteResult {
  const outs: WorkerOutput[] = [];
  const processes = SUITES[name]?.processes ?? opts.processes;
  const ids = name === 'latency' ? [undefined] : SUITES[name].cases.map((c) => c.id).filter((id) => !opts.cases || opts.cases.includes(id));
  for (let p = 0; p < processes; p++) {
    opts.log?.(`  ${name}: round ${p + 1}/${processes}`);
    // One fresh process per case: no case's type feedback leaks into another's.
    const parts = ids.map((id) => runWorker(name, { quick: opts.quick, guardOnly: opts.guardOnly, cases: id === undefined ? undefined : [id] }));
    outs.push({ suite: name, cases: parts.flatMap((o) => o.cases), latency: parts[0].latency });
  }
  if (name === 'latency') {
    const pick = (k: 'sync' | 'stream'): Percentiles => {
      const xs = outs.map((o) => o.latency![k]);
      return { p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), p999: median(xs.map((x) => x.p999)), count: xs.reduce((a, x) => a + x.count, 0) };
    };
    return { suite: name, processes: outs.length, cases: [], latency: { sync: pick('sync'), stream: pick('stream') } };
  }
  const suite = SUITES[name];
  const defs = new Map(suite.cases.map((c) => [c.id, c]));
  const cases: CaseResult[] = [];
  for (const first of outs[0].cases) {
    const def = defs.get(first.id)!;
    const all = outs.map((o) => o.cases.find((c) => c.id === first.id)!);
    const unavailable = all.find((c) => c.unavailable)?.unavailable;
    const notes = [...new Set(all.flatMap((c) => c.notes ?? []))];
    if (unavailable) {
      cases.push({
        id: first.id, title: def.title, unit: def.unit, oursNs: Number.NaN, oursMin: Number.NaN, oursMax: Number.NaN,
        peersNs: {}, ratios: [], goals: (def.goals ?? []).map((g) => ({ ...g, met: false, actual: Number.NaN, notMeasured: true })), guard: def.guard ?? [], showRate: def.showRate, notes, unavailable,
      });
      continue;
    }
    const oursAll = all.flatMap((c) => c.ours);
    // One process (the scan suites): the range is that of the rounds themselves, not of one median.
    const single = all.length === 1;
    const perProcOurs = single ? all[0].ours : all.map((c) => median(c.ours));
    const peersNs: Record<string, number> = {};
    const ratios: RatioFigure[] = [];
    for (const peer of Object.keys(first.peers)) {
      peersNs[peer] = median(all.flatMap((c) => c.peers[peer]));
      const pairs = all.flatMap((c) => c.ours.map((o, i) => o / c.peers[peer][i]));
      const perProc = single ? pairs : all.map((c) => median(c.ours.map((o, i) => o / c.peers[peer][i])));
      const m = median(pairs);
      const min = Math.min(...perProc), max = Math.max(...perProc);
      ratios.push({ peer, median: m, min, max, spread: (max - min) / m });
    }
    const oursNs = median(oursAll);
    const goals = (def.goals ?? []).filter((g) => g.kind !== 'ratio' || ratios.some((x) => x.peer === g.peer)).map((g) => {
      if (g.kind === 'ratio') {
        const r = ratios.find((x) => x.peer === g.peer)!;
        return { ...g, actual: r.median, met: r.median <= g.max };
      }
      if (g.kind === 'maxNs') return { ...g, actual: oursNs, met: oursNs <= g.max };
      const perSec = 1e9 / oursNs;
      return { ...g, actual: perSec, met: perSec >= g.min };
    });
    cases.push({
      id: first.id, title: def.title, unit: def.unit, oursNs,
      oursMin: Math.min(...perProcOurs), oursMax: Math.max(...perProcOurs),
      peersNs, ratios, goals, guard: def.guard ?? [], showRate: def.showRate, ...(notes.length ? { notes } : {}),
    });
  }
  return { suite: name, processes: outs.length, cases };
}
