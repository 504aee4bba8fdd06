/**
 * `pnpm bench:check [--quick]`: the regression guard. Measures the guarded
 * ratios, re-measures once (fresh processes) any that look regressed, and
 * exits non-zero naming every ratio still past its tolerance. Without a
 * baseline for this machine class it checks the same-run ratio goals with
 * wide slack and says so; it never fails for lack of a baseline.
 */
import { machine, runSuite, type CaseResult } from './collect.js';
import { loadBaseline, NO_BASELINE_SLACK } from './baseline.js';
import { SUITES } from './suites/index.js';

interface Limit {
  key: string;
  suite: string;
  caseId: string;
  peer: string;
  limit: number;
  basis: string;
}

function limits(baselineRatios: Record<string, { value: number; tolerance: number }> | undefined): Limit[] {
  const out: Limit[] = [];
  for (const [suiteName, suite] of Object.entries(SUITES)) {
    for (const c of suite.cases) {
      for (const peer of c.guard ?? []) {
        const key = `${c.id}|${peer}`;
        const b = baselineRatios?.[key];
        if (b) {
          out.push({ key, suite: suiteName, caseId: c.id, peer, limit: b.value * (1 + b.tolerance), basis: `baseline ${b.value.toFixed(2)}× + ${(b.tolerance * 100).toFixed(0)}%` });
        } else if (!baselineRatios) {
          const goal = c.goals?.find((g) => g.kind === 'ratio' && g.peer === peer);
          if (goal && goal.kind === 'ratio') {
            out.push({ key, suite: suiteName, caseId: c.id, peer, limit: goal.max * (1 + NO_BASELINE_SLACK), basis: `goal ${goal.max}× with ${NO_BASELINE_SLACK * 100}% slack (no baseline)` });
          }
        }
      }
    }
  }
  return out;
}

/** NaN when the case could not run on this machine (no root, a tool missing): not checked, never failed. */
function ratioOf(cases: CaseResult[], l: Limit): number {
  const c = cases.find((x) => x.id === l.caseId);
  if (c?.unavailable) return Number.NaN;
  const r = c?.ratios.find((x) => x.peer === l.peer);
  if (!r) throw new Error(`no measurement for ${l.key}`);
  return r.median;
}

function main(): void {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyCases = args.find((a) => a.startsWith('--cases='))?.slice(8).split(',');
  const processes = Number(args.find((a) => a.startsWith('--processes='))?.slice(12) ?? 5);
  if (!Number.isInteger(processes) || processes < 1) throw new Error('--processes must be a positive integer');
  const m = machine();
  const base = loadBaseline().classes[m.machineClass];
  console.log(`bench:check on "${m.machineClass}" (${quick ? 'quick' : 'full'} mode)`);
  if (!base) console.log('  no baseline for this machine class: checking same-run ratio goals with wide tolerances instead');
  let ls = limits(base?.ratios);
  if (onlyCases) ls = ls.filter((l) => onlyCases.includes(l.caseId));
  const t0 = Date.now();
  const failed: string[] = [];
  for (const suite of new Set(ls.map((l) => l.suite))) {
    const mine = ls.filter((l) => l.suite === suite);
    const cases = [...new Set(mine.map((l) => l.caseId))];
    const first = runSuite(suite, { quick, processes, cases, guardOnly: true }).cases;
    const suspects = mine.filter((l) => ratioOf(first, l) > l.limit);
    for (const l of mine) {
      const r = ratioOf(first, l);
      if (Number.isNaN(r)) {
        console.log(`  ${l.key.padEnd(32)} not checked: ${first.find((x) => x.id === l.caseId)?.unavailable}`);
        continue;
      }
      console.log(`  ${l.key.padEnd(32)} ${r.toFixed(2)}× (limit ${l.limit.toFixed(2)}×, ${l.basis})${r > l.limit ? ' — looks regressed, re-measuring' : ''}`);
    }
    if (suspects.length) {
      const again = runSuite(suite, { quick, processes, guardOnly: true, cases: [...new Set(suspects.map((l) => l.caseId))] }).cases;
      for (const l of suspects) {
        const r = ratioOf(again, l);
        const ok = r <= l.limit;
        console.log(`  re-measured ${l.key.padEnd(20)} ${r.toFixed(2)}× ${ok ? 'within tolerance: noise' : 'REGRESSED'}`);
        if (!ok) failed.push(`${l.key} at ${r.toFixed(2)}× (limit ${l.limit.toFixed(2)}×)`);
      }
    }
  }
  console.log(`bench:check took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (failed.length) {
    console.error(`bench:check FAILED: regressed past tolerance: ${failed.join('; ')}`);
    process.exit(1);
  }
  console.log(`bench:check passed (${ls.length} guarded ratios)`);
}

main();
