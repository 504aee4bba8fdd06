import { positiveNumber, ProgressOptionError } from '../errors.js';
import type { ProgressMetrics } from '../metrics.js';
import { renderBars } from './bars.js';
import { renderCompact } from './compact.js';
import { renderDetailed } from './detailed.js';
import type { Renderer } from './render-options.js';
import { detectTerminal, type TerminalCapabilities } from './terminal.js';

export interface WritableLike {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressReporterOptions {
  /** Where to draw (process.stderr, say). */
  stream: WritableLike;
  /** The metrics to draw: usually `() => aggregator.getCurrentMetrics()`. */
  metrics: () => ProgressMetrics;
  /** 'compact' (default), 'detailed', 'bars' or a renderer function. */
  renderer?: 'compact' | 'detailed' | 'bars' | Renderer;
  /** Environment for NO_COLOR, FORCE_COLOR, COLUMNS and the locale. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Redraw period on a terminal, ms. Default 250. */
  intervalMs?: number;
  /** Least time between two lines on a non-terminal stream (a log, a pipe), ms. Default 5,000. */
  plainIntervalMs?: number;
  /** "Now" for throttling. Default Date.now. */
  clock?: () => number;
}

const RENDERERS: Record<'compact' | 'detailed' | 'bars', Renderer> = { compact: renderCompact, detailed: renderDetailed, bars: renderBars };

/**
 * Draws progress on a stream. On a terminal it redraws in place; on anything
 * else it appends plain lines (no cursor movement), at most one every
 * plainIntervalMs, plus one whenever the scan's stage or state changes, so a
 * log file gets every milestone and no flood. The only I/O of the renderers.
 */
export class ProgressReporter {
  readonly #stream: WritableLike;
  readonly #metrics: () => ProgressMetrics;
  readonly #render: Renderer;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #interval: number;
  readonly #plainInterval: number;
  readonly #clock: () => number;
  #drawn = 0; // lines currently on screen (TTY)
  #lastWrite = -Infinity;
  #lastKey = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ProgressReporterOptions) {
    if (options === null || typeof options !== 'object') throw new ProgressOptionError('ProgressReporter options must be an object');
    if (options.stream === null || typeof options.stream !== 'object' || typeof options.stream.write !== 'function') {
      throw new ProgressOptionError('ProgressReporter needs a writable `stream` (process.stderr, say)');
    }
    if (typeof options.metrics !== 'function') throw new ProgressOptionError('ProgressReporter needs `metrics`, a function returning ProgressMetrics (() => aggregator.getCurrentMetrics())');
    const r = options.renderer ?? 'compact';
    if (typeof r === 'function') this.#render = r;
    else if (r === 'compact' || r === 'detailed' || r === 'bars') this.#render = RENDERERS[r];
    else throw new ProgressOptionError(`renderer must be 'compact', 'detailed', 'bars' or a function, got ${JSON.stringify(r)}`);
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new ProgressOptionError('clock must be a function returning epoch milliseconds');
    this.#stream = options.stream;
    this.#metrics = options.metrics;
    this.#env = options.env ?? process.env;
    this.#interval = positiveNumber('intervalMs', options.intervalMs, 250);
    this.#plainInterval = positiveNumber('plainIntervalMs', options.plainIntervalMs, 5000);
    this.#clock = options.clock ?? Date.now;
  }

  /** What the stream can show, read afresh on each draw (a terminal can be resized). */
  capabilities(): TerminalCapabilities {
    return detectTerminal(this.#stream, this.#env);
  }

  /** Draws now if due. Returns whether it wrote. `force` ignores the plain-stream throttle. */
  draw(force = false): boolean {
    const m = this.#metrics();
    const cap = this.capabilities();
    const lines = this.#render(m, { width: cap.width, color: cap.color, unicode: cap.unicode });
    const now = this.#clock();
    if (cap.isTTY) {
      // Back to the first line drawn, rewrite every line, clear what is left below.
      let out = this.#drawn > 0 ? `\r${this.#drawn > 1 ? `\x1b[${this.#drawn - 1}A` : ''}` : '';
      out += lines.map((l) => `\x1b[2K${l}`).join('\n') + '\x1b[J';
      this.#stream.write(out);
      this.#drawn = lines.length;
      this.#lastWrite = now;
      return true;
    }
    const key = `${m.state}/${m.stage ?? ''}`;
    if (!force && key === this.#lastKey && now - this.#lastWrite < this.#plainInterval) return false;
    this.#stream.write(lines.join('\n') + '\n');
    this.#lastKey = key;
    this.#lastWrite = now;
    return true;
  }

  /** Draws every intervalMs until stop(); the timer does not keep the process alive. */
  start(): this {
    if (this.#timer === undefined) {
      this.draw(true);
      this.#timer = setInterval(() => this.draw(), this.#interval);
      this.#timer.unref();
    }
    return this;
  }

  /** Draws the final state and leaves the cursor on a fresh line. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.draw(true);
    if (this.capabilities().isTTY) this.#stream.write('\n');
    this.#drawn = 0;
  }
}
