import type { ResolvedScanOptions } from '../scan-options.js';
import { ConnectEngine } from './connect.js';
import type { ScanEngine } from './engine.js';

export type { ScanEngine, EngineHost, EngineCounters, EngineMetric } from './engine.js';
export { ConnectEngine } from './connect.js';
export { RttEstimator } from './rtt-estimator.js';
export { ProbeScanEngine } from './probe-scan.js';
export { nativeProbeBackend, type ProbeBackend, type ProbeEngineHandle, type RecordSource } from './probe-backend.js';
export { classifySynReply, classifyUdpReply, classifyNoAnswer, icmpReason } from './record-classifier.js';

/** The engine of a scan type. resolveScanOptions has already refused the types this build cannot run. */
export function createEngine(options: ResolvedScanOptions): ScanEngine {
  switch (options.type) {
    case 'connect':
      return new ConnectEngine(options);
    default:
      throw new Error(`unreachable: scan type ${options.type} passed validation without an engine`);
  }
}
