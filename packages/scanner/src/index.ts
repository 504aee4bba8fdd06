export { ScannerError, TargetSpecError, PortSpecError, ScanJobError, type ScanJobErrorCode } from './errors.js';
export { parseIPv4, parseIPv6, formatIPv4, formatIPv6, addressBytes } from './ip.js';
export type { OctetBlock } from './octet-block.js';
export type { Range } from './interval-set.js';
export {
  parseTarget,
  parseTargets,
  parseTargetFile,
  readTargetFile,
  buildTargetSet,
  resolveTargets,
  TargetSet,
  type TargetToken,
  type IPv4Piece,
  type LookupFn,
  type ResolveOptions,
  type TargetResolution,
  type TargetWarning,
} from './targets.js';
export { parsePorts, PortSet, type PortRun, type ParsePortsOptions } from './ports.js';
export {
  topPorts,
  fastPorts,
  portRank,
  serviceName,
  curatedPortCount,
  parsePortTable,
  FAST_PORT_COUNT,
  PORT_TABLE_PATH,
  type PortProtocol,
} from './port-table.js';
export {
  createScanJob,
  seedHex,
  ScanJob,
  ProbeBatch,
  MAX_JOB_COUNT,
  SCAN_JOB_FORMAT,
  SCAN_JOB_VERSION,
  type ScanJobOptions,
  type ScanJobDescriptor,
  type ScanOrder,
  type ShardOption,
  type Probe,
} from './job.js';
export { scan, scanStages, NO_DISCOVERY_SCAN_STAGES, CONNECT_SCAN_STAGES, DISCOVERY_SCAN_STAGES, PING_SCAN_STAGES, type ScanHandle, type ScanHandleState, type ScanContext } from './scan.js';
export {
  resolveScanOptions,
  SCAN_TYPES,
  RAW_SCAN_TYPES,
  DEFAULT_CONCURRENCY,
  DEFAULT_DISCOVERY,
  type ScanOptions,
  type ScanReportOptions,
  type ScanType,
  type ResolvedScanOptions,
  type DiscoveryProbeOption,
  type DiscoveryMethodOption,
} from './scan-options.js';
export { TIMING_TEMPLATES, TIMING_NAMES, timingTemplate, resolveTiming, type TimingTemplate, type TimingLevel, type TimingName, type ResolvedTiming } from './timing.js';
export { RateController, type RateSample, type RateDecision } from './rate-control.js';
export * from './udp-payloads.js';
export { IcmpRateLimitDetector, looksRateLimited, icmpCeiling, ICMP_LIMIT_BURST, ICMP_LIMIT_PER_SEC_V4, ICMP_LIMIT_PER_SEC_V6, type HostIcmpFigures } from './icmp-ratelimit.js';
export { ScanOptionError, ScanTypeUnavailableError, ScanResumeError, ScanResourceError, ScanPrivilegeError, ScanEngineError, type ScanResumeErrorCode } from './scan-errors.js';
export {
  foldScanEvents,
  ResultsBuilder,
  STATE_CODE,
  reasonCode,
  reasonName,
  type ScanResults,
  type HostResult,
  type PortResult,
  type DefaultState,
  type PortDetection,
} from './results.js';
export { configHash, checkCheckpoint, seedToHex, seedFromHex, type ScanConfigIdentity } from './checkpoint.js';
export { ConnectEngine, RttEstimator, createEngine, type ScanEngine, type EngineHost, type EngineCounters, type EngineMetric } from './engines/index.js';
export { ScanControl, type ControlState } from './scan-control.js';
