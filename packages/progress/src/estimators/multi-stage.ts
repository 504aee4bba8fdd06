/**
 * The multi-stage estimator: each stage's share of the scan's time starts from
 * its default weight and is refined by the durations observed so far. The
 * observed pace is "milliseconds per unit of weight" over everything done:
 * finished stages at their full weight, the current one at the fraction it
 * has completed. Remaining time is the weight still ahead times that pace.
 * Pure: arrays in, numbers out.
 */
export interface StageTimeline {
  /** Weight per stage (run order), 0 for stages the scan does not run. */
  readonly weights: ArrayLike<number>;
  /** 0 pending, 1 running, 2 finished, per stage. */
  readonly states: ArrayLike<number>;
  /** Active milliseconds each finished stage took. */
  readonly durations: ArrayLike<number>;
  /** The running stage's index, -1 for none. */
  readonly current: number;
  /** Active milliseconds spent in the running stage so far. */
  readonly currentElapsedMs: number;
  /** The running stage's completed / total, 0 when its total is unknown. */
  readonly currentFraction: number;
}

export const STAGE_PENDING = 0;
export const STAGE_RUNNING = 1;
export const STAGE_FINISHED = 2;

/** Observed milliseconds per unit of weight, or undefined before any measurable progress. */
export function msPerWeight(tl: StageTimeline): number | undefined {
  let ms = 0, w = 0;
  for (let i = 0; i < tl.weights.length; i++) {
    if (tl.states[i] === STAGE_FINISHED && tl.weights[i] > 0) {
      ms += tl.durations[i];
      w += tl.weights[i];
    }
  }
  // The running stage adds to the pace only once it has measurable progress:
  // time spent in a stage without counts (Finalization is 0/0) says nothing
  // about its speed, and would inflate the pace of every stage.
  const f = tl.current >= 0 ? clamp01(tl.currentFraction) : 0;
  if (f > 0) {
    ms += tl.currentElapsedMs;
    w += tl.weights[tl.current] * f;
  }
  return w > 0 && ms > 0 ? ms / w : undefined;
}

/** Weight of the stages not started yet. */
export function weightAhead(tl: StageTimeline): number {
  let w = 0;
  for (let i = tl.current + 1; i < tl.weights.length; i++) if (tl.states[i] === STAGE_PENDING) w += tl.weights[i];
  return w;
}

/** Milliseconds the stages after the current one will take at the observed pace. */
export function futureStagesMs(tl: StageTimeline): number | undefined {
  const ahead = weightAhead(tl);
  if (ahead === 0) return 0;
  const pace = msPerWeight(tl);
  return pace === undefined ? undefined : ahead * pace;
}

/** The multi-stage estimate of the whole remaining time (current stage and the ones ahead), without drain time. */
export function multiStageRemainingMs(tl: StageTimeline): number | undefined {
  if (tl.current < 0) return undefined;
  const pace = msPerWeight(tl);
  if (pace === undefined) return undefined;
  const f = clamp01(tl.currentFraction);
  const wc = tl.weights[tl.current];
  // A stage without counts (Finalization is 0/0) is expected to last its share; what it already took is spent.
  const current = f > 0 ? wc * (1 - f) * pace : Math.max(0, wc * pace - tl.currentElapsedMs);
  return current + weightAhead(tl) * pace;
}

function clamp01(x: number): number {
  return x > 0 ? (x < 1 ? x : 1) : 0;
}
