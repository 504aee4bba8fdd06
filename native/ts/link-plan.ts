// planLink(): how a scan's packets leave this host, from the kernel's own tables over
// rtnetlink (src/io/netlink.cc, read on libuv's thread pool), and resolveNeighbors():
// ARP / NDP over AF_PACKET for next hops the kernel does not know yet (src/io/neighbors.cc).
// The C++ side only reads the kernel; choosing the interface, sources, routes and what is
// still unresolved happens here, in assemblePlan(), a pure function of that snapshot.
import { isIP } from 'node:net';
import { bytesToIp, ipToBytes } from './address.js';
import { getBinding } from './binding.js';
import { NativeError } from './errors.js';
import { toPrivilegeError } from './privilege.js';
import type { LinkPlan } from './probe-engine-types.js';

export type LinkErrorCode = 'ERR_LINK_PLAN' | 'ERR_LINK_OPTION' | 'ERR_LINK_SYSTEM';

/**
 * A link plan that cannot be made (`ERR_LINK_PLAN`: targets on two interfaces, no route,
 * an unknown interface), a bad option (`ERR_LINK_OPTION`, `field` names it), or a failed
 * system call (`ERR_LINK_SYSTEM`, `errno` names it).
 */
export class LinkPlanError extends NativeError {
  declare readonly code: LinkErrorCode;
  readonly field: string | undefined;
  /** ERR_LINK_PLAN for two interfaces: their names. */
  readonly interfaces: string[] | undefined;
  readonly errno: string | undefined;
  constructor(code: LinkErrorCode, message: string, extra: { field?: string; interfaces?: string[]; errno?: string; cause?: unknown } = {}) {
    super(code, message, { cause: extra.cause });
    this.field = extra.field;
    this.interfaces = extra.interfaces;
    this.errno = extra.errno;
  }
}

export interface PlanLinkOptions {
  /** Addresses, CIDRs or `a-b` ranges, IPv4 and IPv6 (what the scan will probe). */
  targets: string[];
  /** Send through this interface (the kernel's lookups are made through it). */
  interface?: string;
  /** Source addresses to use instead of the kernel's preferred ones. */
  sourceV4?: string;
  sourceV6?: string;
}

/** One route of a plan; `gateway` with `mac: null`: the gateway's MAC is not known yet. */
export type LinkRoute = LinkPlan['routes'][number];

/** planLink()'s answer: a LinkPlan plus what is still missing. */
export type PlannedLink = LinkPlan & {
  /**
   * Next hops with no neighbour entry (ethernet only): gateways the targets use (of the
   * kernel's lookups, and of routes that are the longest match for part of a target),
   * and on-link targets given as single addresses. Resolve them
   * with resolveNeighbors() and fold the answers in with applyNeighbors().
   */
  unresolved: string[];
  /** Targets the kernel has no route for (ENETUNREACH, ...): the engine reports them as NoAnswer. */
  unroutable: string[];
};

// ---- the snapshot src/io/link_binding.cc returns -------------------------------------------

export interface SnapshotLookup { address: string; error: string | null; oif: number; type: number; table: number; gateway: string | null; prefsrc: string | null }
export interface SnapshotLink { ifindex: number; name: string; type: number; flags: number; mtu: number; mac: string | null }
export interface SnapshotAddress { ifindex: number; address: string; prefixLen: number; scope: number; flags: number }
export interface SnapshotRoute { family: number; dst: string; dstLen: number; gateway: string | null; oif: number; table: number; priority: number; type: number }
export interface SnapshotNeighbor { ifindex: number; address: string; state: number; mac: string | null }
export interface LinkSnapshot {
  missingInterface: boolean;
  lookups: SnapshotLookup[];
  links: SnapshotLink[];
  addresses: SnapshotAddress[];
  routes: SnapshotRoute[];
  neighbors: SnapshotNeighbor[];
}

