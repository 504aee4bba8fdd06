import { AddressError, SerializeError, WireFormatError } from './errors.js';
import { EVENT_TYPE_ID, EVENT_TYPES, type EventType, type JsonValue, type ScanEvent } from './events.js';
import { canonicalIPv6, parseIPv4, parseIPv6, formatIPv6 } from './ip.js';
import { WIRE_SCHEMA, type FieldKind, type FieldSpec, type TypeSpec } from './wire-schema.js';

/**
 * The wire format: one JSON object per line, snake_case fields, the event's
 * snake_case name in `event`, ISO 8601 timestamps. Version 1. Encoders and
 * decoders are generated once per type from WIRE_SCHEMA (see wire-schema.ts):
 * JSON.stringify costs ~450 ns per PortFound here, a per-type encoder ~130.
 */
export const WIRE_FORMAT_VERSION = 1;

/** The `version` a log file's `log_started` line carries. */
export const LOG_FILE_VERSION = '1.0';

// ---- Encoding helpers (called by the generated encoders) -------------------

// One-entry cache: events of a batch share a millisecond, and toISOString costs ~500 ns.
let isoMs = NaN;
let isoText = '';

function time(ms: unknown, field: string): string {
  if (ms === isoMs) return isoText;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15) {
    throw new SerializeError(field, `${field} must be an integer epoch-millisecond time, got ${String(ms)}`);
  }
  isoText = new Date(ms).toISOString();
  isoMs = ms;
  return isoText;
}

