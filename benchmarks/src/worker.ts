/**
 * One fresh process of a suite: every case measured in rounds, ours and each
 * peer interleaved within a round (A B C A B C ...), so drift in the machine's
 * speed hits both sides of each ratio alike. Prints JSON on stdout.
 */
import { measure } from './harness.js';
import { SUITES } from './suites/index.js';
import { streamLatency, syncLatency, type Percentiles } from './suites/latency.js';

export interface CaseSamples {
  id: string;
  ours: number[];
  peers: Record<string, number[]>;
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
  const rounds = quick ? 3 : 5;
  const timing = { maxTime: quick ? 0.05 : 0.15 };
  if (suiteName === 'latency') {
    const n = quick ? 1_000_000 : 2_000_000;
    syncLatency(100_000); // warm-up
    const out: WorkerOutput = { suite: 'latency', cases: [], latency: { sync: syncLatency(n), stream: await streamLatency(n) } };
    process.stdout.write(JSON.stringify(out));
    return;
  }
  const suite = SUITES[suiteName];
  if (!suite) throw new Error(`unknown suite ${suiteName}; known: ${Object.keys(SUITES).join(', ')}, latency`);
  const out: WorkerOutput = { suite: suiteName, cases: [] };
  for (const c of suite.cases) {
    if (only && !only.includes(c.id)) continue;
    const s: CaseSamples = { id: c.id, ours: [], peers: {} };
    const ops = c.make({ quick });
    const peers = Object.entries(ops.peers ?? {}).filter(([name]) => !guardOnly || (c.guard ?? []).includes(name));
    for (const [name] of peers) s.peers[name] = [];
    // one untimed pass so every side is optimised before the first round
    await measure(ops.ours, { maxTime: 0.02 });
    for (const [, op] of peers) await measure(op, { maxTime: 0.02 });
    for (let r = 0; r < rounds; r++) {
      s.ours.push(await measure(ops.ours, timing));
      for (const [name, op] of peers) s.peers[name].push(await measure(op, timing));
    }
    out.cases.push(s);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e: unknown) => {
  process.stderr.write(`benchmark worker failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
