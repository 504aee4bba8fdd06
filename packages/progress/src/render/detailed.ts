import type { ProgressMetrics } from '../metrics.js';
import { formatBytesRate, formatCount, formatDuration, formatPercent } from './format.js';
import { Line, type Style } from './line.js';
import { ACCURACY_STYLE, condition, headline, resolveRender, type RenderOptions } from './render-options.js';

type Field = readonly (readonly [string, Style?])[];

/**
 * Adds whole fields, separated by two spaces, while they fit in `width`: a
 * field is never cut in half, except the first, which is always shown (cut to
 * the width) so that no line is empty.
 */
function fitFields(line: Line, fields: readonly Field[], width: number): Line {
  let used = 0;
  for (const f of fields) {
    const len = f.reduce((n, [t]) => n + t.length, 0) + (used > 0 ? 2 : 0);
    if (used > 0 && used + len > width) break;
    if (used > 0) line.add('  ');
    for (const [t, s] of f) line.add(t, s);
    used += len;
  }
  return line;
}

/**
 * Four lines: position and ETA (coloured by its accuracy), rates, what was
 * found, and the probe counts.
 */
export function renderDetailed(m: ProgressMetrics, options?: RenderOptions): string[] {
  const o = resolveRender(options);
  const w = o.width;
  const ended = m.state === 'completed' || m.state === 'cancelled' || m.state === 'failed';
  const cond = condition(m);

  // Fields in order of importance: the narrower the terminal, the fewer fit.
  const first: Field[] = [
    [[headline(m), 'bold']],
    [[formatPercent(m.percentage, 1)]],
    ended
      ? [['took '], [formatDuration(m.elapsedMs), m.state === 'completed' ? 'green' : 'red']]
      : [['ETA '], [formatDuration(m.eta.ms), ACCURACY_STYLE[m.eta.accuracy]]],
    ...(cond !== '' ? [[[`[${cond}]`, 'yellow']] as Field] : []),
    ...(!ended && m.eta.using !== null ? [[[`(${m.eta.using}, ${m.eta.accuracy} accuracy)`, 'dim']] as Field] : []),
    ...(m.stageNumber > 0 && !ended ? [[[`stage ${m.stageNumber}/${m.stageCount}`, 'dim']] as Field] : []),
    ...(m.scans !== null ? [[[`${m.scans.length} scans`, 'dim']] as Field] : []),
  ];
  const t = m.throughput;
  const rates: Field[] = [
    [['Rate:', 'dim']],
    [[`${formatCount(t.packetsPerSec)} pps`]],
    [[`${formatCount(t.portsPerSec)} ports/s`]],
    [[`${formatCount(t.hostsPerMin)} hosts/min`]],
    [[formatBytesRate(t.bytesPerSec)]],
  ];
  const f = m.found;
  const found: Field[] = [
    [['Found:', 'dim']],
    [[formatCount(f.hostsUp), 'green'], [' hosts up']],
    [[formatCount(f.openPorts), 'green'], [' open ports']],
    [[formatCount(f.services), 'green'], [' services']],
    [[formatCount(f.warnings), f.warnings > 0 ? 'yellow' : undefined], [' warnings']],
    ...(f.errors > 0 ? [[[formatCount(f.errors), 'red'], [' errors']] as Field] : []),
  ];
  // An ended scan has no current stage: show the port scan's probes, the bulk of the work.
  const ps = m.stages.find((s) => s.stage === 'PortScanning');
  const [done, total] = ended && m.total === 0 && ps !== undefined ? [ps.completed, ps.total] : [m.completed, m.total];
  const probes: Field[] = [
    [['Probes:', 'dim']],
    [[`${formatCount(done)}/${formatCount(total)} done`]],
    [[`${formatCount(m.inFlight)} in flight`]],
    [[`${formatCount(m.retriesPending)} retries`]],
    [[`elapsed ${formatDuration(m.elapsedMs)}`]],
  ];
  return [first, rates, found, probes].map((fields) => fitFields(new Line(), fields, w).render(w, o.color));
}
