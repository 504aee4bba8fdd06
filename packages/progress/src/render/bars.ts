import type { ProgressMetrics } from '../metrics.js';
import { formatCount, formatDuration, formatPercent } from './format.js';
import { bar, Line, type Style } from './line.js';
import { ACCURACY_STYLE, condition, resolveRender, type RenderOptions } from './render-options.js';

const LABEL = 17; // "Service Detection"
const MAX_BAR = 30;
const MIN_BAR = 5;

/** One bar per stage the scan runs, then an overall line with ETA, packets/s and hosts/min. */
export function renderBars(m: ProgressMetrics, options?: RenderOptions): string[] {
  const o = resolveRender(options);
  const w = o.width;
  // Columns: label, space, bar, space, "100%"; the label gives way first, then the bar.
  const labelW = Math.max(0, Math.min(LABEL, w - MIN_BAR - 6));
  const barW = Math.max(0, Math.min(MAX_BAR, labelW > 0 ? w - labelW - 6 : w - 5));
  const row = (label: string, pct: number, styleLabel: 'bold' | 'dim' | undefined): Line => {
    const line = new Line();
    if (labelW > 0) line.add(label.slice(0, labelW).padEnd(labelW) + ' ', styleLabel);
    if (barW >= MIN_BAR) line.add(bar(pct, barW, o.unicode), 'cyan').add(' ');
    line.add(formatPercent(pct).padStart(4));
    return line;
  };
  const lines: string[] = [];
  for (const s of m.stages) {
    if (s.state === 'skipped') continue;
    const line = row(s.label, s.percentage, s.state === 'running' ? 'bold' : s.state === 'pending' ? 'dim' : undefined);
    const note =
      s.state === 'done' ? `done in ${formatDuration(s.durationMs)}` : s.state === 'running' && s.total > 0 ? `${formatCount(s.completed)}/${formatCount(s.total)}` : '';
    if (note !== '' && line.length + 1 + note.length <= w) line.add(' ').add(note, 'dim');
    lines.push(line.render(w, o.color));
  }
  const overall = row('Overall', m.percentage, 'bold');
  const ended = m.state === 'completed' || m.state === 'cancelled' || m.state === 'failed';
  const cond = condition(m);
  const extras: [string, string, Style | undefined][] = [
    ended
      ? [m.state === 'completed' ? 'took ' : `${m.state} after `, formatDuration(m.elapsedMs), m.state === 'completed' ? 'green' : 'red']
      : ['ETA ', formatDuration(m.eta.ms), ACCURACY_STYLE[m.eta.accuracy]],
    ['', `${formatCount(m.throughput.packetsPerSec)} pps`, undefined],
    ['', `${formatCount(m.throughput.hostsPerMin)} hosts/min`, undefined],
  ];
  if (cond !== '') extras.splice(1, 0, ['', cond, 'yellow']);
  for (const [lead, value, style] of extras) {
    const add = ` | ${lead}${value}`;
    if (overall.length + add.length > w) break;
    overall.add(` | ${lead}`).add(value, style);
  }
  lines.push(overall.render(w, o.color));
  return lines;
}
