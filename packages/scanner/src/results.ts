// ScanResults: what a scan found, compact as nmap prints it (per host a
// default state, "Not shown: 998 closed", plus the exceptions). Built from the
// same records the scan publishes as PortFound, and rebuilt from an event
// stream by foldScanEvents: both give the same object when every state is
// reported.
import type { IPv6PortFound, PortFound, PortState, Protocol, ScanEvent, ScanOutcome } from '@portflow/core';
import { parseIPv4, parseIPv6 } from './ip.js';

/** Port states as small integers in the results' packed records. */
/** The WarningIssued code of a host given up on (hostTimeoutMs); its target is the host. */
export const HOST_TIMEOUT = 'HOST_TIMEOUT';

export const STATE_CODE: { readonly [S in PortState]: number } = { open: 0, closed: 1, filtered: 2, unfiltered: 3, 'open-filtered': 4 };
const STATE_NAMES: readonly PortState[] = ['open', 'closed', 'filtered', 'unfiltered', 'open-filtered'];

// Reasons are a handful of words: interned once, stored as a byte.
const reasonNames: (string | undefined)[] = [undefined];
const reasonCodes = new Map<string, number>();

/** The code of a reason word (0 is "no reason"); interned on first use. */
export function reasonCode(reason: string | undefined): number {
  if (reason === undefined) return 0;
  let c = reasonCodes.get(reason);
  if (c === undefined) {
    if (reasonNames.length >= 255) return 0; // a flood of distinct reasons is garbage input, not a reason
    c = reasonNames.length;
    reasonNames.push(reason);
    reasonCodes.set(reason, c);
  }
  return c;
}

/** The reason word of a code from reasonCode(). */
export function reasonName(code: number): string | undefined {
  return reasonNames[code];
}

/** Detection results of a port, filled by later stages (service and banner probes). */
export interface PortDetection {
  readonly serviceName: string | undefined;
  readonly product: string | undefined;
  readonly version: string | undefined;
  readonly banner: string | undefined;
}

export interface PortResult {
  readonly port: number;
  readonly protocol: Protocol;
  readonly state: PortState;
  readonly reason: string | undefined;
  readonly ttl: number | undefined;
  /** Service detection's findings; undefined until a detection stage ran. */
  readonly detection: PortDetection | undefined;
}

/** The ports of a host not listed one by one: "Not shown: 998 closed tcp ports (conn-refused)". */
export interface DefaultState {
  readonly state: PortState;
  readonly reason: string | undefined;
  readonly count: number;
}

export interface HostResult {
  readonly address: string;
  /** "up" when host discovery found it or any port answered (open or closed); "unknown" when neither. */
  readonly status: 'up' | 'unknown';
  /**
   * True when the scan gave the host up (hostTimeoutMs; WarningIssued HOST_TIMEOUT): its
   * ports are only those scanned before, the rest were not probed (nmap: "Skipping host …
   * due to host timeout").
   */
  readonly timedOut: boolean;
  /** Ports per state, listed or not. */
  readonly counts: { readonly [S in PortState]: number };
  /** The most common non-open state and reason; undefined when every port is listed. */
  readonly defaultState: DefaultState | undefined;
  /** Every port not covered by defaultState (open ports always), by protocol then port. */
  readonly ports: readonly PortResult[];
}

export interface ScanResults {
  readonly scanId: string;
  readonly scanType: string;
  readonly outcome: ScanOutcome;
  /** Why a failed scan failed ("ERR_CODE: message"). */
  readonly error: string | undefined;
  /** Target and port specs as given. */
  readonly targets: readonly string[];
  readonly ports: string;
  readonly startedAt: number;
  readonly durationMs: number;
  /** Addresses in the scan. */
  readonly targetsScanned: number;
  /** Probes with a final state. */
  readonly portsScanned: number;
  readonly openPorts: number;
  readonly hostsUp: number;
  /** Hosts with at least one port state, in address order. */
  readonly hosts: readonly HostResult[];
}

interface HostAcc {
  readonly address: string;
  ports: Uint16Array;
  /** state (3 bits) | reason (8 bits) << 3 | ttl + 1 (9 bits) << 11 | udp (1 bit) << 20 */
  packed: Uint32Array;
  n: number;
  answered: boolean;
  timedOut: boolean;
  detection: Map<number, PortDetection> | undefined;
}

const UDP_BIT = 1 << 20;