// Kernel constants (linux/if_arp.h, rtnetlink.h, neighbour.h, if_addr.h).
const ARPHRD_ETHER = 1;
const RTN_UNICAST = 1;
const RTN_LOCAL = 2;
const RT_TABLE_MAIN = 254;
const RT_TABLE_LOCAL = 255;
const RT_SCOPE_UNIVERSE = 0;
/** NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT: a MAC we may send to. */
const NUD_USABLE = 0x02 | 0x04 | 0x08 | 0x10 | 0x80;
const IFA_F_SECONDARY = 0x01;
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_TENTATIVE = 0x40;

// ---- targets ---------------------------------------------------------------------------------

/** One target with the addresses whose kernel lookups stand for it (first and last host). */
export interface ParsedTarget {
  text: string;
  family: 4 | 6;
  /** A single address (not a CIDR or range). */
  single: boolean;
  representatives: string[];
  /** First and last address as integers. */
  first: bigint;
  last: bigint;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBig(v: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytesToIp(out, 0, family);
}

/** Canonical text of an IP address (RFC 5952 for IPv6). */
export function canonicalIp(text: string): string {
  const fam = isIP(text) as 0 | 4 | 6;
  return bytesToIp(ipToBytes('address', text), 0, fam === 4 ? 4 : 6);
}

const targetHelp = 'give addresses ("10.0.0.1", "2001:db8::1"), CIDRs ("10.0.0.0/24") or ranges ("10.0.0.1-10.0.0.9")';

export function parseTarget(text: string, field = 'targets'): ParsedTarget {
  if (typeof text !== 'string' || text.length === 0) throw new LinkPlanError('ERR_LINK_OPTION', `${field}: ${JSON.stringify(text)} is not a target; ${targetHelp}`, { field });
  const fam = isIP(text);
  if (fam === 4 || fam === 6) {
    if (text.includes('%')) throw new LinkPlanError('ERR_LINK_OPTION', `${field}: "${text}" has a zone index; give the address without %zone and pass \`interface\``, { field });
    const a = canonicalIp(text);
    const v = toBig(ipToBytes(field, text));
    return { text, family: fam, single: true, representatives: [a], first: v, last: v };
  }
  const slash = text.indexOf('/');
  if (slash > 0) {
    const base = text.slice(0, slash);
    const bf = isIP(base);
    const bits = bf === 4 ? 32 : 128;
    const len = Number(text.slice(slash + 1));
    if ((bf !== 4 && bf !== 6) || !/^\d{1,3}$/.test(text.slice(slash + 1)) || len > bits) {
      throw new LinkPlanError('ERR_LINK_OPTION', `${field}: "${text}" is not a CIDR (prefix length 0-32 for IPv4, 0-128 for IPv6); ${targetHelp}`, { field });
    }
    const family = bf as 4 | 6;
    const hostBits = BigInt(bits - len);
    const first = (toBig(ipToBytes(field, base)) >> hostBits) << hostBits;
    const last = first + (1n << hostBits) - 1n;
    // Network and broadcast addresses are not hosts: look up the first and last host.
    const lo = last - first >= 3n ? first + 1n : first;
    const hi = last - first >= 3n ? last - 1n : last;
    const reps = lo === hi ? [fromBig(lo, family)] : [fromBig(lo, family), fromBig(hi, family)];
    return { text, family, single: len === bits, representatives: reps, first, last };
  }
  const dash = text.indexOf('-');
  if (dash > 0) {
    const a = text.slice(0, dash);
    const b = text.slice(dash + 1);
    const fa = isIP(a);
    if ((fa === 4 || fa === 6) && isIP(b) === fa) {
      const family = fa as 4 | 6;
      const lo = toBig(ipToBytes(field, a));
      const hi = toBig(ipToBytes(field, b));
      if (hi < lo) throw new LinkPlanError('ERR_LINK_OPTION', `${field}: "${text}" ends before it starts; write the lower address first`, { field });
      const reps = lo === hi ? [fromBig(lo, family)] : [fromBig(lo, family), fromBig(hi, family)];
      return { text, family, single: lo === hi, representatives: reps, first: lo, last: hi };
    }
  }
  throw new LinkPlanError('ERR_LINK_OPTION', `${field}: "${text}" is not an address, CIDR or range; ${targetHelp}`, { field });
}

// ---- the plan --------------------------------------------------------------------------------

function checkSource(field: 'sourceV4' | 'sourceV6', value: string | undefined, family: 4 | 6): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || isIP(value) !== family) {
    throw new LinkPlanError('ERR_LINK_OPTION', `${field}: ${JSON.stringify(value)} is not an IPv${family} address`, { field });
  }
  return canonicalIp(value);
}

