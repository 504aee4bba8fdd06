export type EstimatorName = 'linear' | 'ewma' | 'multiStage';

/** What the default estimator looks at: the observed rate's behaviour in the current stage. */
export interface RateBehaviour {
  /** Observations of the current stage so far. */
  readonly observations: number;
  /** completed / total of the current stage (0 when unknown). */
  readonly stageFraction: number;
  /** Average rate since the stage began, units/ms (0 unknown). */
  readonly linearRate: number;
  /** EWMA rate, units/ms (0 unknown). */
  readonly ewmaRate: number;
  /** Spread of the recent interval rates (RateVariability.cv()). */
  readonly cv: number;
}

/** Spread above which the rate is bursty: the long average is the better predictor. */
export const BURSTY_CV = 0.5;
/** Relative gap between recent and average rate that signals a change of pace. */
export const SHIFT_RATIO = 0.1;
/** Before this much of a stage is done, its own rate says little: use the stage shares. */
export const MIN_STAGE_FRACTION = 0.02;

/**
 * The default estimator's choice. Too little of the stage seen: the
 * multi-stage shares. A bursty rate: linear (bursts and gaps average out). A
 * steady rate that has moved away from the average: EWMA (it follows the new
 * pace within a few τ). Otherwise linear, the least noisy.
 */
export function chooseEstimator(b: RateBehaviour): EstimatorName {
  if (b.observations < 3 || b.stageFraction < MIN_STAGE_FRACTION || !(b.linearRate > 0)) return 'multiStage';
  if (b.cv > BURSTY_CV) return 'linear';
  if (b.ewmaRate > 0 && Math.abs(b.ewmaRate / b.linearRate - 1) > SHIFT_RATIO) return 'ewma';
  return 'linear';
}
