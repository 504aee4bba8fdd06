/**
 * Rates of several cumulative series over a sliding window of active time.
 * Samples live in a fixed ring; samples closer together than window/16 are
 * merged into the newest, so a scan of hours at any update frequency keeps
 * bounded memory while the window stays fully covered.
 */
export class RateWindow {
  readonly windowMs: number;
  readonly series: number;
  readonly #cap: number;
  readonly #minSpacing: number;
  readonly #t: Float64Array;
  /** Row-major: sample i, series k at [i * series + k]. */
  readonly #v: Float64Array;
  #head = 0; // index of the newest sample
  #len = 0;

  constructor(windowMs: number, series: number, capacity = 64) {
    this.windowMs = windowMs;
    this.series = series;
    this.#cap = capacity;
    this.#minSpacing = windowMs / 16;
    this.#t = new Float64Array(capacity);
    this.#v = new Float64Array(capacity * series);
  }

  get length(): number {
    return this.#len;
  }

  /** Records the series' cumulative values at active time `t` (non-decreasing). `values` is read, not kept. */
  push(t: number, values: ArrayLike<number>): void {
    let slot: number;
    if (this.#len >= 2 && t - this.#t[this.#prev(this.#head)] < this.#minSpacing) {
      slot = this.#head; // merge into the newest
    } else if (this.#len === 0) {
      slot = this.#head = 0;
      this.#len = 1;
    } else {
      slot = this.#head = this.#head + 1 === this.#cap ? 0 : this.#head + 1;
      if (this.#len < this.#cap) this.#len++;
    }
    this.#t[slot] = t;
    const base = slot * this.series;
    for (let k = 0; k < this.series; k++) this.#v[base + k] = values[k];
  }

  /**
   * Per-millisecond rate of each series over the last `windowMs` (from the
   * newest sample at or before the window's start, or the oldest kept),
   * written into `out`. Zeros while fewer than two samples span time.
   */
  rates(out: Float64Array | number[]): void {
    const n = this.series;
    if (this.#len < 2) {
      for (let k = 0; k < n; k++) out[k] = 0;
      return;
    }
    const last = this.#head;
    const tLast = this.#t[last];
    const start = tLast - this.windowMs;
    let base = last;
    for (let i = 1; i < this.#len; i++) {
      base = this.#prev(base);
      if (this.#t[base] <= start) break;
    }
    const dt = tLast - this.#t[base];
    for (let k = 0; k < n; k++) {
      const dv = this.#v[last * n + k] - this.#v[base * n + k];
      out[k] = dt > 0 && dv > 0 ? dv / dt : 0;
    }
  }

  clear(): void {
    this.#len = 0;
    this.#head = 0;
  }

  #prev(i: number): number {
    return i === 0 ? this.#cap - 1 : i - 1;
  }
}
