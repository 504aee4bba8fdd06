// What the raw-packet scans need from @portflow/native: the privilege check,
// link planning (routes, next hops, neighbours), source ports and the probe
// engine itself. Taken from the native package at run time, so this build
// still loads (and the connect scan still runs) against a native build
// without the probe engine; tests pass their own backend (a fake engine fed
// with records written in JavaScript).
import * as native from '@portflow/native';
import type { LinkPlan, ProbeEngineLike, ProbeEngineOptions, RecordBatch, SourcePorts } from '@portflow/native';
import { parseIPv4, parseIPv6 } from '../ip.js';
import { createScanJob } from '../job.js';
import { parsePorts } from '../ports.js';
import { ScanTypeUnavailableError } from '../scan-errors.js';
import { buildTargetSet, parseTargets, type TargetSet } from '../targets.js';

/** A ring of records as the scan consumes it (RecordRing satisfies it). */
export interface RecordSource {
  drain(handler: (batch: RecordBatch) => void, limit?: number): number;
}

/** The probe engine as the scan drives it: ProbeEngineLike with rings reduced to what is drained. */
export interface ProbeEngineHandle extends Omit<ProbeEngineLike, 'replies' | 'outcomes'> {
  readonly replies: RecordSource;
  readonly outcomes: RecordSource;
}

export interface PlannedLinkLike extends LinkPlan {
  /** Next hops (gateways, on-link targets) without a neighbour entry: resolve them first. */
  unresolved: string[];
  /** Targets without any route. */
  unroutable?: string[];
}

export interface NeighborAnswer {
  address: string;
  mac: string;
  latencyMs: number;
}

export interface ProbeBackend {
  /** Throws an error with code 'EPERM' when raw packets are not allowed. */
  checkRawPrivilege(): void;
  planLink(options: { targets: string[]; interface?: string }): Promise<PlannedLinkLike>;
  resolveNeighbors(plan: LinkPlan, addresses: string[], options: { timeoutMs?: number; retries?: number; rate?: number }): Promise<NeighborAnswer[]>;
  applyNeighbors<P extends LinkPlan>(plan: P, resolved: ReadonlyArray<{ address: string; mac: string }>): P;
  chooseSourcePorts(count: number): SourcePorts;
  /** `onReplies` / `onOutcomes` are called with record batches when records arrive (the rings' doorbells). */
  createProbeEngine(options: ProbeEngineOptions, onReplies: (b: RecordBatch) => void, onOutcomes: (b: RecordBatch) => void): ProbeEngineHandle;
}

type NativeModule = Record<string, unknown>;
const NAMES = ['checkRawPrivilege', 'planLink', 'resolveNeighbors', 'applyNeighbors', 'chooseSourcePorts', 'ProbeEngine'] as const;

/** The backend of the installed @portflow/native, or a ScanTypeUnavailableError naming what it lacks. */
export function nativeProbeBackend(scanType: string): ProbeBackend {
  const m = native as unknown as NativeModule;
  const missing = NAMES.filter((n) => typeof m[n] !== 'function');
  if (missing.length > 0) {
    throw new ScanTypeUnavailableError(
      scanType,
      `scan: the ${scanType} scan needs @portflow/native's probe engine, but this build of it lacks ${missing.join(', ')}; rebuild @portflow/native (pnpm -C native build) or use type "connect"`,
    );
  }
  type EngineCtor = new (o: ProbeEngineOptions & { onReplies: (b: RecordBatch) => void; onOutcomes: (b: RecordBatch) => void }) => ProbeEngineHandle;
  const Engine = m.ProbeEngine as EngineCtor;
  return {
    checkRawPrivilege: m.checkRawPrivilege as ProbeBackend['checkRawPrivilege'],
    planLink: m.planLink as ProbeBackend['planLink'],
    resolveNeighbors: m.resolveNeighbors as ProbeBackend['resolveNeighbors'],
    applyNeighbors: m.applyNeighbors as ProbeBackend['applyNeighbors'],
    chooseSourcePorts: m.chooseSourcePorts as ProbeBackend['chooseSourcePorts'],
    createProbeEngine: (options, onReplies, onOutcomes) => new Engine({ ...options, onReplies, onOutcomes }),
  };
}

// ---- Link planning for a scan ------------------------------------------------------------

/** Most on-link addresses resolved by ARP/NDP before a scan (more must already be in the kernel's neighbour table). */
export const MAX_ONLINK_RESOLVE = 1 << 16;
/** Largest target set walked address by address to find its on-link members. */
const MAX_WALK = 1 << 22;

