/**
 * The 20 scan event types: one discriminated union on `type`.
 *
 * Layout contract (docs/ARCHITECTURE.md, "Event objects"): every event starts
 * with `type`, `seq`, `scanId`, `timestamp` in that order, then its own fields
 * in the order declared here, optional ones present as `undefined`. The
 * factories below build each type in one object literal so that every event of
 * a type shares one hidden class; the bus writes `seq` in place.
 */

export type Stage =
  | 'TargetResolution'
  | 'HostDiscovery'
  | 'PortScanning'
  | 'ServiceDetection'
  | 'Finalization';

export const STAGES: readonly Stage[] = [
  'TargetResolution',
  'HostDiscovery',
  'PortScanning',
  'ServiceDetection',
  'Finalization',
];

export type ScanOutcome = 'completed' | 'cancelled' | 'failed';
export type Protocol = 'tcp' | 'udp';
export type PortState = 'open' | 'closed' | 'filtered' | 'unfiltered' | 'open-filtered';
export type DiscoveryMethod =
  | 'icmp-echo'
  | 'icmp-timestamp'
  | 'tcp-syn'
  | 'tcp-ack'
  | 'arp'
  | 'ndp'
  | 'udp'
  | 'connect';
export type DetectionMethod = 'probe' | 'banner' | 'port-table';

export const SCAN_OUTCOMES: readonly ScanOutcome[] = ['completed', 'cancelled', 'failed'];
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];
export const PORT_STATES: readonly PortState[] = ['open', 'closed', 'filtered', 'unfiltered', 'open-filtered'];
export const DISCOVERY_METHODS: readonly DiscoveryMethod[] = [
  'icmp-echo', 'icmp-timestamp', 'tcp-syn', 'tcp-ack', 'arp', 'ndp', 'udp', 'connect',
];
export const DETECTION_METHODS: readonly DetectionMethod[] = ['probe', 'banner', 'port-table'];

/** A JSON value: what `ScanStarted.options` and `scan_config` may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

interface Base<T extends string> {
  readonly type: T;
  /** Assigned by the bus at dispatch; strictly increasing per bus. 0 until published. */
  seq: number;
  /** UUID of the scan. */
  readonly scanId: string;
  /** Epoch milliseconds (an integer: the wire format carries millisecond precision). */
  readonly timestamp: number;
}

// ---- Lifecycle -------------------------------------------------------------

export interface ScanStarted extends Base<'ScanStarted'> {
  readonly scanType: string;
  /** May grow while hostnames resolve (later ProgressUpdates carry the new total). */
  readonly targetCount: number;
  readonly portCount: number;
  /** Target specs as the user gave them. */
  readonly targets: readonly string[];
  /** Port spec as the user gave it. */
  readonly ports: string;
  readonly options: { readonly [key: string]: JsonValue };
}

export interface ScanCompleted extends Base<'ScanCompleted'> {
  readonly outcome: ScanOutcome;
  readonly targetsScanned: number;
  readonly portsScanned: number;
  readonly openPorts: number;
  readonly hostsUp: number;
  readonly durationMs: number;
  readonly success: boolean;
  readonly error: string | undefined;
}

export interface ScanCancelled extends Base<'ScanCancelled'> {
  readonly reason: string;
}

export interface ScanPaused extends Base<'ScanPaused'> {
  readonly reason: string;
}

export type ScanResumed = Base<'ScanResumed'>;

export interface ScanError extends Base<'ScanError'> {
  readonly errorType: string;
  readonly message: string;
  readonly fatal: boolean;
  readonly context: { readonly [key: string]: string };
}

export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

export interface ScanCheckpoint extends Base<'ScanCheckpoint'> {
  /** The job's permutation seed (hex: 64-bit values are not exact JSON numbers). */
  readonly seed: string;
  readonly shard: ShardSpec | undefined;
  readonly stage: Stage;
  /** Every probe position below it has a final state. */
  readonly lowWater: number;
  /** No probe at or above it has been sent. */
  readonly highWater: number;
  readonly configHash: string;
  readonly completed: number;
}

