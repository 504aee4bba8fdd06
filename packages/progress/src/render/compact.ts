import type { ProgressMetrics } from '../metrics.js';
import { formatDuration, formatPercent } from './format.js';
import { bar, Line } from './line.js';
import { ACCURACY_STYLE, condition, headline, resolveRender, type RenderOptions } from './render-options.js';

const MAX_BAR = 20;
const MIN_BAR = 5;

/** One line: `[Stage 3/5] Port Scanning ▓▓▓▓▓▓▓▓▓░ 87% | ETA: 3m 24s`. Parts drop out (bar, label, ETA) as the width shrinks. */
export function renderCompact(m: ProgressMetrics, options?: RenderOptions): string[] {
  const o = resolveRender(options);
  const scans = m.scans !== null ? `${m.scans.length} scan${m.scans.length === 1 ? '' : 's'}, ` : '';
  const head = m.stageNumber > 0 ? `[${scans}Stage ${m.stageNumber}/${m.stageCount}] ` : scans !== '' ? `[${scans.slice(0, -2)}] ` : '';
  const shortHead = m.stageNumber > 0 ? `[${m.stageNumber}/${m.stageCount}] ` : '';
  const label = `${headline(m)} `;
  const pct = formatPercent(m.percentage);
  const done = m.state === 'completed';
  const ended = m.state === 'cancelled' || m.state === 'failed';
  // The ETA part: its label plain, its value coloured by accuracy.
  const etaLabel = done ? ' | took ' : ended ? '' : ' | ETA: ';
  const etaValue = done ? formatDuration(m.elapsedMs) : ended ? '' : formatDuration(m.eta.ms);
  const eta = etaLabel + etaValue;
  const cond = condition(m);
  const tail = cond === '' ? '' : ` | ${cond}`;

  // The full layout first, then shedding parts from the least useful.
  const layouts: [string, string, boolean, boolean][] = [
    [head, label, true, true],
    [shortHead, label, true, true],
    [shortHead, '', true, true],
    [shortHead, '', false, true],
    [shortHead, '', false, false],
  ];
  for (const [h, l, withBar, withEta] of layouts) {
    const fixed = h.length + l.length + pct.length + (withEta ? eta.length : 0) + tail.length;
    const room = o.width - fixed - (withBar ? 1 : 0);
    if (withBar ? room < MIN_BAR : fixed > o.width) continue;
    const line = new Line().add(h, 'dim').add(l, 'bold');
    if (withBar) line.add(bar(m.percentage, Math.min(MAX_BAR, room), o.unicode), 'cyan').add(' ');
    line.add(pct);
    if (withEta && eta !== '') line.add(etaLabel).add(etaValue, done ? 'green' : ACCURACY_STYLE[m.eta.accuracy]);
    if (tail !== '') line.add(' | ').add(cond, 'yellow');
    return [line.render(o.width, o.color)];
  }
  return [new Line().add(shortHead).add(pct).render(o.width, o.color)];
}
