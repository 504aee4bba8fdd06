import {
  DETECTION_METHODS,
  DISCOVERY_METHODS,
  PORT_STATES,
  PROTOCOLS,
  SCAN_OUTCOMES,
  STAGES,
  type EventType,
} from './events.js';

/**
 * The wire format's one table: for every event type, its snake_case name and
 * its fields (camelCase name, snake_case name, kind, optional) in layout order.
 * The serializer generates one encoder and one decoder per type from it, so the
 * two directions cannot drift apart.
 */

export type FieldKind =
  | 'string'
  | 'int' // a safe integer
  | 'number' // any finite number
  | 'bool'
  | 'ip' // IPv4 or IPv6; IPv6 in RFC 5952 form
  | 'ipv6'
  | 'time' // epoch ms in the object, ISO 8601 (UTC, ms) on the wire
  | 'strings' // string[]
  | 'stringMap' // Record<string, string>
  | 'json' // a JSON object
  | { readonly enum: readonly string[] }
  | { readonly object: readonly FieldSpec[] };

export interface FieldSpec {
  readonly name: string;
  readonly wire: string;
  readonly kind: FieldKind;
  readonly optional: boolean;
}

function f(name: string, kind: FieldKind, optional = false): FieldSpec {
  return { name, wire: name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), kind, optional };
}

const stage = { enum: STAGES };
const protocol = { enum: PROTOCOLS };
const portState = { enum: PORT_STATES };

export interface TypeSpec {
  readonly type: EventType;
  /** The `event` value on the wire. */
  readonly wire: string;
  readonly fields: readonly FieldSpec[];
}

const portFoundFields = [
  f('target', 'ip'),
  f('port', 'int'),
  f('protocol', protocol),
  f('state', portState),
  f('reason', 'string', true),
  f('ttl', 'int', true),
];

export const WIRE_SCHEMA: readonly TypeSpec[] = [
  {
    type: 'ScanStarted', wire: 'scan_started', fields: [
      f('scanType', 'string'), f('targetCount', 'int'), f('portCount', 'int'),
      f('targets', 'strings'), f('ports', 'string'), f('options', 'json'),
    ],
  },
  {
    type: 'ScanCompleted', wire: 'scan_completed', fields: [
      f('outcome', { enum: SCAN_OUTCOMES }), f('targetsScanned', 'int'), f('portsScanned', 'int'),
      f('openPorts', 'int'), f('hostsUp', 'int'), f('durationMs', 'number'), f('success', 'bool'),
      f('error', 'string', true),
    ],
  },
  { type: 'ScanCancelled', wire: 'scan_cancelled', fields: [f('reason', 'string')] },
  { type: 'ScanPaused', wire: 'scan_paused', fields: [f('reason', 'string')] },
  { type: 'ScanResumed', wire: 'scan_resumed', fields: [] },
  {
    type: 'ScanError', wire: 'scan_error', fields: [
      f('errorType', 'string'), f('message', 'string'), f('fatal', 'bool'), f('context', 'stringMap'),
    ],
  },
  {
    type: 'ScanCheckpoint', wire: 'scan_checkpoint', fields: [
      f('seed', 'string'),
      f('shard', { object: [f('index', 'int'), f('count', 'int')] }, true),
      f('stage', stage), f('lowWater', 'int'), f('highWater', 'int'), f('configHash', 'string'),
      f('completed', 'int'),
    ],
  },
  {
    type: 'HostDiscovered', wire: 'host_discovered', fields: [
      f('ip', 'ip'), f('method', { enum: DISCOVERY_METHODS }), f('latencyMs', 'number'),
      f('ttl', 'int', true), f('hostname', 'string', true),
    ],
  },
  { type: 'PortFound', wire: 'port_found', fields: portFoundFields },
  {
    type: 'IPv6PortFound', wire: 'ipv6_port_found',
    fields: [f('target', 'ipv6'), ...portFoundFields.slice(1)],
  },
  {
    type: 'ServiceDetected', wire: 'service_detected', fields: [
      f('target', 'ip'), f('port', 'int'), f('protocol', protocol), f('serviceName', 'string'),
      f('product', 'string', true), f('version', 'string', true), f('extraInfo', 'string', true),
      f('cpe', 'string', true), f('confidence', 'number'), f('method', { enum: DETECTION_METHODS }),
    ],
  },
  {
    type: 'OSDetected', wire: 'os_detected', fields: [
      f('target', 'ip'), f('osName', 'string'), f('osFamily', 'string', true), f('accuracy', 'number'),
      f('deviceType', 'string', true),
    ],
  },
  { type: 'BannerGrabbed', wire: 'banner_grabbed', fields: [f('target', 'ip'), f('port', 'int'), f('banner', 'string')] },
  {
    type: 'CertificateFound', wire: 'certificate_found', fields: [
      f('target', 'ip'), f('port', 'int'), f('subject', 'string'), f('issuer', 'string'),
      f('serialNumber', 'string'), f('notBefore', 'time'), f('notAfter', 'time'),
      f('subjectAltNames', 'strings'), f('fingerprintSha256', 'string'), f('selfSigned', 'bool'),
    ],
  },
  {
    type: 'ProgressUpdate', wire: 'progress_update', fields: [
      f('stage', stage), f('percentage', 'number'), f('completed', 'int'), f('total', 'int'),
      f('inFlight', 'int'), f('retriesPending', 'int'), f('waitRemainingMs', 'number'),
      f('counters', {
        object: [
          f('packetsSent', 'int'), f('packetsReceived', 'int'), f('bytesSent', 'int'),
          f('retriesSent', 'int'), f('hostsCompleted', 'int'), f('hostsTotal', 'int'),
        ],
      }),
      f('throughput', {
        object: [f('packetsPerSec', 'number'), f('portsPerSec', 'number'), f('hostsPerMin', 'number'), f('bytesPerSec', 'number')],
      }),
      f('etaMs', 'number', true),
    ],
  },
  { type: 'StageChanged', wire: 'stage_changed', fields: [f('oldStage', stage, true), f('newStage', stage)] },
  { type: 'MetricRecorded', wire: 'metric_recorded', fields: [f('metric', 'string'), f('value', 'number'), f('unit', 'string', true)] },
  {
    type: 'WarningIssued', wire: 'warning_issued', fields: [
      f('message', 'string'), f('target', 'ip', true), f('port', 'int', true), f('code', 'string', true),
    ],
  },
  { type: 'RateLimitTriggered', wire: 'rate_limit_triggered', fields: [f('currentRate', 'number'), f('limit', 'number')] },
  {
    type: 'RetryScheduled', wire: 'retry_scheduled', fields: [
      f('target', 'ip'), f('port', 'int'), f('attempt', 'int'), f('maxAttempts', 'int'), f('delayMs', 'number'),
    ],
  },
];