// ---- Discovery -------------------------------------------------------------

export interface HostDiscovered extends Base<'HostDiscovered'> {
  readonly ip: string;
  readonly method: DiscoveryMethod;
  readonly latencyMs: number;
  readonly ttl: number | undefined;
  readonly hostname: string | undefined;
}

export interface PortFound extends Base<'PortFound'> {
  readonly target: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly state: PortState;
  readonly reason: string | undefined;
  readonly ttl: number | undefined;
}

export interface IPv6PortFound extends Base<'IPv6PortFound'> {
  /** RFC 5952 canonical form. */
  readonly target: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly state: PortState;
  readonly reason: string | undefined;
  readonly ttl: number | undefined;
}

// ---- Detection -------------------------------------------------------------

export interface ServiceDetected extends Base<'ServiceDetected'> {
  readonly target: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly serviceName: string;
  readonly product: string | undefined;
  readonly version: string | undefined;
  readonly extraInfo: string | undefined;
  readonly cpe: string | undefined;
  /** 0–100. */
  readonly confidence: number;
  readonly method: DetectionMethod;
}

export interface OSDetected extends Base<'OSDetected'> {
  readonly target: string;
  readonly osName: string;
  readonly osFamily: string | undefined;
  /** 0–100. */
  readonly accuracy: number;
  readonly deviceType: string | undefined;
}

export interface BannerGrabbed extends Base<'BannerGrabbed'> {
  readonly target: string;
  readonly port: number;
  readonly banner: string;
}

export interface CertificateFound extends Base<'CertificateFound'> {
  readonly target: string;
  readonly port: number;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** Epoch ms. */
  readonly notBefore: number;
  /** Epoch ms. */
  readonly notAfter: number;
  readonly subjectAltNames: readonly string[];
  readonly fingerprintSha256: string;
  readonly selfSigned: boolean;
}

// ---- Progress --------------------------------------------------------------

export interface ProgressCounters {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  readonly bytesSent: number;
  readonly retriesSent: number;
  readonly hostsCompleted: number;
  readonly hostsTotal: number;
}

export interface Throughput {
  readonly packetsPerSec: number;
  readonly portsPerSec: number;
  readonly hostsPerMin: number;
  readonly bytesPerSec: number;
}

export interface ProgressUpdate extends Base<'ProgressUpdate'> {
  readonly stage: Stage;
  /** Whole scan, 0–100, never decreasing within a scan (docs/ARCHITECTURE.md). */
  readonly percentage: number;
  /** Probes with a final state (retries do not count). */
  readonly completed: number;
  /** Probes the scan will make; may grow while targets resolve. */
  readonly total: number;
  readonly inFlight: number;
  readonly retriesPending: number;
  readonly waitRemainingMs: number;
  readonly counters: ProgressCounters;
  readonly throughput: Throughput;
  readonly etaMs: number | undefined;
}

export interface StageChanged extends Base<'StageChanged'> {
  readonly oldStage: Stage | undefined;
  readonly newStage: Stage;
}

// ---- Diagnostic ------------------------------------------------------------

export interface MetricRecorded extends Base<'MetricRecorded'> {
  readonly metric: string;
  readonly value: number;
  readonly unit: string | undefined;
}

export interface WarningIssued extends Base<'WarningIssued'> {
  readonly message: string;
  readonly target: string | undefined;
  readonly port: number | undefined;
  readonly code: string | undefined;
}

export interface RateLimitTriggered extends Base<'RateLimitTriggered'> {
  readonly currentRate: number;
  readonly limit: number;
}

export interface RetryScheduled extends Base<'RetryScheduled'> {
  readonly target: string;
  readonly port: number;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
}

export type ScanEvent =
  | ScanStarted
  | ScanCompleted
  | ScanCancelled
  | ScanPaused
  | ScanResumed
  | ScanError
  | ScanCheckpoint
  | HostDiscovered
  | PortFound
  | IPv6PortFound
  | ServiceDetected
  | OSDetected
  | BannerGrabbed
  | CertificateFound
  | ProgressUpdate
  | StageChanged
  | MetricRecorded
  | WarningIssued
  | RateLimitTriggered
  | RetryScheduled;