function str(s: unknown, field: string): string {
  if (typeof s !== 'string') throw new SerializeError(field, `${field} must be a string, got ${typeof s}`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

// Every event of a scan carries the same scanId: quote (and check) it once.
let sidRaw: unknown = undefined;
let sidQuoted = '';

function sid(s: unknown, field: string): string {
  if (s === sidRaw) return sidQuoted;
  const q = str(s, field);
  sidRaw = s;
  sidQuoted = q;
  return q;
}

/** An enum value: compared with the few allowed values (interned strings), written from precomputed quoted text. */
function enm(v: unknown, field: string, values: readonly string[], quoted: readonly string[]): string {
  for (let i = 0; i < values.length; i++) if (v === values[i]) return quoted[i];
  return str(v, field); // not one of them: still valid JSON; the decoder names the field
}

function num(v: unknown, field: string): string {
  // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
  if (typeof v !== 'number' || v - v !== 0) {
    throw new SerializeError(field, `${field} must be a finite number, got ${String(v)}`);
  }
  return `${v}`;
}

function bool(v: unknown, field: string): string {
  if (v === true) return 'true';
  if (v === false) return 'false';
  throw new SerializeError(field, `${field} must be a boolean, got ${String(v)}`);
}

function ip(v: unknown, field: string): string {
  if (typeof v === 'string' && v.indexOf(':') !== -1) return ip6(v, field);
  return str(v, field);
}

function ip6(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new SerializeError(field, `${field} must be an IPv6 address string, got ${typeof v}`);
  try {
    return `"${canonicalIPv6(v)}"`;
  } catch (e) {
    if (e instanceof AddressError) throw new SerializeError(field, `${field}: ${e.message}`);
    throw e;
  }
}

function strs(v: unknown, field: string): string {
  if (!Array.isArray(v)) throw new SerializeError(field, `${field} must be an array of strings`);
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + str(v[i], `${field}[${i}]`);
  return `${out}]`;
}

function smap(v: unknown, field: string): string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SerializeError(field, `${field} must be an object of strings`);
  let out = '{';
  let first = true;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${str(k, field)}:${str(x, `${field}.${k}`)}`;
    first = false;
  }
  return `${out}}`;
}

function json(v: unknown, field: string): string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SerializeError(field, `${field} must be a JSON object`);
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'number' && x - x !== 0) throw new SerializeError(field, `${field} holds a non-finite number`);
    if (typeof x === 'bigint') throw new SerializeError(field, `${field} holds a bigint; pass it as a string`);
    return x;
  });
}

const H = { time, str, sid, enm, num, bool, ip, ip6, strs, smap, json };

const ENC_ENUMS: { values: readonly string[]; quoted: readonly string[] }[] = [];

function encodeExpr(kind: FieldKind, v: string, path: string): string {
  const p = JSON.stringify(path);
  if (typeof kind === 'object') {
    if ('enum' in kind) {
      ENC_ENUMS.push({ values: kind.enum, quoted: kind.enum.map((x) => JSON.stringify(x)) });
      const k = ENC_ENUMS.length - 1;
      return `H.enm(${v}, ${p}, E[${k}].values, E[${k}].quoted)`;
    }
    const parts = kind.object.map((s, i) => {
      const prefix = JSON.stringify(`${i ? ',' : '{'}"${s.wire}":`);
      return `${prefix} + ${encodeExpr(s.kind, `${v}.${s.name}`, `${path}.${s.name}`)}`;
    });
    return `(${v} === null || typeof ${v} !== 'object' ? H.bad(${p}) : ${parts.join(' + ')} + '}')`;
  }
  switch (kind) {
    case 'string': return `H.str(${v}, ${p})`;
    case 'int':
    case 'number': return `H.num(${v}, ${p})`;
    case 'bool': return `H.bool(${v}, ${p})`;
    case 'ip': return `H.ip(${v}, ${p})`;
    case 'ipv6': return `H.ip6(${v}, ${p})`;
    case 'time': return `'"' + H.time(${v}, ${p}) + '"'`;
    case 'strings': return `H.strs(${v}, ${p})`;
    case 'stringMap': return `H.smap(${v}, ${p})`;
    case 'json': return `H.json(${v}, ${p})`;
  }
}

type Encoder = (e: ScanEvent) => string;

function makeEncoder(spec: TypeSpec): Encoder {
  const body: string[] = [
    `let s = '{"event":"${spec.wire}","seq":' + H.num(e.seq, 'seq') + ',"scan_id":' + H.sid(e.scanId, 'scanId') + ',"timestamp":"' + H.time(e.timestamp, 'timestamp') + '"';`,
  ];
  for (const fs of spec.fields) {
    const piece = `s += ',"${fs.wire}":' + ${encodeExpr(fs.kind, `e.${fs.name}`, fs.name)};`;
    body.push(fs.optional ? `if (e.${fs.name} !== undefined && e.${fs.name} !== null) ${piece}` : piece);
  }
  body.push(`return s + '}';`);
  const helpers = { ...H, bad: (field: string) => { throw new SerializeError(field, `${field} must be an object`); } };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated once per type from a static table
  return new Function('H', 'E', `return function encode_${spec.type}(e) {\n${body.join('\n')}\n}`)(helpers, ENC_ENUMS) as Encoder;
}

const ENCODERS: Encoder[] = new Array<Encoder>(EVENT_TYPES.length);
const SPEC_BY_ID: TypeSpec[] = [];
for (const spec of WIRE_SCHEMA) SPEC_BY_ID[EVENT_TYPE_ID[spec.type]] = spec;
for (let i = 0; i < EVENT_TYPES.length; i++) {
  if (!SPEC_BY_ID[i]) throw new Error(`wire schema misses ${EVENT_TYPES[i]}`);
  ENCODERS[i] = makeEncoder(SPEC_BY_ID[i]);
}

/** One line of the wire format (no trailing newline). Throws SerializeError on an event that cannot be written. */
export function toJSON(event: ScanEvent): string {
  const id = EVENT_TYPE_ID[event.type];
  if (id === undefined) throw new SerializeError('type', `unknown event type ${String(event.type)}`);
  return ENCODERS[id](event);
}

/** The wire name of a type: `wireName('IPv6PortFound') === 'ipv6_port_found'`. */
export function wireName(type: EventType): string {
  return SPEC_BY_ID[EVENT_TYPE_ID[type]].wire;
}

// ---- Decoding ---------------------------------------------------------------

function fail(field: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}…` : got) : String(got);
  throw new WireFormatError(field, `field "${field}": expected ${expected}, got ${got === undefined ? 'nothing' : shown}`);
}

