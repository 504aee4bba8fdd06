import { STAGES, type JsonValue, type Stage } from '@portflow/core';
import { ProgressOptionError } from './errors.js';

/**
 * Default share of a scan's time per stage (docs/ARCHITECTURE.md, "Progress
 * semantics"). Port scanning dominates; discovery is the next big cost.
 */
export const STAGE_WEIGHTS: { readonly [S in Stage]: number } = Object.freeze({
  TargetResolution: 2,
  HostDiscovery: 13,
  PortScanning: 75,
  ServiceDetection: 8,
  Finalization: 2,
});

export const STAGE_COUNT = STAGES.length;

/** Index of a stage in STAGES (run order), -1 for anything else. */
export function stageIndex(stage: unknown): number {
  switch (stage) {
    case 'TargetResolution': return 0;
    case 'HostDiscovery': return 1;
    case 'PortScanning': return 2;
    case 'ServiceDetection': return 3;
    case 'Finalization': return 4;
    default: return -1;
  }
}

/** "PortScanning" → "Port Scanning". */
export function stageLabel(stage: Stage): string {
  return stage.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/**
 * The stages a scan will run, from `ScanStarted.options.stages` (an array of
 * stage names). Absent means all five. A malformed list is an error naming the
 * offending entry, not a silent fallback: a wrong list would skew every
 * percentage of the scan.
 */
export function stagesFromOptions(options: { readonly [key: string]: JsonValue } | undefined): Stage[] {
  const raw = options?.stages;
  if (raw === undefined || raw === null) return [...STAGES];
  return parseStageList(raw, 'ScanStarted.options.stages');
}

export function parseStageList(raw: unknown, what: string): Stage[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ProgressOptionError(`${what} must be a non-empty array of stage names (${STAGES.join(', ')}), got ${JSON.stringify(raw)}`);
  }
  const seen = new Set<Stage>();
  for (const s of raw) {
    if (stageIndex(s) < 0) {
      throw new ProgressOptionError(`${what}: ${JSON.stringify(s)} is not a stage; expected one of ${STAGES.join(', ')}`);
    }
    seen.add(s as Stage);
  }
  // Run order is fixed whatever order the list is written in.
  return STAGES.filter((s) => seen.has(s));
}