export type EventType = ScanEvent['type'];

/** The event interface for a type name: `EventOf<'PortFound'>` is `PortFound`. */
export type EventOf<T extends EventType> = Extract<ScanEvent, { type: T }>;

/**
 * Numeric type ids, stable across versions (new types are appended): the index
 * of each type in this list. The bus indexes subscribers by them.
 */
export const EVENT_TYPES = [
  'ScanStarted',
  'ScanCompleted',
  'ScanCancelled',
  'ScanPaused',
  'ScanResumed',
  'ScanError',
  'ScanCheckpoint',
  'HostDiscovered',
  'PortFound',
  'IPv6PortFound',
  'ServiceDetected',
  'OSDetected',
  'BannerGrabbed',
  'CertificateFound',
  'ProgressUpdate',
  'StageChanged',
  'MetricRecorded',
  'WarningIssued',
  'RateLimitTriggered',
  'RetryScheduled',
] as const satisfies readonly EventType[];

// Compile-time check that EVENT_TYPES lists every member of the union.
type _MissingTypes = Exclude<EventType, (typeof EVENT_TYPES)[number]>;
const _allTypesListed: [_MissingTypes] extends [never] ? true : _MissingTypes = true;
void _allTypesListed;

export const EVENT_TYPE_COUNT = EVENT_TYPES.length;

/**
 * `EVENT_TYPE_ID.PortFound === 8`. Written as a literal so V8 keeps it in fast
 * mode (a null-prototype object built by assignment becomes a dictionary and
 * costs a hash lookup per publish). Use isEventType() to test membership.
 */
export const EVENT_TYPE_ID: { readonly [T in EventType]: number } = {
  ScanStarted: 0,
  ScanCompleted: 1,
  ScanCancelled: 2,
  ScanPaused: 3,
  ScanResumed: 4,
  ScanError: 5,
  ScanCheckpoint: 6,
  HostDiscovered: 7,
  PortFound: 8,
  IPv6PortFound: 9,
  ServiceDetected: 10,
  OSDetected: 11,
  BannerGrabbed: 12,
  CertificateFound: 13,
  ProgressUpdate: 14,
  StageChanged: 15,
  MetricRecorded: 16,
  WarningIssued: 17,
  RateLimitTriggered: 18,
  RetryScheduled: 19,
};
for (let i = 0; i < EVENT_TYPES.length; i++) {
  if (EVENT_TYPE_ID[EVENT_TYPES[i]] !== i) throw new Error(`EVENT_TYPE_ID.${EVENT_TYPES[i]} must be ${i}`);
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(EVENT_TYPE_ID, value);
}

export type EventCategory = 'lifecycle' | 'discovery' | 'detection' | 'progress' | 'diagnostic';

export const EVENT_CATEGORIES: readonly EventCategory[] = ['lifecycle', 'discovery', 'detection', 'progress', 'diagnostic'];

export const EVENT_CATEGORY: { readonly [T in EventType]: EventCategory } = Object.freeze({
  ScanStarted: 'lifecycle',
  ScanCompleted: 'lifecycle',
  ScanCancelled: 'lifecycle',
  ScanPaused: 'lifecycle',
  ScanResumed: 'lifecycle',
  ScanError: 'lifecycle',
  ScanCheckpoint: 'lifecycle',
  HostDiscovered: 'discovery',
  PortFound: 'discovery',
  IPv6PortFound: 'discovery',
  ServiceDetected: 'detection',
  OSDetected: 'detection',
  BannerGrabbed: 'detection',
  CertificateFound: 'detection',
  ProgressUpdate: 'progress',
  StageChanged: 'progress',
  MetricRecorded: 'diagnostic',
  WarningIssued: 'diagnostic',
  RateLimitTriggered: 'diagnostic',
  RetryScheduled: 'diagnostic',
});

export function eventCategory(type: EventType): EventCategory {
  return EVENT_CATEGORY[type];
}

