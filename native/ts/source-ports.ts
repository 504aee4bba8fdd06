// Source ports for raw probes: a contiguous block above the kernel's ephemeral range
// (ip_local_port_range), so the kernel never hands one of them to a connect() of its own
// while a scan uses it, checked to be neither reserved nor bound. The kernel answers a
// SYN-ACK to one of these ports with a RST (no socket owns it): expected, and harmless.
// Reserving the block in ip_local_reserved_ports is opt-in and undone on every exit the
// process can see (docs/ARCHITECTURE.md, "Signal ownership and exit").
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NativeError } from './errors.js';
import type { SourcePorts } from './probe-engine-types.js';

/** No block of the requested size is free, a /proc file is unreadable, or a reservation failed. */
export class SourcePortError extends NativeError {
  declare readonly code: 'ERR_SOURCE_PORTS';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SOURCE_PORTS', message, options);
  }
}

export interface SourcePortOptions {
  /** Where procfs is (tests point it at fixtures). Default `/proc`. */
  procRoot?: string;
}

/** Inclusive port range. */
export type PortRange = [number, number];

const RANGE_FILE = 'sys/net/ipv4/ip_local_port_range';
const RESERVED_FILE = 'sys/net/ipv4/ip_local_reserved_ports';
const SOCKET_TABLES = ['net/tcp', 'net/tcp6', 'net/udp', 'net/udp6'];

function read(root: string, file: string): string {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch (err) {
    throw new SourcePortError(`cannot read ${join(root, file)} (${(err as Error).message}); source ports need Linux procfs`, { cause: err });
  }
}

/** `ip_local_port_range`: two numbers, low and high. */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!m || lo > hi || hi > 65535) throw new SourcePortError(`ip_local_port_range: cannot read ${JSON.stringify(text.trim())} (expected "low high")`);
  return [lo, hi];
}

