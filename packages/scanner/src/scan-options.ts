// Scan options: the public shape and its one-time validation. Everything the
// scan and its engine read afterwards comes from ResolvedScanOptions, so no hot
// path re-checks an option.
import { readFileSync } from 'node:fs';
import type { ScanCheckpoint, ScanEvent } from '@portflow/core';
import { parsePorts, PortSet } from './ports.js';
import { parseTargets, type LookupFn, type TargetToken } from './targets.js';
import type { ScanOrder, ShardOption } from './job.js';
import { checkCheckpoint } from './checkpoint.js';
import { nativeProbeBackend, type ProbeBackend } from './engines/probe-backend.js';
import { ScanOptionError, ScanPrivilegeError } from './scan-errors.js';
import { resolveTiming, timingTemplate, type ResolvedTiming, type TimingLevel, type TimingName } from './timing.js';

/** connect: kernel connects (no privileges); syn, udp: raw probes; ping: host discovery only (nmap -sn). */
export type ScanType = 'connect' | 'syn' | 'udp' | 'ping';
export const SCAN_TYPES: readonly ScanType[] = ['connect', 'syn', 'udp', 'ping'];
/** Scan types that send raw packets through @portflow/native's probe engine (root or CAP_NET_RAW). */
export const RAW_SCAN_TYPES: readonly ScanType[] = ['syn', 'udp', 'ping'];

export type DiscoveryMethodOption = 'icmp-echo' | 'icmp-timestamp' | 'tcp-syn' | 'tcp-ack';
export interface DiscoveryProbeOption {
  readonly method: DiscoveryMethodOption;
  /** Port of tcp-syn / tcp-ack probes (default 443 / 80). */
  readonly port?: number;
}
/** nmap's default discovery probes for privileged users (besides ARP/NDP on-link). */
export const DEFAULT_DISCOVERY: readonly DiscoveryProbeOption[] = [
  { method: 'icmp-echo' },
  { method: 'icmp-timestamp' },
  { method: 'tcp-syn', port: 443 },
  { method: 'tcp-ack', port: 80 },
];

export interface ScanReportOptions {
  /** Publish PortFound for closed ports too (default false: open ports only, like nmap's "Not shown"). */
  readonly closed?: boolean;
  /** Publish PortFound for filtered ports too (default false). */
  readonly filtered?: boolean;
}

export interface ScanOptions {
  /** Target specs: addresses, CIDR, ranges, octet blocks, hostnames (see parseTarget). */
  readonly targets: string | readonly string[];
  /** Target specs to leave out. */
  readonly exclude?: string | readonly string[];
  /** Port spec, e.g. "22,80,443", "1-65535", "top:1000" (default "top:1000", as nmap). */
  readonly ports?: string;
  /**
   * "connect" (default; unprivileged), "syn" (nmap -sS), "udp" (-sU) or "ping" (host
   * discovery only, -sn). syn, udp and ping need root or CAP_NET_RAW.
   */
  readonly type?: ScanType;
  /** Timing template 0-5 / "T0"-"T5" / "paranoid" … "insane" (raw scans; default 3, "normal"). */
  readonly timing?: TimingLevel | TimingName | string;
  /** Send at least this many packets per second (raw scans). */
  readonly minRate?: number;
  /** Never send more than this many packets per second (raw scans; rate control stays below). */
  readonly maxRate?: number;
  /**
   * Give up a host not finished this many ms after its first probe (nmap --host-timeout;
   * syn, udp and connect scans; default: never). Its remaining ports are not probed nor reported;
   * one WarningIssued HOST_TIMEOUT names it and its host result has `timedOut: true`.
   */
  readonly hostTimeoutMs?: number;
  /** Port scans without host discovery first (nmap -Pn): every target is port-scanned. */
  readonly skipDiscovery?: boolean;
  /** Discovery probes for targets that are not on-link (default: DEFAULT_DISCOVERY). */
  readonly discovery?: readonly DiscoveryProbeOption[];
  /** Send through this interface (raw scans; default: the kernel's route). */
  readonly interface?: string;
  /** Probes in flight at once (default 1,024, less when the open-file limit is low). */
  readonly concurrency?: number;
  /** Timeout of a probe before any round trip has been measured, ms (default 1,000, as nmap). */
  readonly initialTimeoutMs?: number;
  /** Floor of the adaptive timeout, ms (default 100). */
  readonly minTimeoutMs?: number;
  /** Ceiling of the adaptive timeout, ms (default 10,000). */
  readonly maxTimeoutMs?: number;
  /** Resends of a probe that got no answer (default 2 for connect; the timing template's for raw scans). */
  readonly maxRetries?: number;
  /** Which non-open states become PortFound events. */
  readonly report?: ScanReportOptions;
  /** Permutation key of the probe order (random by default). */
  readonly seed?: bigint | number | string;
  /** "random" (default) or "natural" probe order. */
  readonly order?: ScanOrder;
  /** This machine's share of a scan split over several. */
  readonly shard?: ShardOption;
  /** Continue a scan from one of its ScanCheckpoint events (same configuration required). */
  readonly resumeFrom?: ScanCheckpoint;
  /**
   * The interrupted run's events (from its log): reported ports are not probed
   * or reported again, its results and counters carry on.
   */
  readonly resumeEvents?: Iterable<ScanEvent>;
  /** Aborting it cancels the scan (reason: the signal's reason). */
  readonly signal?: AbortSignal;
  /** The scan's UUID (default: random; a resume keeps the checkpoint's). */
  readonly scanId?: string;
  /** Most time between two ScanCheckpoints, ms: 100–5,000 (default 5,000). */
  readonly checkpointIntervalMs?: number;
  /** Hostname resolver (default: the system's, dns.lookup). */
  readonly lookup?: LookupFn;
  /**
   * @internal The probe engine and link functions of raw scans (default: @portflow/native's).
   * Tests pass a fake engine fed with records written in JavaScript.
   */
  readonly probeBackend?: ProbeBackend;
}

