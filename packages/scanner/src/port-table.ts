// The ranked port table shipped in data/port-ranking.txt (its source and
// rules are in that file's header and the README): top-N and fast port sets,
// and service names. Loaded once, on first use.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScannerError } from './errors.js';

export type PortProtocol = 'tcp' | 'udp';

/** How many ports the fast set holds (as nmap -F: the top 100). */
export const FAST_PORT_COUNT = 100;

export const PORT_TABLE_PATH = fileURLToPath(new URL('../data/port-ranking.txt', import.meta.url));

interface Table {
  /** Every port 1-65535 in rank order. */
  readonly ranked: Record<PortProtocol, Uint16Array>;
  /** Ports listed in the file (the curated part of the ranking). */
  readonly listed: Record<PortProtocol, number>;
  readonly names: Record<PortProtocol, Map<number, string>>;
}

let table: Table | undefined;

/** Parses the table text; exported for tests. Throws ERR_PORT_TABLE naming the line. */
export function parsePortTable(text: string, source: string): Table {
  const order: Record<PortProtocol, number[]> = { tcp: [], udp: [] };
  const names: Record<PortProtocol, Map<number, string>> = { tcp: new Map(), udp: new Map() };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(tcp|udp)\s+([1-9]\d{0,4})\s+(\S+)$/.exec(line);
    const port = m ? Number(m[2]) : 0;
    const proto = m?.[1] as PortProtocol | undefined;
    if (!m || !proto || port > 65535 || names[proto].has(port)) {
      throw new ScannerError('ERR_PORT_TABLE', `${source}:${i + 1}: "${line}" is not "tcp|udp <port 1-65535> <name>" or repeats a port; fix or reinstall the port table`);
    }
    order[proto].push(port);
    names[proto].set(port, m[3]);
  }
  const ranked = { tcp: rankAll(order.tcp), udp: rankAll(order.udp) };
  return { ranked, listed: { tcp: order.tcp.length, udp: order.udp.length }, names };
}

function rankAll(listed: readonly number[]): Uint16Array {
  const out = new Uint16Array(65535);
  const seen = new Uint8Array(65536);
  let n = 0;
  for (const p of listed) {
    out[n++] = p;
    seen[p] = 1;
  }
  for (let p = 1; p <= 65535; p++) if (!seen[p]) out[n++] = p;
  return out;
}

function load(): Table {
  if (table) return table;
  let text: string;
  try {
    text = readFileSync(PORT_TABLE_PATH, 'utf8');
  } catch (err) {
    throw new ScannerError('ERR_PORT_TABLE', `port table ${PORT_TABLE_PATH} cannot be read (${(err as Error).message}); reinstall @portflow/scanner`, { cause: err });
  }
  table = parsePortTable(text, PORT_TABLE_PATH);
  return table;
}

function checkProtocol(protocol: string): asserts protocol is PortProtocol {
  if (protocol !== 'tcp' && protocol !== 'udp') throw new TypeError(`port table: protocol must be "tcp" or "udp", got ${JSON.stringify(protocol)}`);
}

/** The `n` highest-ranked ports of a protocol, in rank order (n from 0 to 65535). */
export function topPorts(n: number, protocol: PortProtocol = 'tcp'): number[] {
  checkProtocol(protocol);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`topPorts: n must be an integer from 0 to 65535, got ${String(n)}`);
  return Array.from(load().ranked[protocol].subarray(0, n));
}

/** The fast set: the top 100 of a protocol. */
export function fastPorts(protocol: PortProtocol = 'tcp'): number[] {
  return topPorts(FAST_PORT_COUNT, protocol);
}

/** 1-based rank of a port (the curated ports first). */
export function portRank(port: number, protocol: PortProtocol = 'tcp'): number {
  checkProtocol(protocol);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`portRank: port must be an integer from 1 to 65535, got ${String(port)}`);
  return load().ranked[protocol].indexOf(port) + 1;
}

/** Service name from the table, or undefined. */
export function serviceName(port: number, protocol: PortProtocol = 'tcp'): string | undefined {
  checkProtocol(protocol);
  return load().names[protocol].get(port);
}

/** How many ports of a protocol the table ranks explicitly (the rest follow in port order). */
export function curatedPortCount(protocol: PortProtocol = 'tcp'): number {
  checkProtocol(protocol);
  return load().listed[protocol];
}
