export { ProgressOptionError, ProgressStateError } from './errors.js';
export { STAGE_WEIGHTS, stageIndex, stageLabel, stagesFromOptions, parseStageList } from './stage-weights.js';
export {
  ProgressModel,
  type ProgressModelOptions,
  type ProgressInput,
  type EstimatorChoice,
  type EtaReport,
  type EtaAccuracy,
  type ScanState,
  type StageProgress,
  type StageState,
} from './progress-model.js';
export { RateWindow } from './rate-window.js';
export { LinearEstimator } from './estimators/linear.js';
export { EwmaEstimator, ewmaAlpha, DEFAULT_TAU_MS } from './estimators/ewma.js';
export {
  msPerWeight,
  futureStagesMs,
  multiStageRemainingMs,
  weightAhead,
  STAGE_PENDING,
  STAGE_RUNNING,
  STAGE_FINISHED,
  type StageTimeline,
} from './estimators/multi-stage.js';
export { RateVariability } from './estimators/rate-variability.js';
export { chooseEstimator, BURSTY_CV, SHIFT_RATIO, MIN_STAGE_FRACTION, type EstimatorName, type RateBehaviour } from './estimators/default-estimator.js';
export { timeAtRate, type RateEstimator, type RateEstimatorName } from './estimators/rate-estimator.js';
export { ProgressAggregator, type ProgressAggregatorOptions } from './progress-aggregator.js';
export { combineMetrics } from './combine-metrics.js';
export type { ProgressMetrics, FoundCounts } from './metrics.js';
export { renderCompact } from './render/compact.js';
export { renderDetailed } from './render/detailed.js';
export { renderBars } from './render/bars.js';
export type { RenderOptions, Renderer } from './render/render-options.js';
export { formatCount, formatBytesRate, formatDuration, formatPercent } from './render/format.js';
export { detectTerminal, colorEnabled, unicodeBars, type TerminalCapabilities, type StreamLike } from './render/terminal.js';
export { ProgressReporter, type ProgressReporterOptions, type WritableLike } from './render/reporter.js';
