/**
 * One fresh process of a suite: every case measured in rounds, ours and each
 * peer interleaved within a round (A B C A B C ...), so drift in the machine's
 * speed hits both sides of each ratio alike. Prints JSON on stdout.
 */
import { measure, type Op } from './harness.js';
import { CaseUnavailable } from './suite.js';
import { SUITES } from './suites/index.js';
import { streamLatency, syncLatency, type Percentiles } from './suites/latency.js';

export interface CaseSamples {
  id: string;
  ours: number[];
  peers: Record<string, number[]>;
  notes?: string[];
  /** Why the case could not run here; no samples then. */
  unavailable?: string;
}

export interface WorkerOutput {
  suite: string;
  cases: CaseSamples[];
  latency?: { sync: Percentiles; stream: Percentiles };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const suiteName = args[0];
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--cases='))?.slice(8).split(',');
  // The guard needs only the peers it guards; skipping the others halves its time.
  const guardOnly = args.includes('--guard-only');
  // benchmark.js takes ≥ 5 samples of minTime (default 50 ms) whatever maxTime says: 0.25 s per measurement, which
  // put `pnpm bench` at 10.5 minutes and the guard at 2.7 under load. Samples of 20 ms (full) and 10 ms (quick) are
  // still ≥ 1M operations of a batched publish each.
  const timing = quick ? { maxTime: 0.05, minTime: 0.01 } : { maxTime: 0.1, minTime: 0.02 };
  const warm = { maxTime: 0.02, minTime: 0.01 };
  if (suiteName === 'latency') {
    const n = quick ? 1_000_000 : 2_000_000;
    syncLatency(100_000); // warm-up
    const out: WorkerOutput = { suite: 'latency', cases: [], latency: { sync: syncLatency(n), stream: await streamLatency(n) } };
    process.stdout.write(JSON.stringify(out));
    return;
  }
  const suite = SUITES[suiteName];
  if (!suite) throw new Error(`unknown suite ${suiteName}; known: ${Object.keys(SUITES).join(', ')}, latency`);
  const rounds = quick ? (suite.rounds?.quick ?? 3) : (suite.rounds?.full ?? 5);
  const out: WorkerOutput = { suite: suiteName, cases: [] };
  const untimed = (op: Op) => op.kind === 'sync' || op.warmup !== false;
  for (const c of suite.cases) {
    if (only && !only.includes(c.id)) continue;
    const s: CaseSamples = { id: c.id, ours: [], peers: {} };
    let ops;
    try {
      ops = await c.make({ quick });
    } catch (e) {
      if (!(e instanceof CaseUnavailable)) throw e;
      s.unavailable = e.reason;
      out.cases.push(s);
      continue;
    }
    try {
      const peers = Object.entries(ops.peers ?? {}).filter(([name]) => !guardOnly || (c.guard ?? []).includes(name));
      for (const [name] of peers) s.peers[name] = [];
      // one untimed pass so every side is optimised before the first round
      if (untimed(ops.ours)) await measure(ops.ours, warm);
      for (const [, op] of peers) if (untimed(op)) await measure(op, warm);
      const n = c.rounds ? (quick ? c.rounds.quick : c.rounds.full) : rounds;
      for (let r = 0; r < n; r++) {
        s.ours.push(await measure(ops.ours, timing));
        for (const [name, op] of peers) s.peers[name].push(await measure(op, timing));
      }
    } catch (e) {
      // found out only once measuring (a scan type refused inside its namespace): not available, not a failure
      if (!(e instanceof CaseUnavailable)) throw e;
      s.unavailable = e.reason;
      s.ours = [];
      s.peers = {};
    } finally {
      await ops.dispose?.();
    }
    // read after the rounds: a case may add what it saw while measuring
    if (ops.notes?.length) s.notes = ops.notes;
    out.cases.push(s);
  }
  process.stdout.write(JSON.stringify(out));
}

// Exit once the figures are written: a timer or handle a case left behind must not hold the runner.
main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`benchmark worker failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
