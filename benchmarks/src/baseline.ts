import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FILE = fileURLToPath(new URL('../baseline.json', import.meta.url));

export interface Baseline {
  version: 1;
  note: string;
  classes: Record<string, { measured: string; node: string; ratios: Record<string, { value: number; tolerance: number; spread: number }> }>;
}

export function loadBaseline(): Baseline {
  if (!existsSync(FILE)) return { version: 1, note: '', classes: {} };
  return JSON.parse(readFileSync(FILE, 'utf8')) as Baseline;
}

export function saveBaseline(b: Baseline): void {
  b.note = 'Guarded same-run ratios (ours ÷ peer) per machine class; tolerance = min(1.0, max(0.50, 3 × the spread measured across processes)). Regenerate with `pnpm bench --update-baseline`.';
  writeFileSync(FILE, `${JSON.stringify(b, null, 2)}\n`);
}

/**
 * A ratio fails only above value × (1 + tolerance). The floor of 50% covers
 * what same-run ratios did on these shared two-core machines between runs
 * (20–40% swings under load from other processes); three times the measured
 * cross-process spread covers noisier ratios. Capped at 100%, so a real 3×
 * regression always fails.
 */
export function toleranceFor(spread: number): number {
  return Math.min(1.0, Math.max(0.5, 3 * spread));
}

/**
 * Without a baseline for this machine class, a ratio fails only above
 * goal × (1 + this): gross regressions, not a goal missed by a margin.
 */
export const NO_BASELINE_SLACK = 2.0;