export interface ResolvedScanOptions {
  readonly type: ScanType;
  readonly targetSpecs: readonly string[];
  readonly targetTokens: readonly TargetToken[];
  readonly excludeTokens: readonly TargetToken[];
  readonly portSpec: string;
  readonly ports: PortSet;
  readonly concurrency: number;
  readonly initialTimeoutMs: number;
  readonly minTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly maxRetries: number;
  readonly reportClosed: boolean;
  readonly reportFiltered: boolean;
  readonly seed: bigint | number | string | undefined;
  readonly order: ScanOrder;
  readonly shard: ShardOption | undefined;
  readonly resumeFrom: ScanCheckpoint | undefined;
  readonly resumeEvents: readonly ScanEvent[];
  readonly signal: AbortSignal | undefined;
  readonly scanId: string | undefined;
  readonly checkpointIntervalMs: number;
  readonly lookup: LookupFn | undefined;
  /** Raw scans: timing after the template and explicit options. */
  readonly timing: ResolvedTiming;
  /** Port scans without discovery first (nmap -Pn). */
  readonly skipDiscovery: boolean;
  readonly discovery: readonly DiscoveryProbeOption[];
  readonly interface: string | undefined;
  /** Raw scans: the backend (undefined for connect, and for a ping scan by TCP connects without raw privileges). */
  readonly probeBackend: ProbeBackend | undefined;
  /** Host discovery by raw packets (any scan type, privileged); undefined: by TCP connects, or no discovery. */
  readonly discoveryBackend: ProbeBackend | undefined;
  /** Source ports the probe engine spreads probes over. */
  readonly sourcePortCount: number;
}

