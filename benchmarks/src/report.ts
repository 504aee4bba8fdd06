import type { Machine, SuiteResult } from './collect.js';
import { SUITES } from './suites/index.js';

export interface Results {
  date: string;
  machine: Machine;
  quick: boolean;
  suites: SuiteResult[];
  /** 1-minute load average when the run started and ended: the figures of a loaded machine are not a baseline. */
  load?: { start: number; end: number };
}

const fmt = (ns: number): string => (ns >= 1e9 ? `${(ns / 1e9).toFixed(2)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(ns < 10 ? 2 : 1)} ns`);
const fmtRate = (perSec: number): string => (perSec >= 1e6 ? `${(perSec / 1e6).toFixed(1)}M/s` : perSec >= 1e3 ? `${(perSec / 1e3).toFixed(0)}k/s` : `${perSec.toFixed(2)}/s`);

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(`Measured ${r.date}${r.quick ? ' (quick mode)' : ''} with \`pnpm bench\`. Method: benchmarks/README.md.`, '');
  out.push('| machine | |', '|---|---|');
  out.push(`| CPU | ${r.machine.cpu} |`, `| cores | ${r.machine.cores} |`, `| kernel | ${r.machine.kernel} |`, `| Node | ${r.machine.node} |`);
  if (r.load) out.push(`| load average (1 min) at start / end | ${r.load.start.toFixed(2)} / ${r.load.end.toFixed(2)} |`);
  out.push('');
  out.push('![ours against peers](results/chart.svg)', '');
  const goalLines: string[] = [];
  for (const s of r.suites) {
    out.push(`## ${s.suite}`, '');
    out.push(s.processes === 1
      ? 'One process, its rounds interleaved; figures are medians, ranges are the lowest and highest single round.'
      : `${s.processes} fresh processes; figures are medians, ranges are the lowest and highest per-process median.`, '');
    if (s.latency) {
      out.push('| subscriber | p50 | p99 | p99.9 | events |', '|---|---|---|---|---|');
      for (const k of ['sync', 'stream'] as const) {
        const l = s.latency[k];
        out.push(`| ${k === 'sync' ? 'synchronous handler' : 'stream (for await)'} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.p999)} | ${l.count.toLocaleString('en')} |`);
      }
      out.push('');
      continue;
    }
    const description = SUITES[s.suite]?.description;
    if (description) out.splice(out.length - 2, 0, `${description[0].toUpperCase()}${description.slice(1)}.`, '');
    out.push('| case | ours | peers | ratio ours ÷ peer (range) |', '|---|---|---|---|');
    const notes: string[] = [];
    for (const c of s.cases) {
      if (c.unavailable) {
        out.push(`| ${c.title} | not available here: ${c.unavailable} | — | — |`);
        for (const g of c.goals) goalLines.push(`| ${c.id} | ${g.text} | — | not measured (not available here) |`);
        continue;
      }
      for (const n of c.notes ?? []) notes.push(`- ${c.id}: ${n}`);
      const rate = c.showRate ? `, ${fmtRate(1e9 / c.oursNs)} (${fmtRate(1e9 / c.oursMax)}–${fmtRate(1e9 / c.oursMin)})` : '';
      const peers = Object.entries(c.peersNs).map(([p, ns]) => `${p} ${fmt(ns)}`).join('<br>') || '—';
      const ratios = c.ratios.map((x) => `${x.peer}: **${x.median.toFixed(2)}×** (${x.min.toFixed(2)}–${x.max.toFixed(2)})`).join('<br>') || '—';
      out.push(`| ${c.title} | ${fmt(c.oursNs)} per ${c.unit} (${fmt(c.oursMin)}–${fmt(c.oursMax)})${rate} | ${peers} | ${ratios} |`);
      for (const g of c.goals) {
        const actual = g.kind === 'ratio' ? `${g.actual.toFixed(2)}×` : g.kind === 'maxNs' ? fmt(g.actual) : fmtRate(g.actual);
        goalLines.push(`| ${c.id} | ${g.text} | ${actual} | ${g.met ? 'met' : '**missed**'} |`);
      }
    }
    out.push('');
    if (notes.length) out.push(...notes, '');
  }
  out.push('## Goals', '', '| case | goal | measured | |', '|---|---|---|---|', ...goalLines, '');
  const missed = r.suites.flatMap((s) => s.cases.flatMap((c) => c.goals.filter((g) => !g.met && !g.notMeasured).map((g) => `${c.id}: ${g.text}`)));
  out.push(missed.length ? `Missed in this run: ${missed.join('; ')}. See "Why goals are missed" in benchmarks/README.md.` : 'Every goal was met in this run.', '');
  return out.join('\n');
}

/** Horizontal bars, ours and each peer, per publish case: a plain SVG, no dependency. */
export function renderSvg(r: Results): string {
  // Each case's bars share one scale (its longest bar): nanosecond publishes and multi-second scans in one chart.
  const rows: { label: string; ns: number; ours: boolean; max: number }[] = [];
  for (const s of r.suites) {
    for (const c of s.cases) {
      if (c.unavailable || !Object.keys(c.peersNs).length) continue;
      const max = Math.max(c.oursNs, ...Object.values(c.peersNs));
      rows.push({ label: `${c.id}: portflow`, ns: c.oursNs, ours: true, max });
      for (const [p, ns] of Object.entries(c.peersNs)) rows.push({ label: `${c.id}: ${p}`, ns, ours: false, max });
    }
  }
  const W = 900, rowH = 18, left = 330, top = 30;
  const H = top + rows.length * rowH + 20;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = rows.map((row, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, (row.ns / row.max) * (W - left - 90));
    return `<text x="${left - 6}" y="${y + 12}" text-anchor="end" font-size="11">${esc(row.label)}</text>` +
      `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 5}" fill="${row.ours ? '#2b7bb9' : '#b0b0b0'}"/>` +
      `<text x="${(left + w + 4).toFixed(1)}" y="${y + 12}" font-size="11">${fmt(row.ns)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<text x="10" y="18" font-size="13" font-weight="bold">time per operation (shorter is faster; bars scaled per case); portflow in blue, peers in grey — ${esc(r.machine.cpu)}</text>` +
    `${bars.join('')}</svg>\n`;
}