/** Collects port states; build() gives ScanResults. Appends to typed arrays: about 6 bytes per port, no object per port. */
export class ResultsBuilder {
  readonly #hosts = new Map<string, HostAcc>();
  #recorded = 0;
  #open = 0;
  #hostsUp = 0;

  get recorded(): number {
    return this.#recorded;
  }
  get openPorts(): number {
    return this.#open;
  }
  get hostsUp(): number {
    return this.#hostsUp;
  }
  /** Ports recorded for `address` (0 when none). */
  hostCount(address: string): number {
    return this.#hosts.get(address)?.n ?? 0;
  }

  /** One port's final state. Each (address, port, protocol) must be recorded once. */
  record(address: string, port: number, udp: boolean, state: number, reason: number, ttl: number | undefined): void {
    let h = this.#hosts.get(address);
    if (h === undefined) {
      h = { address, ports: new Uint16Array(8), packed: new Uint32Array(8), n: 0, answered: false, timedOut: false, detection: undefined };
      this.#hosts.set(address, h);
    }
    if (h.n === h.ports.length) {
      const ports = new Uint16Array(h.n * 2);
      ports.set(h.ports);
      const packed = new Uint32Array(h.n * 2);
      packed.set(h.packed);
      h.ports = ports;
      h.packed = packed;
    }
    const t = ttl === undefined || !(ttl >= 0 && ttl <= 255) ? 0 : ttl + 1;
    h.ports[h.n] = port;
    h.packed[h.n] = state | (reason << 3) | (t << 11) | (udp ? UDP_BIT : 0);
    h.n++;
    this.#recorded++;
    if (state === 0) this.#open++;
    if (!h.answered && (state === 0 || state === 1)) {
      h.answered = true;
      this.#hostsUp++;
    }
  }

  /** A host the scan gave up on (host timeout; listed even without port states). */
  hostTimedOut(address: string): void {
    this.#acc(address).timedOut = true;
  }

  #acc(address: string): HostAcc {
    let h = this.#hosts.get(address);
    if (h === undefined) {
      h = { address, ports: new Uint16Array(8), packed: new Uint32Array(8), n: 0, answered: false, timedOut: false, detection: undefined };
      this.#hosts.set(address, h);
    }
    return h;
  }

  /** A host that host discovery found up (listed even without port states, as nmap's "Host is up"). */
  hostUp(address: string): void {
    const h = this.#acc(address);
    if (!h.answered) {
      h.answered = true;
      this.#hostsUp++;
    }
  }

  recordEvent(e: PortFound | IPv6PortFound): void {
    this.record(e.target, e.port, e.protocol === 'udp', STATE_CODE[e.state] ?? 2, reasonCode(e.reason), e.ttl);
  }

  /** Attaches detection results (ServiceDetected, BannerGrabbed) to a port. */
  detect(address: string, port: number, protocol: Protocol, d: Partial<PortDetection>): void {
    const h = this.#hosts.get(address);
    if (h === undefined) return;
    h.detection ??= new Map();
    const key = port | (protocol === 'udp' ? 1 << 16 : 0);
    const prev = h.detection.get(key);
    h.detection.set(key, {
      serviceName: d.serviceName ?? prev?.serviceName,
      product: d.product ?? prev?.product,
      version: d.version ?? prev?.version,
      banner: d.banner ?? prev?.banner,
    });
  }

  build(meta: {
    scanId: string;
    scanType: string;
    outcome: ScanOutcome;
    error: string | undefined;
    targets: readonly string[];
    ports: string;
    startedAt: number;
    durationMs: number;
    targetsScanned: number;
    portsScanned: number;
  }): ScanResults {
    const hosts = [...this.#hosts.values()].sort(compareHosts).map(hostResult);
    return {
      scanId: meta.scanId,
      scanType: meta.scanType,
      outcome: meta.outcome,
      error: meta.error,
      targets: meta.targets,
      ports: meta.ports,
      startedAt: meta.startedAt,
      durationMs: meta.durationMs,
      targetsScanned: meta.targetsScanned,
      portsScanned: meta.portsScanned,
      openPorts: this.#open,
      hostsUp: this.#hostsUp,
      hosts,
    };
  }
}

function addressKey(a: string): bigint {
  const v4 = parseIPv4(a);
  if (v4 !== undefined) return BigInt(v4);
  const v6 = parseIPv6(a);
  return v6 === undefined ? -1n : (1n << 128n) + v6;
}

