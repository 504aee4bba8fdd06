import { ProgressOptionError } from '../errors.js';
import type { EtaAccuracy } from '../progress-model.js';
import type { ProgressMetrics } from '../metrics.js';
import type { Style } from './line.js';

export interface RenderOptions {
  /** Columns available; no line is longer. Default 80. */
  width?: number;
  /** ANSI colours. Default false (detectTerminal() tells what a stream supports). */
  color?: boolean;
  /** ▓ ░ bar characters; false draws # and -. Default true. */
  unicode?: boolean;
}

/** A renderer: metrics in, lines out (no I/O, no newline characters). */
export type Renderer = (metrics: ProgressMetrics, options?: RenderOptions) => string[];

export interface ResolvedRender {
  width: number;
  color: boolean;
  unicode: boolean;
}

export function resolveRender(o: RenderOptions | undefined): ResolvedRender {
  if (o === undefined) return { width: 80, color: false, unicode: true };
  if (o === null || typeof o !== 'object') throw new ProgressOptionError('render options must be an object');
  const width = o.width ?? 80;
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1) {
    throw new ProgressOptionError(`render width must be a positive integer number of columns, got ${String(o.width)}`);
  }
  return { width, color: o.color === true, unicode: o.unicode !== false };
}

export const ACCURACY_STYLE: Record<EtaAccuracy, Style> = { high: 'green', medium: 'yellow', low: 'red', unknown: 'dim' };

/** What to call the scan's position: the stage's label, or its end state. */
export function headline(m: ProgressMetrics): string {
  switch (m.state) {
    case 'completed': return 'Completed';
    case 'cancelled': return 'Cancelled';
    case 'failed': return 'Failed';
    default: {
      if (m.stage === null) return 'Waiting';
      return m.stages.find((s) => s.stage === m.stage)?.label ?? m.stage;
    }
  }
}

/** "paused", "stalled" or "" for a scan going normally. */
export function condition(m: ProgressMetrics): string {
  if (m.state === 'paused') return 'paused';
  if (m.stalled) return 'stalled';
  return '';
}