function inPrefix(address: string, prefix: string): boolean {
  const [net, lenText] = prefix.split('/');
  const len = Number(lenText);
  const a4 = parseIPv4(address), n4 = parseIPv4(net);
  if (a4 !== undefined && n4 !== undefined) {
    if (len === 0) return true;
    const mask = len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
    return ((a4 & mask) >>> 0) === ((n4 & mask) >>> 0);
  }
  const a6 = parseIPv6(address), n6 = parseIPv6(net);
  if (a6 !== undefined && n6 !== undefined) {
    if (len === 0) return true;
    const shift = BigInt(128 - len);
    return a6 >> shift === n6 >> shift;
  }
  return false;
}

/** Addresses of `targets` inside an on-link prefix of the plan (at most `limit`; `more` when some were left out). */
export function onLinkTargets(plan: LinkPlan, targets: TargetSet, limit = MAX_ONLINK_RESOLVE): { addresses: string[]; more: boolean } {
  // On-link: a route without a gateway (a gateway route's MAC is null only until resolved).
  const onLink = plan.routes.filter((r) => r.mac === null && !r.gateway).map((r) => r.prefix);
  if (onLink.length === 0) return { addresses: [], more: false };
  const addresses: string[] = [];
  let more = false;
  if (targets.size > BigInt(MAX_WALK)) {
    // A set too large to walk: walk the on-link prefixes instead (a /64 is too large for that too).
    for (const prefix of onLink) {
      const set = buildTargetSet(parseTargets(prefix, 'on-link prefix'));
      if (set.size > BigInt(limit)) {
        more = true;
        continue;
      }
      for (const a of walkAddresses(set)) {
        if (!targets.has(a)) continue;
        if (addresses.length === limit) return { addresses, more: true };
        addresses.push(a);
      }
    }
    return { addresses, more };
  }
  for (const a of walkAddresses(targets)) {
    if (!onLink.some((p) => inPrefix(a, p))) continue;
    if (addresses.length === limit) {
      more = true;
      break;
    }
    addresses.push(a);
  }
  return { addresses, more };
}

/** Every address of a target set, in the set's order (for sets small enough to walk). */
export function* walkAddresses(targets: TargetSet, max = MAX_WALK): Generator<string> {
  if (targets.size > BigInt(max)) return;
  const job = createScanJob({ targets, ports: parsePorts('1'), order: 'natural' });
  const batch = job.createBatch(1024);
  while (job.nextBatch(batch) > 0) for (let i = 0; i < batch.size; i++) yield batch.address(i);
}

export interface PreparedLink {
  plan: LinkPlan;
  /** On-link targets that answered ARP/NDP, with their latency (discovery uses them). */
  neighbors: NeighborAnswer[];
  /** On-link targets the resolution asked about. */
  asked: string[];
}

/**
 * Plans how the scan's packets leave (routes, gateway MACs) and resolves, by ARP/NDP, the
 * gateways and on-link targets the kernel does not know yet. Targets left without a next
 * hop are reported by the probe engine as unanswered (0 probes sent).
 */
export async function prepareLink(
  backend: ProbeBackend,
  targets: TargetSet,
  o: { interface?: string; resolveTimeoutMs: number; resolveRetries: number; resolveAll: boolean; warn: (message: string, code: string) => void },
): Promise<PreparedLink> {
  const planned = await backend.planLink({ targets: targets.toSpecs(), interface: o.interface });
  const known = new Set(planned.neighbors.map((n) => n.address));
  const { addresses: onLink, more } = planned.layer === 'ethernet' ? onLinkTargets(planned, targets) : { addresses: [], more: false };
  if (more) o.warn(`more than ${MAX_ONLINK_RESOLVE} on-link targets (or more than ${MAX_WALK} targets to look through): only the first ${MAX_ONLINK_RESOLVE} on-link ones are resolved by ARP/NDP, the others are probed only if the kernel already knows their neighbour entry (unanswered otherwise)`, 'ONLINK_TOO_MANY');
  // Discovery asks every on-link target (a neighbour entry is no proof the host is up now).
  const ask = [...new Set([...planned.unresolved, ...(o.resolveAll ? onLink : onLink.filter((a) => !known.has(a)))])];
  let answers: NeighborAnswer[] = [];
  if (ask.length > 0 && planned.layer === 'ethernet') {
    answers = await backend.resolveNeighbors(planned, ask, { timeoutMs: o.resolveTimeoutMs, retries: o.resolveRetries });
  }
  const plan = backend.applyNeighbors(planned, answers);
  const answered = new Set(answers.map((a) => a.address));
  for (const gw of planned.unresolved) {
    if (!answered.has(gw) && !known.has(gw) && !onLink.includes(gw)) o.warn(`next hop ${gw} did not answer ARP/NDP: targets routed through it get no probe and are reported without an answer`, 'NEXT_HOP_UNRESOLVED');
  }
  const onLinkSet = new Set(onLink);
  return { plan, neighbors: answers.filter((a) => onLinkSet.has(a.address)), asked: o.resolveAll ? onLink : onLink.filter((a) => !known.has(a)) };
}