function compareHosts(a: HostAcc, b: HostAcc): number {
  const ka = addressKey(a.address), kb = addressKey(b.address);
  return ka < kb ? -1 : ka > kb ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

function hostResult(h: HostAcc): HostResult {
  const counts = { open: 0, closed: 0, filtered: 0, unfiltered: 0, 'open-filtered': 0 };
  // (state, reason) groups of non-open ports: the largest one becomes the default.
  const groups = new Map<number, number>();
  for (let i = 0; i < h.n; i++) {
    const p = h.packed[i];
    const state = p & 7;
    counts[STATE_NAMES[state]]++;
    if (state !== 0) {
      const g = p & 0x7ff;
      groups.set(g, (groups.get(g) ?? 0) + 1);
    }
  }
  let best = -1, bestCount = 0;
  for (const [g, c] of groups) if (c > bestCount || (c === bestCount && g < best)) [best, bestCount] = [g, c];
  const order = new Uint32Array(h.n);
  let m = 0;
  for (let i = 0; i < h.n; i++) if ((h.packed[i] & 0x7ff) !== best || (h.packed[i] & 7) === 0) order[m++] = i;
  const listed = Array.from(order.subarray(0, m)).sort(
    (a, b) => (h.packed[a] & UDP_BIT) - (h.packed[b] & UDP_BIT) || h.ports[a] - h.ports[b],
  );
  const ports: PortResult[] = listed.map((i) => {
    const p = h.packed[i];
    const t = (p >>> 11) & 0x1ff;
    const protocol: Protocol = p & UDP_BIT ? 'udp' : 'tcp';
    return {
      port: h.ports[i],
      protocol,
      state: STATE_NAMES[p & 7],
      reason: reasonNames[(p >>> 3) & 0xff],
      ttl: t === 0 ? undefined : t - 1,
      detection: h.detection?.get(h.ports[i] | (protocol === 'udp' ? 1 << 16 : 0)),
    };
  });
  return {
    address: h.address,
    status: h.answered ? 'up' : 'unknown',
    timedOut: h.timedOut,
    counts,
    defaultState: best < 0 ? undefined : { state: STATE_NAMES[best & 7], reason: reasonNames[best >>> 3], count: bestCount },
    ports,
  };
}

/**
 * Rebuilds a scan's results from its events (a live stream or a log read
 * back): ScanStarted, HostDiscovered, PortFound/IPv6PortFound, detection events and
 * ScanCompleted. With `scanId`, other scans' events are skipped; otherwise
 * the first ScanStarted's scan is folded. A scan resumed in a new process
 * (a second ScanStarted of the same scan) folds into one result.
 */
export function foldScanEvents(events: Iterable<ScanEvent>, scanId?: string): ScanResults {
  const b = new ResultsBuilder();
  let id = scanId;
  let scanType = '', targets: readonly string[] = [], ports = '', startedAt = 0, targetsScanned = 0;
  let completed: Extract<ScanEvent, { type: 'ScanCompleted' }> | undefined;
  let started = false;
  for (const e of events) {
    if (id === undefined && e.type === 'ScanStarted') id = e.scanId;
    if (e.scanId !== id) continue;
    switch (e.type) {
      case 'ScanStarted':
        if (!started) {
          started = true;
          scanType = e.scanType;
          targets = e.targets;
          ports = e.ports;
          startedAt = e.timestamp;
          targetsScanned = e.targetCount;
        }
        completed = undefined; // a resume: the earlier run's end is not the scan's end
        break;
      case 'HostDiscovered':
        b.hostUp(e.ip);
        break;
      case 'WarningIssued':
        if (e.code === HOST_TIMEOUT && e.target !== undefined) b.hostTimedOut(e.target);
        break;
      case 'PortFound':
      case 'IPv6PortFound':
        b.recordEvent(e);
        break;
      case 'ServiceDetected':
        b.detect(e.target, e.port, e.protocol, { serviceName: e.serviceName, product: e.product, version: e.version });
        break;
      case 'BannerGrabbed':
        b.detect(e.target, e.port, 'tcp', { banner: e.banner });
        break;
      case 'ScanCompleted':
        completed = e;
        break;
      default:
        break;
    }
  }
  return b.build({
    scanId: id ?? '',
    scanType,
    outcome: completed?.outcome ?? 'failed',
    error: completed === undefined ? 'the events end before ScanCompleted (the scan was interrupted)' : completed.error,
    targets,
    ports,
    startedAt,
    durationMs: completed?.durationMs ?? 0,
    targetsScanned: completed?.targetsScanned ?? targetsScanned,
    portsScanned: completed?.portsScanned ?? b.recorded,
  });
}
