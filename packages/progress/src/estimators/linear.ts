import type { RateEstimator } from './rate-estimator.js';

/**
 * Remaining work divided by the average rate since the first observation.
 * Blind to change, which is what makes it steady on bursty traffic: a burst
 * and the gap after it average out.
 */
export class LinearEstimator implements RateEstimator {
  readonly name = 'linear' as const;
  #t0 = 0;
  #d0 = 0;
  #t = 0;
  #d = 0;
  #n = 0;

  observe(t: number, done: number): void {
    if (this.#n === 0) {
      this.#t0 = this.#t = t;
      this.#d0 = this.#d = done;
    } else {
      this.#t = t;
      this.#d = done;
    }
    this.#n++;
  }

  rate(): number {
    const dt = this.#t - this.#t0;
    const dd = this.#d - this.#d0;
    return dt > 0 && dd > 0 ? dd / dt : 0;
  }

  reset(): void {
    this.#n = 0;
    this.#t0 = this.#t = this.#d0 = this.#d = 0;
  }
}
