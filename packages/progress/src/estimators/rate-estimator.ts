/**
 * A rate estimator follows one cumulative count (probes with a final state in
 * the current stage) against active scan time and answers "how fast". Times
 * are the model's active milliseconds (event timestamps minus pauses), never
 * the wall clock, so a replay gives the same answers as the live run.
 */
export interface RateEstimator {
  readonly name: RateEstimatorName;
  /** `done` units were complete at active time `t` ms. Calls come in non-decreasing `t`. */
  observe(t: number, done: number): void;
  /** Units per millisecond; 0 while unknown. */
  rate(): number;
  /** Forget everything (a new stage starts). */
  reset(): void;
}

export type RateEstimatorName = 'linear' | 'ewma';

/** Milliseconds to finish `remaining` units at `rate` units/ms; undefined when the rate is unknown. */
export function timeAtRate(remaining: number, rate: number): number | undefined {
  if (!(remaining > 0)) return 0;
  return rate > 0 ? remaining / rate : undefined;
}
