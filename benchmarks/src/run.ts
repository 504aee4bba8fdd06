/**
 * `pnpm bench`: every suite in ≥ 5 fresh processes, then
 * benchmarks/results/latest.json, benchmarks/RESULTS.md and results/chart.svg.
 * `--update-baseline` also writes this machine class's guarded ratios with
 * tolerances from the measured spread into benchmarks/baseline.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine, runSuite, type SuiteResult } from './collect.js';
import { renderMarkdown, renderSvg, type Results } from './report.js';
import { SUITES } from './suites/index.js';
import { loadBaseline, saveBaseline, toleranceFor } from './baseline.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function main(): void {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--suite='))?.slice(8);
  const processes = Number(args.find((a) => a.startsWith('--processes='))?.slice(12) ?? 5);
  if (!Number.isInteger(processes) || processes < 1) throw new Error('--processes must be a positive integer');
  const names = [...Object.keys(SUITES), 'latency'].filter((n) => !only || n === only);
  if (names.length === 0) throw new Error(`unknown suite ${only}; known: ${Object.keys(SUITES).join(', ')}, latency`);
  const t0 = Date.now();
  const loadStart = loadavg()[0];
  const suites: SuiteResult[] = [];
  for (const n of names) {
    console.log(`suite ${n}`);
    suites.push(runSuite(n, { quick, processes, log: console.log }));
  }
  const results: Results = { date: new Date().toISOString(), machine: machine(), quick, suites, load: { start: loadStart, end: loadavg()[0] } };
  mkdirSync(`${root}/results`, { recursive: true });
  writeFileSync(`${root}/results/latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${root}/RESULTS.md`, renderMarkdown(results));
  writeFileSync(`${root}/results/chart.svg`, renderSvg(results));
  for (const s of suites) {
    for (const c of s.cases) {
      if (c.unavailable) {
        console.log(`${c.id.padEnd(20)} not available here: ${c.unavailable}`);
        continue;
      }
      const ratios = c.ratios.map((r) => `${r.peer} ${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`).join(', ');
      console.log(`${c.id.padEnd(20)} ${c.oursNs.toFixed(2).padStart(9)} ns  ${ratios}`);
      for (const g of c.goals) console.log(`${''.padEnd(22)}goal ${g.text}: ${g.met ? 'met' : 'MISSED'}`);
      for (const n of c.notes ?? []) console.log(`${''.padEnd(22)}${n}`);
    }
    if (s.latency) console.log(`latency sync p50/p99/p99.9 ${s.latency.sync.p50.toFixed(0)}/${s.latency.sync.p99.toFixed(0)}/${s.latency.sync.p999.toFixed(0)} ns; stream ${s.latency.stream.p50.toFixed(0)}/${s.latency.stream.p99.toFixed(0)}/${s.latency.stream.p999.toFixed(0)} ns`);
  }
  if (args.includes('--update-baseline')) {
    const m = machine();
    const b = loadBaseline();
    const ratios: Record<string, { value: number; tolerance: number; spread: number }> = {};
    for (const s of suites) for (const c of s.cases) for (const r of c.ratios) {
      if (c.guard.includes(r.peer)) ratios[`${c.id}|${r.peer}`] = { value: r.median, tolerance: toleranceFor(r.spread), spread: r.spread };
    }
    b.classes[m.machineClass] = { measured: results.date, node: m.node, ratios };
    saveBaseline(b);
    console.log(`baseline for "${m.machineClass}" written (${Object.keys(ratios).length} ratios)`);
  }
  console.log(`wrote benchmarks/RESULTS.md and results/latest.json in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main();
