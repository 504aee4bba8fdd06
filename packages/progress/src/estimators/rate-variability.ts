/**
 * The recent interval rates (units/ms) and their spread. The default
 * estimator reads it to tell a bursty-but-stationary rate (large spread: keep
 * the long average) from a change of pace (small spread around a level that
 * differs from the average: follow the EWMA). Fixed-size ring, no allocation.
 */
export class RateVariability {
  readonly #dt: Float64Array;
  readonly #rate: Float64Array;
  #pos = 0;
  #len = 0;
  #t = 0;
  #d = 0;
  #hasBase = false;

  constructor(readonly capacity = 8) {
    this.#dt = new Float64Array(capacity);
    this.#rate = new Float64Array(capacity);
  }

  observe(t: number, done: number): void {
    if (!this.#hasBase) {
      this.#hasBase = true;
      this.#t = t;
      this.#d = done;
      return;
    }
    const dt = t - this.#t;
    if (!(dt > 0)) return;
    this.#dt[this.#pos] = dt;
    this.#rate[this.#pos] = Math.max(0, done - this.#d) / dt;
    if (++this.#pos === this.capacity) this.#pos = 0;
    if (this.#len < this.capacity) this.#len++;
    this.#t = t;
    this.#d = done;
  }

  /** Intervals recorded (at most `capacity`). */
  get count(): number {
    return this.#len;
  }

  /** Time-weighted coefficient of variation of the recorded interval rates; 0 with fewer than two. */
  cv(): number {
    if (this.#len < 2) return 0;
    let w = 0, m = 0;
    for (let i = 0; i < this.#len; i++) {
      w += this.#dt[i];
      m += this.#dt[i] * this.#rate[i];
    }
    m /= w;
    if (!(m > 0)) return 0;
    let v = 0;
    for (let i = 0; i < this.#len; i++) {
      const d = this.#rate[i] - m;
      v += this.#dt[i] * d * d;
    }
    return Math.sqrt(v / w) / m;
  }

  reset(): void {
    this.#pos = this.#len = 0;
    this.#t = this.#d = 0;
    this.#hasBase = false;
  }
}