const KNOWN = new Set([
  'targets', 'exclude', 'ports', 'type', 'concurrency', 'initialTimeoutMs', 'minTimeoutMs', 'maxTimeoutMs', 'maxRetries',
  'report', 'seed', 'order', 'shard', 'resumeFrom', 'resumeEvents', 'signal', 'scanId', 'checkpointIntervalMs', 'lookup',
  'timing', 'minRate', 'maxRate', 'hostTimeoutMs', 'skipDiscovery', 'discovery', 'interface', 'probeBackend',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** hostTimeoutMs: whole ms, for the scans whose engine can give a host up (the probe engine's, the connect engine's). */
function hostTimeout(type: ScanType, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (type !== 'syn' && type !== 'udp' && type !== 'connect') {
    throw new ScanOptionError('hostTimeoutMs', `scan: hostTimeoutMs applies to syn, udp and connect scans, not to a ${type} scan; leave it out or use type "syn"`);
  }
  return int('hostTimeoutMs', v, 0, 1, 7 * 86_400_000);
}

function int(name: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ScanOptionError(name, `scan: ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ScanOptionError(name, `scan: ${name} must be true or false, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

function specList(name: string, v: unknown, required: boolean): string[] {
  if (v === undefined && !required) return [];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!list || !list.every((s) => typeof s === 'string') || (required && list.every((s) => (s as string).trim() === ''))) {
    throw new ScanOptionError(name, `scan: ${name} must be a target spec or an array of them (e.g. "10.0.0.0/24" or ["host", "10.0.0.1-9"])${required ? ', and is required' : ''}`);
  }
  return list as string[];
}

/**
 * Open files the process may hold (soft limit), read once: each probe in
 * flight holds one socket, and the default concurrency stays well under it.
 */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // Not Linux, or /proc is not mounted: assume the common default.
  }
  return 1024;
}

export const DEFAULT_CONCURRENCY = 1024;

/** Validates scan options once; throws a typed error naming the option and the fix. */
export function resolveScanOptions(options: ScanOptions): ResolvedScanOptions {
  if (options === null || typeof options !== 'object') {
    throw new ScanOptionError('options', 'scan: options must be an object such as { targets: "127.0.0.1", ports: "1-1024" }');
  }
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new ScanOptionError(k, `scan: unknown option "${k}" (known: ${[...KNOWN].join(', ')})`);
  }
  const type = options.type ?? 'connect';
  if (!SCAN_TYPES.includes(type)) {
    throw new ScanOptionError('type', `scan: type must be one of ${SCAN_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  const targetSpecs = specList('targets', options.targets, true);
  const targetTokens = parseTargets(targetSpecs, 'targets');
  const excludeTokens = parseTargets(specList('exclude', options.exclude, false), 'exclude');
  const ports = scanPorts(type, options.ports);
  const portSpec = type === 'ping' ? '' : (options.ports ?? defaultPortSpec(type));
  const raw = RAW_SCAN_TYPES.includes(type);
  const skipDiscovery = bool('skipDiscovery', options.skipDiscovery);
  if (type === 'ping' && skipDiscovery) throw new ScanOptionError('skipDiscovery', 'scan: a ping scan is host discovery; skipDiscovery would leave nothing to do');
  let probeBackend: ProbeBackend | undefined;
  // A connect scan's host discovery: raw packets when privileged, else TCP connects.
  const connectDiscovery = type === 'connect' && !skipDiscovery;
  if (raw || connectDiscovery) {
    if (options.probeBackend !== undefined && (options.probeBackend === null || typeof options.probeBackend.createProbeEngine !== 'function')) {
      throw new ScanOptionError('probeBackend', 'scan: probeBackend must be a ProbeBackend (internal; leave it out to use @portflow/native)');
    }
    try {
      probeBackend = options.probeBackend ?? nativeProbeBackend(type);
      probeBackend.checkRawPrivilege();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      // A ping scan (or a connect scan's discovery) without raw packets discovers by TCP
      // connects instead, as nmap does unprivileged.
      if ((type === 'ping' || type === 'connect') && (code === 'EPERM' || code === 'EACCES' || code === 'ERR_SCAN_TYPE_UNAVAILABLE')) probeBackend = undefined;
      else if (code === 'EPERM' || code === 'EACCES') throw new ScanPrivilegeError(type, { cause: err });
      else throw err;
    }
  }

  const fdLimit = openFileLimit();
  const maxConcurrency = Math.max(1, Math.min(65536, Math.floor((fdLimit - 64) * 0.8)));
  const concurrency = int('concurrency', options.concurrency, Math.min(DEFAULT_CONCURRENCY, maxConcurrency), 1, 65536);
  if (concurrency > maxConcurrency) {
    throw new ScanOptionError('concurrency', `scan: concurrency ${concurrency} needs that many sockets, but the open-file limit is ${fdLimit}; use at most ${maxConcurrency} or raise the limit (ulimit -n)`);
  }
  const minTimeoutMs = int('minTimeoutMs', options.minTimeoutMs, 100, 1, 600_000);
  const maxTimeoutMs = int('maxTimeoutMs', options.maxTimeoutMs, 10_000, 1, 600_000);
  if (maxTimeoutMs < minTimeoutMs) {
    throw new ScanOptionError('maxTimeoutMs', `scan: maxTimeoutMs (${maxTimeoutMs}) is below minTimeoutMs (${minTimeoutMs}); raise it or lower minTimeoutMs`);
  }
  const initialTimeoutMs = int('initialTimeoutMs', options.initialTimeoutMs, Math.min(Math.max(1000, minTimeoutMs), maxTimeoutMs), minTimeoutMs, maxTimeoutMs);
  const maxRetries = int('maxRetries', options.maxRetries, 2, 0, 50);
  if (!raw) {
    // A connect scan's raw discovery (when privileged) runs at the default template's pace.
    for (const k of ['timing', 'minRate', 'maxRate', 'interface'] as const) {
      if (options[k] !== undefined) throw new ScanOptionError(k, `scan: ${k} applies to the raw scans (syn, udp, ping), not to a connect scan`);
    }
  }
  const timing = resolveTiming(timingTemplate(options.timing ?? 3), {
    initialRttMs: options.initialTimeoutMs === undefined ? undefined : initialTimeoutMs,
    minRttMs: options.minTimeoutMs === undefined ? undefined : minTimeoutMs,
    maxRttMs: options.maxTimeoutMs === undefined ? undefined : maxTimeoutMs,
    maxRetries: options.maxRetries === undefined ? undefined : maxRetries,
    minRate: options.minRate,
    maxRate: options.maxRate,
    hostTimeoutMs: hostTimeout(type, options.hostTimeoutMs),
  });
  const discovery = discoveryProbes(options.discovery);
  if (options.interface !== undefined && (typeof options.interface !== 'string' || !/^[^\s/:]{1,15}$/.test(options.interface))) {
    throw new ScanOptionError('interface', `scan: interface must be an interface name (1-15 characters), got ${JSON.stringify(options.interface)}`);
  }
  const report = options.report ?? {};
  if (report === null || typeof report !== 'object') throw new ScanOptionError('report', 'scan: report must be an object { closed?: boolean, filtered?: boolean }');
  for (const k of Object.keys(report)) {
    if (k !== 'closed' && k !== 'filtered') throw new ScanOptionError(`report.${k}`, `scan: unknown report option "${k}" (known: closed, filtered; open ports are always reported)`);
  }
  const order = options.order ?? 'random';
  if (order !== 'random' && order !== 'natural') throw new ScanOptionError('order', `scan: order must be "random" or "natural", got ${JSON.stringify(order)}`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new ScanOptionError('signal', 'scan: signal must be an AbortSignal');
  if (options.scanId !== undefined && (typeof options.scanId !== 'string' || !UUID.test(options.scanId))) {
    throw new ScanOptionError('scanId', `scan: scanId must be a UUID, got ${JSON.stringify(options.scanId)}`);
  }
  if (options.lookup !== undefined && typeof options.lookup !== 'function') throw new ScanOptionError('lookup', 'scan: lookup must be a function (hostname) => Promise<{ address, family }[]>');
  const resumeFrom = options.resumeFrom === undefined ? undefined : checkCheckpoint(options.resumeFrom);
  let resumeEvents: ScanEvent[] = [];
  if (options.resumeEvents !== undefined) {
    if (resumeFrom === undefined) throw new ScanOptionError('resumeEvents', 'scan: resumeEvents needs resumeFrom (the checkpoint those events lead up to)');
    if (options.resumeEvents === null || typeof (options.resumeEvents as Iterable<ScanEvent>)[Symbol.iterator] !== 'function') {
      throw new ScanOptionError('resumeEvents', 'scan: resumeEvents must be an iterable of the interrupted run\'s events (e.g. read back from its log)');
    }
    resumeEvents = [...options.resumeEvents].filter((e) => e !== null && typeof e === 'object' && e.scanId === resumeFrom.scanId);
  }
  return {
    type,
    targetSpecs,
    targetTokens,
    excludeTokens,
    portSpec,
    ports,
    concurrency,
    initialTimeoutMs,
    minTimeoutMs,
    maxTimeoutMs,
    maxRetries,
    reportClosed: bool('report.closed', report.closed),
    reportFiltered: bool('report.filtered', report.filtered),
    seed: options.seed,
    order,
    shard: options.shard,
    resumeFrom,
    resumeEvents,
    signal: options.signal,
    scanId: options.scanId,
    checkpointIntervalMs: int('checkpointIntervalMs', options.checkpointIntervalMs, 5000, 100, 5000),
    lookup: options.lookup,
    timing,
    skipDiscovery,
    discovery,
    interface: options.interface,
    probeBackend: raw ? probeBackend : undefined,
    discoveryBackend: skipDiscovery ? undefined : probeBackend,
    sourcePortCount: 4096,
  };
}

function defaultPortSpec(type: ScanType): string {
  return type === 'udp' ? 'U:top:1000' : 'top:1000';
}

/** The ports of a scan type: TCP only for connect/syn, UDP only for udp (unprefixed ports mean UDP there, as with nmap -sU). */
function scanPorts(type: ScanType, spec: unknown): PortSet {
  if (type === 'ping') {
    if (spec !== undefined) throw new ScanOptionError('ports', 'scan: a ping scan (host discovery) probes no ports; leave ports out or use type "syn"');
    return new PortSet([], []);
  }
  const text = spec ?? defaultPortSpec(type);
  if (typeof text !== 'string') throw new ScanOptionError('ports', `scan: ports must be a port spec string such as "1-1024,8080", got ${typeof text}`);
  if (type === 'udp') {
    if (/(^|,)\s*T:/i.test(text)) throw new ScanOptionError('ports', `scan: the udp scan probes UDP only, but the ports "${text}" include TCP (T:); drop the T: items or scan TCP with type "syn"`);
    // A U: prefix holds until the next prefix: unprefixed ports (and top:N) mean UDP here.
    const p = parsePorts(/^\s*U:/i.test(text) ? text : `U:${text}`);
    return new PortSet([], p.udp);
  }
  const p = parsePorts(text);
  if (p.udp.length > 0) {
    throw new ScanOptionError('ports', `scan: the ${type} scan probes TCP only, but the ports "${text}" include UDP (U:); drop the U: items or scan them with type "udp"`);
  }
  return p;
}

function discoveryProbes(v: unknown): readonly DiscoveryProbeOption[] {
  if (v === undefined) return DEFAULT_DISCOVERY;
  const methods = ['icmp-echo', 'icmp-timestamp', 'tcp-syn', 'tcp-ack'];
  if (!Array.isArray(v) || v.length === 0 || v.length > 16) throw new ScanOptionError('discovery', 'scan: discovery must be a non-empty array of { method, port? } (methods: icmp-echo, icmp-timestamp, tcp-syn, tcp-ack)');
  // The probe engine holds one probe per flow: two methods sending the same flow (tcp-syn
  // and tcp-ack to one port, a method twice) would retire each other on one answer.
  const flows = new Map<string, number>();
  return v.map((d: unknown, i) => {
    const o = d as { method?: unknown; port?: unknown } | null;
    if (o === null || typeof o !== 'object' || !methods.includes(o.method as string)) {
      throw new ScanOptionError(`discovery[${i}]`, `scan: discovery[${i}].method must be one of ${methods.join(', ')}, got ${JSON.stringify(o?.method)}`);
    }
    const tcp = o.method === 'tcp-syn' || o.method === 'tcp-ack';
    if (o.port !== undefined && (!tcp || !Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535)) {
      throw new ScanOptionError(`discovery[${i}].port`, `scan: discovery[${i}].port must be 1-65535 and only for tcp-syn / tcp-ack`);
    }
    const port = tcp ? ((o.port as number | undefined) ?? (o.method === 'tcp-syn' ? 443 : 80)) : undefined;
    const flow = tcp ? `tcp:${port}` : (o.method as string);
    const first = flows.get(flow);
    if (first !== undefined) {
      throw new ScanOptionError(`discovery[${i}]`, `scan: discovery[${i}] sends the same probe flow as discovery[${first}] (${tcp ? `TCP port ${port}` : o.method}); use each method once and at most one of tcp-syn / tcp-ack per port`);
    }
    flows.set(flow, i);
    return { method: o.method as DiscoveryMethodOption, port };
  });
}