const D = {
  str(v: unknown, field: string, opt: boolean): string | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'a string', v);
    return typeof v === 'string' ? v : fail(field, 'a string', v);
  },
  int(v: unknown, field: string, opt: boolean): number | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an integer', v);
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : fail(field, 'an integer', v);
  },
  num(v: unknown, field: string, opt: boolean): number | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'a number', v);
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(field, 'a finite number', v);
  },
  bool(v: unknown, field: string, opt: boolean): boolean | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'true or false', v);
    return typeof v === 'boolean' ? v : fail(field, 'true or false', v);
  },
  ip(v: unknown, field: string, opt: boolean): string | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an IP address', v);
    if (typeof v !== 'string') return fail(field, 'an IP address', v);
    if (v.indexOf(':') === -1) return parseIPv4(v) >= 0 ? v : fail(field, 'an IP address', v);
    const g = parseIPv6(v);
    return g ? formatIPv6(g) : fail(field, 'an IP address', v);
  },
  ip6(v: unknown, field: string, opt: boolean): string | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an IPv6 address', v);
    const g = typeof v === 'string' ? parseIPv6(v) : null;
    return g ? formatIPv6(g) : fail(field, 'an IPv6 address', v);
  },
  time(v: unknown, field: string, opt: boolean): number | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an ISO 8601 time', v);
    if (typeof v === 'number') return Number.isSafeInteger(v) ? v : fail(field, 'an ISO 8601 time or epoch ms', v);
    if (typeof v !== 'string' || !ISO_RE.test(v)) return fail(field, 'an ISO 8601 time like 2025-11-09T12:00:02.123Z', v);
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? fail(field, 'a valid ISO 8601 time', v) : ms;
  },
  strs(v: unknown, field: string, opt: boolean): string[] | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an array of strings', v);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return fail(field, 'an array of strings', v);
    return v as string[];
  },
  smap(v: unknown, field: string, opt: boolean): Record<string, string> | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an object of strings', v);
    if (typeof v !== 'object' || Array.isArray(v)) return fail(field, 'an object of strings', v);
    for (const k of Object.keys(v)) if (typeof (v as Record<string, unknown>)[k] !== 'string') fail(`${field}.${k}`, 'a string', (v as Record<string, unknown>)[k]);
    return v as Record<string, string>;
  },
  json(v: unknown, field: string, opt: boolean): { [k: string]: JsonValue } | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'a JSON object', v);
    if (typeof v !== 'object' || Array.isArray(v)) return fail(field, 'a JSON object', v);
    return v as { [k: string]: JsonValue };
  },
  enm(v: unknown, field: string, opt: boolean, values: readonly string[]): string | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, `one of ${values.join(', ')}`, v);
    return typeof v === 'string' && values.includes(v) ? v : fail(field, `one of ${values.join(', ')}`, v);
  },
  obj(v: unknown, field: string, opt: boolean): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return opt ? undefined : fail(field, 'an object', v);
    return typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, 'an object', v);
  },
};

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const ENUMS: (readonly string[])[] = [];

function decodeExpr(kind: FieldKind, src: string, path: string, opt: boolean): string {
  const p = JSON.stringify(path);
  if (typeof kind === 'object') {
    if ('enum' in kind) {
      ENUMS.push(kind.enum);
      return `D.enm(${src}, ${p}, ${opt}, ENUMS[${ENUMS.length - 1}])`;
    }
    const inner = kind.object
      .map((s: FieldSpec) => `${s.name}: ${decodeExpr(s.kind, `x.${s.wire}`, `${path}.${s.wire}`, s.optional)}`)
      .join(', ');
    return `((x) => x === undefined ? undefined : ({ ${inner} }))(D.obj(${src}, ${p}, ${opt}))`;
  }
  const fn = { string: 'str', int: 'int', number: 'num', bool: 'bool', ip: 'ip', ipv6: 'ip6', time: 'time', strings: 'strs', stringMap: 'smap', json: 'json' }[kind];
  return `D.${fn}(${src}, ${p}, ${opt})`;
}

type Decoder = (o: Record<string, unknown>) => ScanEvent;

function makeDecoder(spec: TypeSpec): Decoder {
  const fields = [
    `type: ${JSON.stringify(spec.type)}`,
    `seq: D.int(o.seq, 'seq', false)`,
    `scanId: D.str(o.scan_id, 'scan_id', false)`,
    `timestamp: D.time(o.timestamp, 'timestamp', false)`,
    ...spec.fields.map((fs) => `${fs.name}: ${decodeExpr(fs.kind, `o.${fs.wire}`, fs.wire, fs.optional)}`),
  ];
  return new Function('D', 'ENUMS', `return function decode_${spec.type}(o) {\nreturn { ${fields.join(',\n')} };\n}`)(D, ENUMS) as Decoder;
}

const DECODERS = new Map<string, Decoder>();
for (const spec of WIRE_SCHEMA) {
  const dec = makeDecoder(spec);
  DECODERS.set(spec.wire, dec);
  DECODERS.set(spec.type, dec); // PascalCase names are accepted too
}

// ---- Log meta lines -----------------------------------------------------------

/** First line of every log file. */
export interface LogStarted {
  readonly event: 'log_started';
  readonly timestamp: number;
  /** LOG_FILE_VERSION of the writer. */
  readonly version: string;
  /** WIRE_FORMAT_VERSION of the events in the file. */
  readonly format: number;
  /** The bus whose events follow (seq restarts in every process). */
  readonly busId: string;
}

/** Written when a scan's logging starts: the configuration it ran with. */
export interface ScanConfigLine {
  readonly event: 'scan_config';
  readonly timestamp: number;
  readonly scanId: string;
  readonly config: { readonly [key: string]: JsonValue };
}