function validMac(mac: string | null): mac is string {
  return mac !== null && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== '00:00:00:00:00:00';
}

function interfaceName(snap: LinkSnapshot, ifindex: number): string {
  return snap.links.find((l) => l.ifindex === ifindex)?.name ?? `ifindex ${ifindex}`;
}

/**
 * Builds the plan from a kernel snapshot (exported for tests; planLink() is the entry point).
 * Rules: every routable target must leave by one interface; sources are the option, then
 * the kernel's preferred source (prefsrc) of a lookup, then an address of the interface
 * (IPv4: primary, widest scope first; IPv6: global scope, not tentative, not DAD-failed,
 * not deprecated if possible). Routes are the interface's unicast routes of the main
 * table and of the tables the lookups used, longest prefix first.
 */
export function assemblePlan(options: PlanLinkOptions, targets: ParsedTarget[], snap: LinkSnapshot): PlannedLink {
  if (snap.missingInterface) {
    const names = snap.links.map((l) => l.name).join(', ');
    throw new LinkPlanError('ERR_LINK_PLAN', `interface: "${options.interface}" does not exist in this network namespace (interfaces: ${names}); pass one of those or leave interface out`, { field: 'interface' });
  }
  const byAddress = new Map<string, SnapshotLookup>();
  for (const l of snap.lookups) byAddress.set(canonicalIp(l.address), l);

  const unroutable: string[] = [];
  const oifTargets = new Map<number, string>();
  const errors: string[] = [];
  for (const t of targets) {
    let routed = false;
    for (const rep of t.representatives) {
      const l = byAddress.get(rep);
      if (!l) continue;
      if (l.error !== null || l.oif === 0) {
        errors.push(`${rep}: ${l.error ?? 'no interface'}`);
        continue;
      }
      routed = true;
      if (!oifTargets.has(l.oif)) oifTargets.set(l.oif, t.text);
    }
    if (!routed) unroutable.push(t.text);
  }
  if (oifTargets.size === 0) {
    throw new LinkPlanError('ERR_LINK_PLAN', `no route to any target (${errors.slice(0, 4).join(', ') || 'no targets'}); add a route, or pass interface for on-link targets`);
  }
  if (oifTargets.size > 1) {
    const [[ia, ta], [ib, tb]] = [...oifTargets];
    const na = interfaceName(snap, ia);
    const nb = interfaceName(snap, ib);
    throw new LinkPlanError(
      'ERR_LINK_PLAN',
      `targets leave by two interfaces: ${ta} by ${na}, ${tb} by ${nb}; scan them separately (one scan per interface) or pass interface: '${na}' to send everything through one`,
      { interfaces: [na, nb] },
    );
  }
  const ifindex = [...oifTargets.keys()][0];
  const link = snap.links.find((l) => l.ifindex === ifindex);
  if (!link) throw new LinkPlanError('ERR_LINK_SYSTEM', `the kernel routes the targets through ifindex ${ifindex}, which it did not list; retry (the interface may have just gone away)`);
  const layer: LinkPlan['layer'] = link.type === ARPHRD_ETHER && validMac(link.mac) ? 'ethernet' : 'ip';

  const lookups = snap.lookups.filter((l) => l.error === null && l.oif === ifindex);
  const ours = snap.addresses.filter((a) => a.ifindex === ifindex);
  const pickSource = (family: 4 | 6): string | null => {
    for (const l of lookups) if (l.prefsrc !== null && isIP(l.prefsrc) === family) return canonicalIp(l.prefsrc);
    const cands = ours.filter((a) => isIP(a.address) === family && !(a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)));
    if (family === 4) {
      const primary = cands.filter((a) => !(a.flags & IFA_F_SECONDARY)).sort((x, y) => x.scope - y.scope);
      return primary.length ? canonicalIp(primary[0].address) : null;
    }
    const global = cands.filter((a) => a.scope === RT_SCOPE_UNIVERSE).sort((x, y) => (x.flags & IFA_F_DEPRECATED) - (y.flags & IFA_F_DEPRECATED));
    return global.length ? canonicalIp(global[0].address) : null;
  };
  const srcV4 = checkSource('sourceV4', options.sourceV4, 4) ?? pickSource(4);
  const srcV6 = checkSource('sourceV6', options.sourceV6, 6) ?? pickSource(6);

  const neighbors: Array<{ address: string; mac: string }> = [];
  const macOf = new Map<string, string>();
  if (layer === 'ethernet') {
    for (const n of snap.neighbors) {
      if (n.ifindex !== ifindex || !(n.state & NUD_USABLE) || !validMac(n.mac)) continue;
      const a = canonicalIp(n.address);
      if (macOf.has(a)) continue;
      macOf.set(a, n.mac);
      neighbors.push({ address: a, mac: n.mac });
    }
  }

  const tables = new Set<number>([RT_TABLE_MAIN, ...lookups.map((l) => l.table)]);
  const unresolved = new Set<string>();
  const seen = new Map<string, { route: LinkRoute; priority: number; len: number; family: number }>();
  for (const r of snap.routes) {
    if (r.oif !== ifindex || !tables.has(r.table)) continue;
    // Local routes (our own addresses) matter only to a raw IP sender on lo; on Ethernet the kernel never sends them out.
    if (!(r.type === RTN_UNICAST || (r.type === RTN_LOCAL && layer === 'ip')) || (r.type === RTN_UNICAST && r.table === RT_TABLE_LOCAL)) continue;
    const prefix = `${canonicalIp(r.dst)}/${r.dstLen}`;
    const prev = seen.get(prefix);
    if (prev && prev.priority <= r.priority) continue;  // the kernel uses the lowest metric
    const route: LinkRoute = { prefix, mac: null };
    if (r.gateway !== null && layer === 'ethernet') {
      const gw = canonicalIp(r.gateway);
      route.gateway = gw;
      route.mac = macOf.get(gw) ?? null;
    }
    seen.set(prefix, { route, priority: r.priority, len: r.dstLen, family: r.family });
  }
  const sorted = [...seen.values()].sort((a, b) => b.len - a.len || a.family - b.family || a.priority - b.priority);
  const routes = sorted.map((s) => s.route);
  if (layer === 'ethernet') {
    // A gateway is needed when its route is some target's longest match: the route overlaps
    // the target, and no longer prefix holds all of the overlap (conservative: a part
    // covered by several longer routes still counts).
    const span = (r: (typeof sorted)[number]): [bigint, bigint] => {
      const bits = BigInt(r.family === 4 ? 32 : 128);
      const host = bits - BigInt(r.len);
      const first = (toBig(ipToBytes('route', r.route.prefix.split('/')[0])) >> host) << host;
      return [first, first + (1n << host) - 1n];
    };
    const spans = sorted.map(span);
    sorted.forEach((r, i) => {
      if (r.route.gateway === undefined || r.route.mac !== null) return;
      const [a, b] = spans[i];
      const used = targets.some((t) => {
        if (t.family !== r.family || t.last < a || t.first > b) return false;
        const lo = t.first > a ? t.first : a;
        const hi = t.last < b ? t.last : b;
        return !sorted.some((o, j) => o.family === r.family && o.len > r.len && spans[j][0] <= lo && hi <= spans[j][1]);
      });
      if (used) unresolved.add(r.route.gateway);
    });
    for (const l of lookups) {
      if (l.gateway !== null) {
        const gw = canonicalIp(l.gateway);
        if (!macOf.has(gw)) unresolved.add(gw);
      }
    }
    for (const t of targets) {
      if (!t.single) continue;
      const l = byAddress.get(t.representatives[0]);
      if (l && l.error === null && l.oif === ifindex && l.gateway === null && l.type === RTN_UNICAST && !macOf.has(t.representatives[0])) {
        unresolved.add(t.representatives[0]);
      }
    }
  }
  return {
    interface: link.name,
    ifindex,
    layer,
    srcMac: layer === 'ethernet' ? link.mac : null,
    srcV4,
    srcV6,
    routes,
    neighbors,
    mtu: link.mtu,
    unresolved: [...unresolved],
    unroutable,
  };
}

