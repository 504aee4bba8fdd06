// Port specs in nmap's syntax: "22,80,443", "1-1024", "-" (1-65535), "-1024",
// "60000-", "T:80,U:53" (a prefix holds until the next one), plus "top:N" and
// "fast" from the ranked port table. The result is a PortSet of sorted runs.
import { PortSpecError } from './errors.js';
import { fastPorts, topPorts, type PortProtocol } from './port-table.js';

export type PortRun = readonly [first: number, last: number];

const ACCEPTED =
  'use ports 1-65535 as "22,80,443", "1-1024", "-" (all), "-1024", "60000-", protocol prefixes "T:80,U:53", "top:N" or "fast"';

function bad(token: string, why: string): PortSpecError {
  return new PortSpecError(token, `ports: "${token}" is not a valid port item (${why}); ${ACCEPTED}`);
}

function mergeRuns(ports: readonly PortRun[]): PortRun[] {
  const sorted = [...ports].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function subtractRuns(a: readonly PortRun[], b: readonly PortRun[]): PortRun[] {
  const out: PortRun[] = [];
  for (const [alo, ahi] of a) {
    let lo = alo;
    for (const [blo, bhi] of b) {
      if (bhi < lo || blo > ahi) continue;
      if (blo > lo) out.push([lo, blo - 1]);
      lo = Math.max(lo, bhi + 1);
    }
    if (lo <= ahi) out.push([lo, ahi]);
  }
  return out;
}

function runsText(runs: readonly PortRun[]): string {
  return runs.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

/** TCP and UDP ports to probe, as sorted disjoint runs. */
export class PortSet {
  readonly tcp: readonly PortRun[];
  readonly udp: readonly PortRun[];
  /** Number of (protocol, port) probes per host. */
  readonly count: number;

  constructor(tcp: readonly PortRun[], udp: readonly PortRun[]) {
    for (const [lo, hi] of [...tcp, ...udp]) {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) {
        throw new PortSpecError(`${lo}-${hi}`, `ports: run ${lo}-${hi} is outside 1-65535 or runs backwards`);
      }
    }
    this.tcp = mergeRuns(tcp);
    this.udp = mergeRuns(udp);
    let n = 0;
    for (const [lo, hi] of this.tcp) n += hi - lo + 1;
    for (const [lo, hi] of this.udp) n += hi - lo + 1;
    this.count = n;
  }

  has(protocol: PortProtocol, port: number): boolean {
    return (protocol === 'udp' ? this.udp : this.tcp).some(([lo, hi]) => port >= lo && port <= hi);
  }

  /** This set without the ports of `other` (for --exclude-ports). */
  without(other: PortSet): PortSet {
    return new PortSet(subtractRuns(this.tcp, other.tcp), subtractRuns(this.udp, other.udp));
  }

  /** Canonical spec ("T:1-1024,U:53"); parsePorts of it gives an equal set. */
  toString(): string {
    const parts: string[] = [];
    if (this.tcp.length) parts.push(`T:${runsText(this.tcp)}`);
    if (this.udp.length) parts.push(`U:${runsText(this.udp)}`);
    return parts.join(',');
  }

  /** Every port of a protocol, ascending (allocates: for small sets and tests). */
  ports(protocol: PortProtocol): number[] {
    const out: number[] = [];
    for (const [lo, hi] of protocol === 'udp' ? this.udp : this.tcp) for (let p = lo; p <= hi; p++) out.push(p);
    return out;
  }
}

function parsePort(text: string, token: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(token, `"${text}" is not a port number`);
  const p = Number(text);
  if (p < 1 || p > 65535) throw bad(token, `port ${p} is outside 1-65535`);
  return p;
}

export interface ParsePortsOptions {
  /** Protocol of items before any T:/U: prefix (default "tcp"). */
  readonly defaultProtocol?: PortProtocol;
}

/** Parses a port spec; throws PortSpecError naming the bad item. */
export function parsePorts(spec: string, options: ParsePortsOptions = {}): PortSet {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new PortSpecError(String(spec), `ports: the port spec is empty; ${ACCEPTED}`);
  }
  let protocol: PortProtocol = options.defaultProtocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw new TypeError(`parsePorts: defaultProtocol must be "tcp" or "udp", got ${JSON.stringify(protocol)}`);
  const runs: Record<PortProtocol, PortRun[]> = { tcp: [], udp: [] };
  for (const raw of spec.split(',')) {
    const token = raw.trim();
    let item = token;
    const prefix = /^([a-z]):/i.exec(item);
    if (prefix) {
      const p = prefix[1].toUpperCase();
      if (p === 'T') protocol = 'tcp';
      else if (p === 'U') protocol = 'udp';
      else if (p === 'S') throw bad(token, 'SCTP (S:) is not supported');
      else throw bad(token, `unknown protocol prefix "${prefix[1]}:" (T: is TCP, U: is UDP)`);
      item = item.slice(2);
    }
    if (item === '') throw bad(token, 'empty item');
    const top = /^top[:=](.*)$/i.exec(item);
    if (top) {
      if (!/^\d{1,5}$/.test(top[1]) || Number(top[1]) < 1 || Number(top[1]) > 65535) {
        throw bad(token, `top needs a count from 1 to 65535, got "${top[1]}"`);
      }
      for (const p of topPorts(Number(top[1]), protocol)) runs[protocol].push([p, p]);
      continue;
    }
    if (item.toLowerCase() === 'fast') {
      for (const p of fastPorts(protocol)) runs[protocol].push([p, p]);
      continue;
    }
    const dash = item.indexOf('-');
    if (dash < 0) {
      const p = parsePort(item, token);
      runs[protocol].push([p, p]);
      continue;
    }
    const lo = dash === 0 ? 1 : parsePort(item.slice(0, dash), token);
    const hi = dash === item.length - 1 ? 65535 : parsePort(item.slice(dash + 1), token);
    if (lo > hi) throw bad(token, 'the range runs backwards');
    runs[protocol].push([lo, hi]);
  }
  return new PortSet(runs.tcp, runs.udp);
}