/** `ip_local_reserved_ports`: comma-separated ports and `a-b` ranges, possibly empty. */
export function parseReservedPorts(text: string): PortRange[] {
  const out: PortRange[] = [];
  for (const part of text.trim().split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new SourcePortError(`ip_local_reserved_ports: cannot read ${JSON.stringify(p)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    out.push([Math.min(a, b), Math.max(a, b)]);
  }
  return out;
}

/** Local ports of every socket in a /proc/net/{tcp,tcp6,udp,udp6} table (any state). */
export function parseSocketTable(text: string): number[] {
  const ports: number[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    // "  sl  local_address rem_address   st ...": local_address is ADDR:PORT in hex.
    const cols = lines[i].trim().split(/\s+/);
    if (cols.length < 2) continue;
    const colon = cols[1].lastIndexOf(':');
    if (colon < 0) continue;
    const port = parseInt(cols[1].slice(colon + 1), 16);
    if (Number.isInteger(port) && port > 0 && port <= 65535) ports.push(port);
  }
  return ports;
}

/** Formats ranges the way the kernel writes ip_local_reserved_ports. */
export function formatReservedPorts(ranges: PortRange[]): string {
  return normalize(ranges).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

function normalize(ranges: PortRange[]): PortRange[] {
  const s = ranges.filter(([a, b]) => a <= b).map(([a, b]): PortRange => [a, b]).sort((x, y) => x[0] - y[0]);
  const out: PortRange[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function subtract(ranges: PortRange[], cut: PortRange[]): PortRange[] {
  let out = normalize(ranges);
  for (const [ca, cb] of normalize(cut)) {
    const next: PortRange[] = [];
    for (const [a, b] of out) {
      if (cb < a || ca > b) next.push([a, b]);
      else {
        if (a < ca) next.push([a, ca - 1]);
        if (cb < b) next.push([cb + 1, b]);
      }
    }
    out = next;
  }
  return out;
}

/**
 * A block of `count` consecutive source ports above the ephemeral range's upper bound
 * (61000–65535 with Linux's default 32768–60999), none of them in ip_local_reserved_ports
 * nor the local port of any TCP/UDP socket (IPv4 or IPv6, any state) of this network
 * namespace. The lowest such block is chosen. Throws SourcePortError when none exists.
 */
export function chooseSourcePorts(count = 4096, options: SourcePortOptions = {}): SourcePorts {
  const root = options.procRoot ?? '/proc';
  if (!Number.isInteger(count) || count < 1 || count > 65535) {
    throw new SourcePortError(`count: ${String(count)} must be an integer from 1 to 65535 (ports in the block)`);
  }
  const [, hi] = parsePortRange(read(root, RANGE_FILE));
  const reserved = parseReservedPorts(read(root, RESERVED_FILE));
  const taken = new Uint8Array(65536);
  for (const [a, b] of reserved) taken.fill(1, a, b + 1);
  for (const t of SOCKET_TABLES) {
    let text: string;
    try {
      text = readFileSync(join(root, t), 'utf8');
    } catch {
      continue;  // a kernel without IPv6 has no tcp6/udp6
    }
    for (const p of parseSocketTable(text)) taken[p] = 1;
  }
  let run = 0;
  for (let p = hi + 1; p <= 65535; p++) {
    run = taken[p] ? 0 : run + 1;
    if (run === count) return { first: p - count + 1, count };
  }
  const room = 65535 - hi;
  throw new SourcePortError(
    `no ${count} consecutive free source ports above the ephemeral range (ip_local_port_range ends at ${hi}, leaving ${room} ports, some reserved or bound); ` +
      `ask for fewer ports, or lower the range's upper bound (sysctl -w net.ipv4.ip_local_port_range="32768 ${Math.max(32768, 65535 - count - 1)}")`,
  );
}

// ---- opt-in reservation ----------------------------------------------------------------------

export interface SourcePortReservation {
  /** Takes the block out of ip_local_reserved_ports again (keeping whatever was reserved before). Idempotent. */
  restore(): void;
}

interface Active {
  root: string;
  /** The part of the block this reservation added (not reserved before it). */
  added: PortRange[];
  done: boolean;
}

const active = new Set<Active>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function undo(a: Active): void {
  if (a.done) return;
  a.done = true;
  active.delete(a);
  if (a.added.length > 0) {
    const file = join(a.root, RESERVED_FILE);
    // Remove only what we added, from the value as it is now: reservations someone
    // else made meanwhile stay.
    const now = parseReservedPorts(readFileSync(file, 'utf8'));
    writeFileSync(file, formatReservedPorts(subtract(now, a.added)) + '\n');
  }
  if (active.size === 0) uninstall();
}

function undoAll(): void {
  for (const a of [...active]) {
    try {
      undo(a);
    } catch {
      // On the way out nothing can report it; the other reservations are still undone.
    }
  }
}

function onUncaught(): void {
  // A handled exception ('uncaughtException' listeners) does not end the process: the scan goes on.
  if (process.listenerCount('uncaughtException') === 0) undoAll();
}

/**
 * Marks a signal listener of a library that follows the signal protocol (act only when
 * no application listener exists, then remove itself and re-raise). Two such libraries
 * (say the logger and a port reservation) must not each see the other as "the
 * application" and both stand aside, leaving the signal ignored: each counts only
 * unmarked listeners. Shared by name (Symbol.for), so no package imports another for it.
 */
export const EXIT_HOOK_MARK = Symbol.for('portflow.exitHook');

function applicationListeners(signal: NodeJS.Signals): number {
  return process.listeners(signal).filter((l) => !(l as unknown as Record<symbol, unknown>)[EXIT_HOOK_MARK]).length;
}

function onSignal(signal: NodeJS.Signals): void {
  // Only when no application listens: restore, step aside, and let the signal end the
  // process as it would have (other marked hooks of this emit do the same; the first
  // re-raised signal ends it). Otherwise the application owns the signal.
  if (applicationListeners(signal) > 0) return;
  undoAll();
  uninstall();
  process.kill(process.pid, signal);
}

const signalListeners = new Map<NodeJS.Signals, () => void>(
  SIGNALS.map((s) => [s, Object.assign(() => onSignal(s), { [EXIT_HOOK_MARK]: true })]),
);

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', undoAll);
  process.on('uncaughtExceptionMonitor', onUncaught);
  for (const [s, l] of signalListeners) process.on(s, l);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', undoAll);
  process.off('uncaughtExceptionMonitor', onUncaught);
  for (const [s, l] of signalListeners) process.off(s, l);
}

/**
 * Adds the block to ip_local_reserved_ports (root), so no local bind or connect of another
 * program picks one of its ports while the scan runs; `restore()` removes what it added,
 * as do process exit, an uncaught exception, and SIGINT/SIGTERM/SIGHUP (only when no
 * other listener owns the signal: it then restores, removes its listeners and re-raises).
 */
export function reserveSourcePorts(ports: SourcePorts, options: SourcePortOptions = {}): SourcePortReservation {
  if (!ports || !Number.isInteger(ports.first) || !Number.isInteger(ports.count) || ports.count < 1 || ports.first < 1 || ports.first + ports.count - 1 > 65535) {
    throw new SourcePortError(`ports: ${JSON.stringify(ports)} is not a block of ports within 1-65535 (use chooseSourcePorts())`);
  }
  const root = options.procRoot ?? '/proc';
  const file = join(root, RESERVED_FILE);
  const before = parseReservedPorts(read(root, RESERVED_FILE));
  const block: PortRange = [ports.first, ports.first + ports.count - 1];
  const added = subtract([block], before);
  const entry: Active = { root, added, done: false };
  if (added.length > 0) {
    try {
      writeFileSync(file, formatReservedPorts([...before, block]) + '\n');
    } catch (err) {
      throw new SourcePortError(`cannot reserve ports ${block[0]}-${block[1]} in ${file} (${(err as Error).message}); run as root, or scan without reserving (the block is already outside the ephemeral range)`, { cause: err });
    }
  }
  active.add(entry);
  install();
  return {
    restore(): void {
      try {
        undo(entry);
      } catch (err) {
        throw new SourcePortError(`cannot restore ${file} (${(err as Error).message})`, { cause: err });
      }
    },
  };
}