function rethrowLink(err: unknown): never {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null;
  if (e?.code === 'EPERM') throw toPrivilegeError(err);
  if (e?.code === 'ERR_LINK_OPTION' || e?.code === 'ERR_LINK_SYSTEM') {
    throw new LinkPlanError(e.code, String(e.message), { errno: typeof e.errno === 'string' ? e.errno : undefined, cause: err });
  }
  throw err;
}

/**
 * How a scan of `targets` leaves this host: interface, layer, sources, routes with gateway
 * MACs, known neighbours, MTU, plus `unresolved` next hops and `unroutable` targets. Reads
 * the kernel over rtnetlink off the main thread; no packet is sent. Throws LinkPlanError.
 */
export async function planLink(options: PlanLinkOptions): Promise<PlannedLink> {
  if (options === null || typeof options !== 'object') throw new LinkPlanError('ERR_LINK_OPTION', 'planLink expects { targets, interface?, sourceV4?, sourceV6? }', { field: 'options' });
  if (!Array.isArray(options.targets) || options.targets.length === 0) {
    throw new LinkPlanError('ERR_LINK_OPTION', `targets: expected a non-empty array; ${targetHelp}`, { field: 'targets' });
  }
  if (options.interface !== undefined && (typeof options.interface !== 'string' || !/^[^\s/:]{1,15}$/.test(options.interface))) {
    throw new LinkPlanError('ERR_LINK_OPTION', `interface: ${JSON.stringify(options.interface)} is not an interface name (1-15 characters, no spaces, '/' or ':')`, { field: 'interface' });
  }
  checkSource('sourceV4', options.sourceV4, 4);
  checkSource('sourceV6', options.sourceV6, 6);
  const targets = options.targets.map((t, i) => parseTarget(t, `targets[${i}]`));
  const addresses = [...new Set(targets.flatMap((t) => t.representatives))];
  const snapshot = getBinding().linkSnapshot as (o: { addresses: string[]; interface?: string }) => Promise<LinkSnapshot>;
  let snap: LinkSnapshot;
  try {
    snap = await snapshot({ addresses, interface: options.interface });
  } catch (err) {
    rethrowLink(err);
  }
  return assemblePlan(options, targets, snap);
}