// ---- Factories -------------------------------------------------------------
// One literal per type, every field present, in declaration order. `seq` is 0
// until the bus assigns it. Producers of many events pass one timestamp per
// batch (Date.now() costs ~45 ns here).

export function scanStarted(
  scanId: string,
  timestamp: number,
  f: {
    scanType: string;
    targetCount: number;
    portCount: number;
    targets: readonly string[];
    ports: string;
    options?: { readonly [key: string]: JsonValue };
  },
): ScanStarted {
  return {
    type: 'ScanStarted', seq: 0, scanId, timestamp,
    scanType: f.scanType,
    targetCount: f.targetCount,
    portCount: f.portCount,
    targets: f.targets,
    ports: f.ports,
    options: f.options ?? {},
  };
}

export function scanCompleted(
  scanId: string,
  timestamp: number,
  f: {
    outcome: ScanOutcome;
    targetsScanned: number;
    portsScanned: number;
    openPorts: number;
    hostsUp: number;
    durationMs: number;
    error?: string | undefined;
  },
): ScanCompleted {
  return {
    type: 'ScanCompleted', seq: 0, scanId, timestamp,
    outcome: f.outcome,
    targetsScanned: f.targetsScanned,
    portsScanned: f.portsScanned,
    openPorts: f.openPorts,
    hostsUp: f.hostsUp,
    durationMs: f.durationMs,
    success: f.outcome === 'completed',
    error: f.error,
  };
}

export function scanCancelled(scanId: string, timestamp: number, reason: string): ScanCancelled {
  return { type: 'ScanCancelled', seq: 0, scanId, timestamp, reason };
}

export function scanPaused(scanId: string, timestamp: number, reason: string): ScanPaused {
  return { type: 'ScanPaused', seq: 0, scanId, timestamp, reason };
}

export function scanResumed(scanId: string, timestamp: number): ScanResumed {
  return { type: 'ScanResumed', seq: 0, scanId, timestamp };
}

export function scanError(
  scanId: string,
  timestamp: number,
  errorType: string,
  message: string,
  fatal: boolean,
  context: { readonly [key: string]: string } = {},
): ScanError {
  return { type: 'ScanError', seq: 0, scanId, timestamp, errorType, message, fatal, context };
}

export function scanCheckpoint(
  scanId: string,
  timestamp: number,
  f: {
    seed: string;
    shard?: ShardSpec | undefined;
    stage: Stage;
    lowWater: number;
    highWater: number;
    configHash: string;
    completed: number;
  },
): ScanCheckpoint {
  return {
    type: 'ScanCheckpoint', seq: 0, scanId, timestamp,
    seed: f.seed,
    shard: f.shard,
    stage: f.stage,
    lowWater: f.lowWater,
    highWater: f.highWater,
    configHash: f.configHash,
    completed: f.completed,
  };
}

export function hostDiscovered(
  scanId: string,
  timestamp: number,
  ip: string,
  method: DiscoveryMethod,
  latencyMs: number,
  ttl?: number,
  hostname?: string,
): HostDiscovered {
  return { type: 'HostDiscovered', seq: 0, scanId, timestamp, ip, method, latencyMs, ttl, hostname };
}

export function portFound(
  scanId: string,
  timestamp: number,
  target: string,
  port: number,
  protocol: Protocol,
  state: PortState,
  reason?: string,
  ttl?: number,
): PortFound {
  return { type: 'PortFound', seq: 0, scanId, timestamp, target, port, protocol, state, reason, ttl };
}

export function ipv6PortFound(
  scanId: string,
  timestamp: number,
  target: string,
  port: number,
  protocol: Protocol,
  state: PortState,
  reason?: string,
  ttl?: number,
): IPv6PortFound {
  return { type: 'IPv6PortFound', seq: 0, scanId, timestamp, target, port, protocol, state, reason, ttl };
}