/** Last line of a cleanly closed log file. */
export interface LogEnded {
  readonly event: 'log_ended';
  readonly timestamp: number;
  /** Lines of events written to this file (absent from writers that do not count). */
  readonly eventsWritten: number | undefined;
  /** Events the writer could not write (disk errors, memory bound). */
  readonly eventsDropped: number | undefined;
}

export type LogMetaLine = LogStarted | ScanConfigLine | LogEnded;
export type WireLine = ScanEvent | LogMetaLine;

export function logStarted(busId: string, timestamp: number): LogStarted {
  return { event: 'log_started', timestamp, version: LOG_FILE_VERSION, format: WIRE_FORMAT_VERSION, busId };
}

export function scanConfigLine(scanId: string, timestamp: number, config: { readonly [key: string]: JsonValue }): ScanConfigLine {
  return { event: 'scan_config', timestamp, scanId, config };
}

export function logEnded(timestamp: number, eventsWritten?: number, eventsDropped?: number): LogEnded {
  return { event: 'log_ended', timestamp, eventsWritten, eventsDropped };
}

export function isLogMeta(line: WireLine): line is LogMetaLine {
  return (line as LogMetaLine).event !== undefined;
}

/** One line for an event or a log meta line. */
export function toJSONLine(line: WireLine): string {
  if (!isLogMeta(line)) return toJSON(line);
  const ts = time(line.timestamp, 'timestamp');
  switch (line.event) {
    case 'log_started':
      return `{"event":"log_started","timestamp":"${ts}","version":${str(line.version, 'version')},"format":${num(line.format, 'format')},"bus_id":${str(line.busId, 'busId')}}`;
    case 'scan_config':
      return `{"event":"scan_config","timestamp":"${ts}","scan_id":${str(line.scanId, 'scanId')},"config":${json(line.config, 'config')}}`;
    case 'log_ended': {
      let s = `{"event":"log_ended","timestamp":"${ts}"`;
      if (line.eventsWritten !== undefined) s += `,"events_written":${num(line.eventsWritten, 'eventsWritten')}`;
      if (line.eventsDropped !== undefined) s += `,"events_dropped":${num(line.eventsDropped, 'eventsDropped')}`;
      return `${s}}`;
    }
  }
}

function parseObject(line: string): Record<string, unknown> {
  if (typeof line !== 'string') throw new WireFormatError('', `expected a line of text, got ${typeof line}`);
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new WireFormatError('', `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new WireFormatError('', 'expected a JSON object');
  return o as Record<string, unknown>;
}

function decodeMeta(o: Record<string, unknown>): LogMetaLine | undefined {
  switch (o.event) {
    case 'log_started':
      return {
        event: 'log_started',
        timestamp: D.time(o.timestamp, 'timestamp', false) as number,
        version: D.str(o.version, 'version', false) as string,
        format: D.int(o.format, 'format', false) as number,
        busId: D.str(o.bus_id, 'bus_id', false) as string,
      };
    case 'scan_config':
      return {
        event: 'scan_config',
        timestamp: D.time(o.timestamp, 'timestamp', false) as number,
        scanId: D.str(o.scan_id, 'scan_id', false) as string,
        config: D.json(o.config, 'config', false) as { [k: string]: JsonValue },
      };
    case 'log_ended':
      return {
        event: 'log_ended',
        timestamp: D.time(o.timestamp, 'timestamp', false) as number,
        eventsWritten: D.int(o.events_written, 'events_written', true),
        eventsDropped: D.int(o.events_dropped, 'events_dropped', true),
      };
    default:
      return undefined;
  }
}

function decodeEvent(o: Record<string, unknown>): ScanEvent {
  const name = o.event;
  if (typeof name !== 'string') return fail('event', 'an event name such as "port_found"', name);
  const dec = DECODERS.get(name);
  if (dec === undefined) {
    throw new WireFormatError('event', `field "event": unknown event name ${JSON.stringify(name)} (expected one of ${WIRE_SCHEMA.map((s) => s.wire).join(', ')})`);
  }
  return dec(o);
}

/**
 * Decode one event line (snake_case or PascalCase event names). Throws
 * WireFormatError naming the field at fault; a log meta line is an error
 * here: use parseLine for whole log files.
 */
export function fromJSON(line: string): ScanEvent {
  const o = parseObject(line);
  if (o.event === 'log_started' || o.event === 'scan_config' || o.event === 'log_ended') {
    throw new WireFormatError('event', `a ${o.event} line is log metadata, not an event: read log files with parseLine`);
  }
  return decodeEvent(o);
}

/** Decode any line of a log file: an event or a log meta line. */
export function parseLine(line: string): WireLine {
  const o = parseObject(line);
  return decodeMeta(o) ?? decodeEvent(o);
}