// ---- neighbours ------------------------------------------------------------------------------

export interface ResolveNeighborsOptions {
  /** Wait after the last request of each round, ms. Default 1,000. */
  timeoutMs?: number;
  /** Rounds after the first for addresses that stayed silent. Default 2. */
  retries?: number;
  /** Requests per second at most. Default 10,000. */
  rate?: number;
}

export interface ResolvedNeighbor {
  address: string;
  mac: string;
  /** From the last request sent before the reply to the reply. */
  latencyMs: number;
}

function checkInt(field: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new LinkPlanError('ERR_LINK_OPTION', `${field}: ${String(v)} must be an integer from ${min} to ${max}`, { field });
  }
  return v;
}

/**
 * Sends our own ARP requests (IPv4) and NDP neighbour solicitations (IPv6) out of the
 * plan's interface and reads the replies on an AF_PACKET socket, off the main thread,
 * paced at `rate`, each silent address retried `retries` times. Resolves with the
 * addresses that answered (in answer order); the others did not answer within
 * (retries + 1) rounds. Needs root or CAP_NET_RAW (PrivilegeError) and an ethernet plan.
 */
export async function resolveNeighbors(plan: LinkPlan, addresses: string[], options: ResolveNeighborsOptions = {}): Promise<ResolvedNeighbor[]> {
  if (!plan || typeof plan !== 'object' || typeof plan.ifindex !== 'number') {
    throw new LinkPlanError('ERR_LINK_OPTION', 'plan: expected a LinkPlan from planLink()', { field: 'plan' });
  }
  if (plan.layer !== 'ethernet' || plan.srcMac === null) {
    throw new LinkPlanError('ERR_LINK_OPTION', `plan: interface ${plan.interface} has no Ethernet layer (layer '${plan.layer}'): it has no neighbours to resolve; the kernel routes raw IP there`, { field: 'plan' });
  }
  if (!Array.isArray(addresses)) throw new LinkPlanError('ERR_LINK_OPTION', 'addresses: expected an array of IP addresses', { field: 'addresses' });
  const timeoutMs = checkInt('timeoutMs', options.timeoutMs, 1000, 1, 600_000);
  const retries = checkInt('retries', options.retries, 2, 0, 100);
  const rate = checkInt('rate', options.rate, 10_000, 1, 1_000_000);
  const list: string[] = [];
  const seen = new Set<string>();
  addresses.forEach((a, i) => {
    const fam = typeof a === 'string' ? isIP(a) : 0;
    if ((fam !== 4 && fam !== 6) || a.includes('%')) {
      throw new LinkPlanError('ERR_LINK_OPTION', `addresses[${i}]: ${JSON.stringify(a)} is not an IP address (no CIDRs, no %zone)`, { field: `addresses[${i}]` });
    }
    if (fam === 4 && plan.srcV4 === null) throw new LinkPlanError('ERR_LINK_OPTION', `addresses[${i}]: ${a} is IPv4 but the plan has no IPv4 source on ${plan.interface}; pass sourceV4 to planLink()`, { field: `addresses[${i}]` });
    if (fam === 6 && plan.srcV6 === null) throw new LinkPlanError('ERR_LINK_OPTION', `addresses[${i}]: ${a} is IPv6 but the plan has no IPv6 source on ${plan.interface}; pass sourceV6 to planLink()`, { field: `addresses[${i}]` });
    const c = canonicalIp(a);
    if (!seen.has(c)) {
      seen.add(c);
      list.push(c);
    }
  });
  if (list.length === 0) return [];
  const resolve = getBinding().resolveNeighbors as (o: object) => Promise<Array<[number, string, number]>>;
  let raw: Array<[number, string, number]>;
  try {
    raw = await resolve({ ifindex: plan.ifindex, srcMac: plan.srcMac, srcV4: plan.srcV4, srcV6: plan.srcV6, addresses: list, timeoutMs, retries, rate });
  } catch (err) {
    rethrowLink(err);
  }
  return raw.map(([i, mac, latencyMs]) => ({ address: list[i], mac, latencyMs }));
}

/**
 * The plan with resolved neighbours folded in: added to `neighbors` (replacing an older
 * MAC for the same address), gateway routes given their MAC, and removed from `unresolved`.
 */
export function applyNeighbors<P extends LinkPlan>(plan: P, resolved: ReadonlyArray<{ address: string; mac: string }>): P {
  const mac = new Map<string, string>();
  for (const n of plan.neighbors) mac.set(canonicalIp(n.address), n.mac);
  for (const n of resolved) mac.set(canonicalIp(n.address), n.mac);
  const routes = plan.routes.map((r) =>
    r.gateway !== undefined && r.mac === null && mac.has(r.gateway) ? { ...r, mac: mac.get(r.gateway) ?? null } : r,
  );
  const out = { ...plan, routes, neighbors: [...mac].map(([address, m]) => ({ address, mac: m })) } as P & { unresolved?: string[] };
  if (Array.isArray(out.unresolved)) out.unresolved = out.unresolved.filter((a) => !mac.has(canonicalIp(a)));
  return out;
}