export function serviceDetected(
  scanId: string,
  timestamp: number,
  f: {
    target: string;
    port: number;
    protocol: Protocol;
    serviceName: string;
    product?: string | undefined;
    version?: string | undefined;
    extraInfo?: string | undefined;
    cpe?: string | undefined;
    confidence: number;
    method: DetectionMethod;
  },
): ServiceDetected {
  return {
    type: 'ServiceDetected', seq: 0, scanId, timestamp,
    target: f.target,
    port: f.port,
    protocol: f.protocol,
    serviceName: f.serviceName,
    product: f.product,
    version: f.version,
    extraInfo: f.extraInfo,
    cpe: f.cpe,
    confidence: f.confidence,
    method: f.method,
  };
}

export function osDetected(
  scanId: string,
  timestamp: number,
  target: string,
  osName: string,
  accuracy: number,
  osFamily?: string,
  deviceType?: string,
): OSDetected {
  return { type: 'OSDetected', seq: 0, scanId, timestamp, target, osName, osFamily, accuracy, deviceType };
}

export function bannerGrabbed(scanId: string, timestamp: number, target: string, port: number, banner: string): BannerGrabbed {
  return { type: 'BannerGrabbed', seq: 0, scanId, timestamp, target, port, banner };
}

export function certificateFound(
  scanId: string,
  timestamp: number,
  f: {
    target: string;
    port: number;
    subject: string;
    issuer: string;
    serialNumber: string;
    notBefore: number;
    notAfter: number;
    subjectAltNames: readonly string[];
    fingerprintSha256: string;
    selfSigned: boolean;
  },
): CertificateFound {
  return {
    type: 'CertificateFound', seq: 0, scanId, timestamp,
    target: f.target,
    port: f.port,
    subject: f.subject,
    issuer: f.issuer,
    serialNumber: f.serialNumber,
    notBefore: f.notBefore,
    notAfter: f.notAfter,
    subjectAltNames: f.subjectAltNames,
    fingerprintSha256: f.fingerprintSha256,
    selfSigned: f.selfSigned,
  };
}

export function progressUpdate(
  scanId: string,
  timestamp: number,
  f: {
    stage: Stage;
    percentage: number;
    completed: number;
    total: number;
    inFlight: number;
    retriesPending: number;
    waitRemainingMs: number;
    counters: ProgressCounters;
    throughput: Throughput;
    etaMs?: number | undefined;
  },
): ProgressUpdate {
  return {
    type: 'ProgressUpdate', seq: 0, scanId, timestamp,
    stage: f.stage,
    percentage: f.percentage,
    completed: f.completed,
    total: f.total,
    inFlight: f.inFlight,
    retriesPending: f.retriesPending,
    waitRemainingMs: f.waitRemainingMs,
    counters: f.counters,
    throughput: f.throughput,
    etaMs: f.etaMs,
  };
}

export function stageChanged(scanId: string, timestamp: number, newStage: Stage, oldStage?: Stage): StageChanged {
  return { type: 'StageChanged', seq: 0, scanId, timestamp, oldStage, newStage };
}

export function metricRecorded(scanId: string, timestamp: number, metric: string, value: number, unit?: string): MetricRecorded {
  return { type: 'MetricRecorded', seq: 0, scanId, timestamp, metric, value, unit };
}

export function warningIssued(
  scanId: string,
  timestamp: number,
  message: string,
  target?: string,
  port?: number,
  code?: string,
): WarningIssued {
  return { type: 'WarningIssued', seq: 0, scanId, timestamp, message, target, port, code };
}

export function rateLimitTriggered(scanId: string, timestamp: number, currentRate: number, limit: number): RateLimitTriggered {
  return { type: 'RateLimitTriggered', seq: 0, scanId, timestamp, currentRate, limit };
}

export function retryScheduled(
  scanId: string,
  timestamp: number,
  target: string,
  port: number,
  attempt: number,
  maxAttempts: number,
  delayMs: number,
): RetryScheduled {
  return { type: 'RetryScheduled', seq: 0, scanId, timestamp, target, port, attempt, maxAttempts, delayMs };
}

/** The percentage of `completed` out of `total`, 0 when `total` is 0 (never NaN), capped to [0, 100]. */
export function percentOf(completed: number, total: number): number {
  if (!(total > 0) || !(completed > 0)) return 0;
  return completed >= total ? 100 : (completed / total) * 100;
}
