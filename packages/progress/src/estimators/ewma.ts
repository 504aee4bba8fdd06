import { ProgressOptionError } from '../errors.js';
import type { RateEstimator } from './rate-estimator.js';

/**
 * τ giving α = 0.2 for updates one second apart: 1 − e^(−1000/τ) = 0.2, so
 * τ = −1000 / ln(0.8) ≈ 4481 ms.
 */
export const DEFAULT_TAU_MS = -1000 / Math.log(0.8);

/** α for an update `dtMs` after the previous one: smoothing per unit of time, not per update. */
export function ewmaAlpha(dtMs: number, tauMs: number): number {
  return dtMs > 0 ? 1 - Math.exp(-dtMs / tauMs) : 0;
}

/**
 * Exponentially weighted moving average of the rate with a time constant:
 * it follows a change of pace within a few τ, which the linear average cannot.
 */
export class EwmaEstimator implements RateEstimator {
  readonly name = 'ewma' as const;
  readonly tauMs: number;
  #rate = 0;
  #hasRate = false;
  #hasBase = false;
  #t = 0;
  #d = 0;

  constructor(tauMs: number = DEFAULT_TAU_MS) {
    if (typeof tauMs !== 'number' || !Number.isFinite(tauMs) || tauMs <= 0) {
      throw new ProgressOptionError(`EWMA time constant tauMs must be a positive number of milliseconds, got ${String(tauMs)}`);
    }
    this.tauMs = tauMs;
  }

  observe(t: number, done: number): void {
    if (!this.#hasBase) {
      this.#hasBase = true;
      this.#t = t;
      this.#d = done;
      return;
    }
    const dt = t - this.#t;
    // Two observations at one instant carry no rate; the next one measures from the older base.
    if (!(dt > 0)) return;
    const r = Math.max(0, done - this.#d) / dt;
    if (!this.#hasRate) {
      // Start from the first measured rate, not from 0: no slow warm-up bias.
      this.#rate = r;
      this.#hasRate = true;
    } else {
      this.#rate += ewmaAlpha(dt, this.tauMs) * (r - this.#rate);
    }
    this.#t = t;
    this.#d = done;
  }

  rate(): number {
    return this.#hasRate ? this.#rate : 0;
  }

  reset(): void {
    this.#rate = 0;
    this.#hasRate = this.#hasBase = false;
    this.#t = this.#d = 0;
  }
}
