// Target specs: parsing (no DNS), target files, hostname resolution as its
// own async step, and the deduplicated, exclusion-applied TargetSet that a scan
// job numbers. Nothing is expanded into per-address memory: a /8 is one range.
import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { TargetSpecError } from './errors.js';
import { formatIPv4, formatIPv6, IPV6_MAX, parseIPv4, parseIPv6 } from './ip.js';
import {
  normalizeNumberRanges,
  normalizeRanges,
  rangesHas,
  rangesSize,
  subtractNumberRanges,
  subtractRanges,
  type NumberRange,
  type Range,
} from './interval-set.js';
import {
  blockHas,
  blockMax,
  blockMin,
  blockMinus,
  blockRuns,
  blocksIntersect,
  blockSize,
  blockToRanges,
  formatBlock,
  makeOctet,
  rangeToBlocks,
  type OctetBlock,
} from './octet-block.js';

/** One parsed target or exclusion. Hostnames stay names until resolveTargets. */
export type TargetToken =
  | { readonly kind: 'ipv4'; readonly lo: number; readonly hi: number; readonly text: string }
  | { readonly kind: 'ipv4-octets'; readonly block: OctetBlock; readonly text: string }
  | { readonly kind: 'ipv6'; readonly lo: bigint; readonly hi: bigint; readonly text: string }
  | { readonly kind: 'hostname'; readonly name: string; readonly prefix: number | undefined; readonly text: string };

const ACCEPTED =
  'use an address (192.0.2.1, 2001:db8::1), a CIDR (10.0.0.0/24, 2001:db8::/120), a range ' +
  '(10.0.0.1-50, 10.0.0-3.1-254, 10.0.0.1-10.0.1.9, 2001:db8::1-2001:db8::ff) or a hostname';

function bad(token: string, source: string, why: string): TargetSpecError {
  return new TargetSpecError('ERR_TARGET_SPEC', token, source, `${source}: "${token}" is not a valid target (${why}); ${ACCEPTED}`);
}

function parsePrefix(text: string, max: number, token: string, source: string): number {
  if (!/^(0|[1-9]\d{0,2})$/.test(text) || Number(text) > max) throw bad(token, source, `prefix length "/${text}" must be 0-${max}`);
  return Number(text);
}

function parseOctetValue(text: string, token: string, source: string): number {
  if (!/^(0|[1-9]\d{0,2})$/.test(text)) throw bad(token, source, `"${text}" is not an octet value 0-255`);
  const v = Number(text);
  if (v > 255) throw bad(token, source, `octet ${v} is above 255`);
  return v;
}

function parseOctet(part: string, token: string, source: string): [number, number][] {
  if (part === '*') return [[0, 255]];
  const out: [number, number][] = [];
  for (const item of part.split(',')) {
    if (item === '') throw bad(token, source, 'empty item in an octet list');
    const dash = item.indexOf('-');
    if (dash < 0) {
      const v = parseOctetValue(item, token, source);
      out.push([v, v]);
      continue;
    }
    const lo = dash === 0 ? 0 : parseOctetValue(item.slice(0, dash), token, source);
    const hi = dash === item.length - 1 ? 255 : parseOctetValue(item.slice(dash + 1), token, source);
    if (lo > hi) throw bad(token, source, `octet range ${item} runs backwards`);
    out.push([lo, hi]);
  }
  return out;
}

function parseIPv4Token(token: string, source: string): TargetToken {
  const single = parseIPv4(token); // the common case in target files
  if (single !== undefined) return { kind: 'ipv4', lo: single, hi: single, text: token };
  const slash = token.indexOf('/');
  if (slash >= 0) {
    const addr = parseIPv4(token.slice(0, slash));
    if (addr === undefined) throw bad(token, source, 'a CIDR needs a plain dotted-quad address before "/"');
    const bits = parsePrefix(token.slice(slash + 1), 32, token, source);
    const size = 2 ** (32 - bits);
    const lo = Math.floor(addr / size) * size;
    return { kind: 'ipv4', lo, hi: lo + size - 1, text: token };
  }
  const full = /^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/.exec(token);
  if (full) {
    const lo = parseIPv4(full[1]);
    const hi = parseIPv4(full[2]);
    if (lo === undefined || hi === undefined) throw bad(token, source, 'both ends of an address range must be valid IPv4 addresses');
    if (lo > hi) throw bad(token, source, 'the range runs backwards');
    return { kind: 'ipv4', lo, hi, text: token };
  }
  const parts = token.split('.');
  if (parts.length !== 4) {
    const hint = parts.length > 4 && token.includes(',') ? '; separate targets with spaces, not commas' : '';
    throw bad(token, source, `an IPv4 target has 4 octets, this has ${parts.length}${hint}`);
  }
  const octets = parts.map((p) => parseOctet(p, token, source));
  if (octets.every((o) => o.length === 1 && o[0][0] === o[0][1])) {
    const v = ((octets[0][0][0] * 256 + octets[1][0][0]) * 256 + octets[2][0][0]) * 256 + octets[3][0][0];
    return { kind: 'ipv4', lo: v, hi: v, text: token };
  }
  const block = octets.map((o) => makeOctet(o)) as unknown as OctetBlock;
  return { kind: 'ipv4-octets', block, text: token };
}

function parseIPv6Token(token: string, source: string): TargetToken {
  let body = token;
  if (body.includes('%')) throw bad(token, source, 'zone indexes (%eth0) are not supported in targets; scan the address without it');
  const slash = body.indexOf('/');
  let prefix: number | undefined;
  if (slash >= 0) {
    prefix = parsePrefix(body.slice(slash + 1), 128, token, source);
    body = body.slice(0, slash);
  }
  if (body.startsWith('[') && body.endsWith(']')) body = body.slice(1, -1);
  const dash = body.indexOf('-');
  if (dash >= 0) {
    if (prefix !== undefined) throw bad(token, source, 'a range cannot also have a prefix length');
    const lo = parseIPv6(body.slice(0, dash));
    const hi = parseIPv6(body.slice(dash + 1));
    if (lo === undefined || hi === undefined) throw bad(token, source, 'both ends of an IPv6 range must be full IPv6 addresses');
    if (lo > hi) throw bad(token, source, 'the range runs backwards');
    return { kind: 'ipv6', lo, hi, text: token };
  }
  const addr = parseIPv6(body);
  if (addr === undefined) throw bad(token, source, 'not an IPv6 address');
  if (prefix === undefined) return { kind: 'ipv6', lo: addr, hi: addr, text: token };
  const host = (1n << BigInt(128 - prefix)) - 1n;
  const lo = addr & (IPV6_MAX ^ host);
  return { kind: 'ipv6', lo, hi: lo | host, text: token };
}

const HOSTNAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** Parses one target token. `source` names where it came from in error messages. */
export function parseTarget(token: string, source = 'targets'): TargetToken {
  if (typeof token !== 'string' || token === '') throw bad(String(token), source, 'empty target');
  if (token.includes(':')) return parseIPv6Token(token, source);
  if (/^[\d.,*-]+(\/.*)?$/.test(token) && token.includes('.')) return parseIPv4Token(token, source);
  const slash = token.indexOf('/');
  const name = slash >= 0 ? token.slice(0, slash) : token;
  if (!HOSTNAME.test(name) || !/[a-z]/i.test(name)) throw bad(token, source, 'not an address, range or hostname');
  const prefix = slash >= 0 ? parsePrefix(token.slice(slash + 1), 128, token, source) : undefined;
  return { kind: 'hostname', name: name.toLowerCase(), prefix, text: token };
}

/** Parses whitespace-separated targets (one string or many). */
export function parseTargets(input: string | readonly string[], source = 'targets'): TargetToken[] {
  const texts = typeof input === 'string' ? [input] : input;
  const out: TargetToken[] = [];
  for (const text of texts) {
    for (const tok of text.split(/\s+/)) if (tok !== '') out.push(parseTarget(tok, source));
  }
  return out;
}

/** Parses a target file's text: whitespace-separated targets, `#` comments, blank lines. */
export function parseTargetFile(text: string, source: string): TargetToken[] {
  const out: TargetToken[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i].indexOf('#');
    const line = hash >= 0 ? lines[i].slice(0, hash) : lines[i];
    for (const tok of line.split(/\s+/)) {
      if (tok === '') continue;
      try {
        out.push(parseTarget(tok, source));
      } catch {
        // Only a bad token pays for the line-numbered source text.
        parseTarget(tok, `${source}:${i + 1}`);
      }
    }
  }
  return out;
}

/** Reads and parses a target file (see parseTargetFile). */
export async function readTargetFile(path: string): Promise<TargetToken[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new TargetSpecError('ERR_TARGET_FILE', path, path, `target file ${path} ${why}; give a readable file of targets, one or more per line`, { cause: err });
  }
  return parseTargetFile(text, path);
}

/** A contiguous IPv4 range or a per-octet block of the final set. */
export type IPv4Piece =
  | { readonly type: 'range'; readonly lo: number; readonly hi: number }
  | { readonly type: 'block'; readonly block: OctetBlock; readonly lo: number };

// Blocks with at most this many contiguous runs are stored as ranges: they are
// cheap that way and ranges merge and search faster than blocks.
const BLOCK_AS_RANGES_MAX_RUNS = 65536;

interface Cutter {
  readonly block: OctetBlock;
  readonly min: number;
  readonly max: number;
}

function cutter(block: OctetBlock): Cutter {
  return { block, min: blockMin(block), max: blockMax(block) };
}

// Ranges up to this size are carved address by address (exact, no block algebra).
const CARVE_BY_ADDRESS_MAX = 4096;

/**
 * Carves every block of `cutters` out of range [lo, hi]: undefined when
 * nothing is cut, else the pieces left (as address ranges or blocks).
 */
function carveRange(lo: number, hi: number, cutters: readonly Cutter[]): (OctetBlock | [number, number])[] | undefined {
  let hit: OctetBlock[] | undefined;
  for (const c of cutters) if (lo <= c.max && hi >= c.min) (hit ??= []).push(c.block);
  if (!hit) return undefined;
  if (hi - lo < CARVE_BY_ADDRESS_MAX) {
    const out: [number, number][] = [];
    let cut = false;
    for (let a = lo; a <= hi; a++) {
      if (hit.some((b) => blockHas(b, a))) {
        cut = true;
        continue;
      }
      const last = out[out.length - 1];
      if (last && last[1] === a - 1) last[1] = a;
      else out.push([a, a]);
    }
    return cut ? out : undefined;
  }
  let pieces = rangeToBlocks(lo, hi);
  if (!hit.some((c) => pieces.some((p) => blocksIntersect(p, c)))) return undefined;
  for (const c of hit) pieces = pieces.flatMap((p) => blockMinus(p, c));
  return pieces;
}

function isAddressRun(p: OctetBlock | [number, number]): p is [number, number] {
  return typeof p[0] === 'number';
}

function carveBlock(pieces: OctetBlock[], cutters: readonly OctetBlock[]): OctetBlock[] {
  for (const c of cutters) pieces = pieces.flatMap((p) => blockMinus(p, c));
  return pieces;
}

/**
 * The final target addresses: deduplicated, exclusions applied, counted
 * without expansion. IPv4 pieces come first in ascending order of their first
 * address, then IPv6 ranges; that is the natural order of a scan job's hosts.
 */
export class TargetSet {
  readonly ipv4: readonly IPv4Piece[];
  readonly ipv6: readonly Range[];
  readonly ipv4Count: number;
  readonly ipv6Count: bigint;
  private readonly v4Ranges: IPv4Piece[];
  private readonly v4Blocks: OctetBlock[];

  constructor(ipv4: readonly IPv4Piece[], ipv6: readonly Range[]) {
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    let n = 0;
    for (const p of ipv4) n += p.type === 'range' ? p.hi - p.lo + 1 : blockSize(p.block);
    this.ipv4Count = n;
    this.ipv6Count = rangesSize(ipv6);
    this.v4Ranges = ipv4.filter((p) => p.type === 'range');
    this.v4Blocks = ipv4.flatMap((p) => (p.type === 'block' ? [p.block] : []));
  }

  /** Number of addresses (a bigint: IPv6 sets can exceed 2^53). */
  get size(): bigint {
    return BigInt(this.ipv4Count) + this.ipv6Count;
  }

  has(address: string): boolean {
    const v4 = parseIPv4(address);
    if (v4 !== undefined) {
      // Ranges are disjoint and sorted: binary search; blocks are few.
      let lo = 0;
      let hi = this.v4Ranges.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const r = this.v4Ranges[mid] as { lo: number; hi: number };
        if (v4 < r.lo) hi = mid - 1;
        else if (v4 > r.hi) lo = mid + 1;
        else return true;
      }
      return this.v4Blocks.some((b) => blockHas(b, v4));
    }
    const v6 = parseIPv6(address);
    return v6 !== undefined && rangesHas(this.ipv6, v6);
  }

  /** Canonical specs in natural order; parsing them back gives the same set and order. */
  toSpecs(): string[] {
    const out: string[] = [];
    for (const p of this.ipv4) {
      if (p.type === 'block') out.push(formatBlock(p.block));
      else out.push(rangeText(BigInt(p.lo), BigInt(p.hi), 32, (v) => formatIPv4(Number(v))));
    }
    for (const [lo, hi] of this.ipv6) out.push(rangeText(lo, hi, 128, formatIPv6));
    return out;
  }

  /** Every address in natural order (allocates one string each: for small sets and tests). */
  *addresses(): Generator<string> {
    for (const p of this.ipv4) {
      const ranges = p.type === 'range' ? [[p.lo, p.hi] as [number, number]] : blockToRanges(p.block);
      for (const [lo, hi] of ranges) for (let v = lo; v <= hi; v++) yield formatIPv4(v);
    }
    for (const [lo, hi] of this.ipv6) for (let v = lo; v <= hi; v++) yield formatIPv6(v);
  }
}

function rangeText(lo: bigint, hi: bigint, bits: number, fmt: (v: bigint) => string): string {
  if (lo === hi) return fmt(lo);
  const size = hi - lo + 1n;
  if ((size & (size - 1n)) === 0n && lo % size === 0n) {
    let b = 0;
    while (1n << BigInt(b) < size) b++;
    return `${fmt(lo)}/${bits - b}`;
  }
  return `${fmt(lo)}-${fmt(hi)}`;
}

interface Split {
  v4: NumberRange[];
  blocks: OctetBlock[];
  v6: Range[];
}

function split(tokens: readonly TargetToken[], what: string, maxRuns: number): Split {
  const s: Split = { v4: [], blocks: [], v6: [] };
  for (const t of tokens) {
    if (t.kind === 'ipv4') s.v4.push([t.lo, t.hi]);
    else if (t.kind === 'ipv6') s.v6.push([t.lo, t.hi]);
    else if (t.kind === 'ipv4-octets') {
      if (blockRuns(t.block) <= maxRuns) for (const r of blockToRanges(t.block)) s.v4.push(r);
      else s.blocks.push(t.block);
    } else {
      throw new TargetSpecError('ERR_TARGET_UNRESOLVED', t.text, what, `${what}: hostname "${t.text}" must be resolved first; pass the tokens through resolveTargets()`);
    }
  }
  return s;
}

/**
 * Builds the final set from address tokens (resolve hostnames first with
 * resolveTargets). Overlaps count once; excluded addresses are removed.
 */
export function buildTargetSet(include: readonly TargetToken[], exclude: readonly TargetToken[] = []): TargetSet {
  return buildTargetSetWith(include, exclude, BLOCK_AS_RANGES_MAX_RUNS);
}

/** buildTargetSet with the block/range threshold as a parameter, so tests can drive the block algebra on small sets. */
export function buildTargetSetWith(include: readonly TargetToken[], exclude: readonly TargetToken[], maxRuns: number): TargetSet {
  const inc = split(include, 'targets', maxRuns);
  const exc = split(exclude, 'exclusions', maxRuns);
  const exV4 = normalizeNumberRanges(exc.v4);

  // Large per-octet blocks stay blocks: carve exclusions and earlier blocks out of them.
  const blocks: OctetBlock[] = [];
  for (const b of inc.blocks) {
    let pieces: OctetBlock[] = [b];
    const lo = blockMin(b);
    const hi = blockMax(b);
    for (const [elo, ehi] of exV4) {
      if (ehi < lo || elo > hi) continue;
      pieces = carveBlock(pieces, rangeToBlocks(elo, ehi));
    }
    pieces = carveBlock(pieces, exc.blocks);
    pieces = carveBlock(pieces, blocks);
    blocks.push(...pieces);
  }

  // Ranges lose excluded ranges, then give way to excluded and kept blocks (blocks stay whole).
  const ranges: NumberRange[] = [];
  const cutters = [...exc.blocks, ...blocks].map(cutter);
  for (const [blo, bhi] of subtractNumberRanges(normalizeNumberRanges(inc.v4), exV4)) {
    const pieces = cutters.length ? carveRange(blo, bhi, cutters) : undefined;
    if (!pieces) {
      ranges.push([blo, bhi]);
      continue;
    }
    for (const p of pieces) {
      if (isAddressRun(p)) {
        ranges.push(p);
        continue;
      }
      if (blockRuns(p) <= maxRuns) for (const r of blockToRanges(p)) ranges.push(r);
      else blocks.push(p);
    }
  }

  const pieces: IPv4Piece[] = [];
  for (const b of blocks) {
    if (blockSize(b) === 0) continue;
    if (blockRuns(b) <= maxRuns) for (const r of blockToRanges(b)) ranges.push(r);
    else pieces.push({ type: 'block', block: b, lo: blockMin(b) });
  }
  for (const [lo, hi] of normalizeNumberRanges(ranges)) pieces.push({ type: 'range', lo, hi });
  pieces.sort((a, b) => a.lo - b.lo);

  const v6 = subtractRanges(normalizeRanges(inc.v6), normalizeRanges(exc.v6));
  return new TargetSet(pieces, v6);
}

/** Resolves a hostname to addresses; the default uses the system resolver (dns.lookup). */
export type LookupFn = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface TargetWarning {
  readonly code: 'ERR_TARGET_UNRESOLVED' | 'ERR_TARGET_PREFIX';
  /** The target or exclusion as written. */
  readonly token: string;
  readonly message: string;
}

export interface TargetResolution {
  readonly targets: TargetSet;
  /** Hostnames that did not resolve (or prefixes that did not fit): the scan goes on without them. */
  readonly warnings: readonly TargetWarning[];
  /** What each hostname resolved to, for logs and reports. */
  readonly resolved: ReadonlyMap<string, readonly string[]>;
}

export interface ResolveOptions {
  readonly exclude?: readonly TargetToken[];
  readonly lookup?: LookupFn;
  /** Hostnames looked up at once (default 16). */
  readonly concurrency?: number;
}

const defaultLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The TargetResolution stage: resolves hostnames (in targets and exclusions)
 * and builds the TargetSet. A name that fails becomes a warning, not an error.
 */
export async function resolveTargets(include: readonly TargetToken[], options: ResolveOptions = {}): Promise<TargetResolution> {
  const lookup = options.lookup ?? defaultLookup;
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`resolveTargets: concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  const exclude = options.exclude ?? [];
  const names = [...new Set([...include, ...exclude].flatMap((t) => (t.kind === 'hostname' ? [t.name] : [])))];
  const results = new Map<string, readonly { address: string; family: number }[] | Error>();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      try {
        results.set(name, await lookup(name));
      } catch (err) {
        results.set(name, err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));

  const warnings: TargetWarning[] = [];
  const resolved = new Map<string, readonly string[]>();
  const expand = (tokens: readonly TargetToken[], what: string): TargetToken[] => {
    const out: TargetToken[] = [];
    for (const t of tokens) {
      if (t.kind !== 'hostname') {
        out.push(t);
        continue;
      }
      const r = results.get(t.name);
      if (r instanceof Error || !r || r.length === 0) {
        const why = r instanceof Error ? ((r as NodeJS.ErrnoException).code ?? r.message) : 'no addresses';
        warnings.push({ code: 'ERR_TARGET_UNRESOLVED', token: t.text, message: `${what}: "${t.text}" did not resolve (${why}); skipped` });
        continue;
      }
      resolved.set(t.name, r.map((a) => a.address));
      for (const a of r) {
        const max = a.family === 6 ? 128 : 32;
        if (t.prefix !== undefined && t.prefix > max) {
          warnings.push({ code: 'ERR_TARGET_PREFIX', token: t.text, message: `${what}: "${t.text}" resolved to ${a.address}, for which /${t.prefix} is too long; skipped that address` });
          continue;
        }
        out.push(parseTarget(t.prefix === undefined ? a.address : `${a.address}/${t.prefix}`, `${what} (${t.text})`));
      }
    }
    return out;
  };
  const inc = expand(include, 'targets');
  const exc = expand(exclude, 'exclusions');
  return { targets: buildTargetSet(inc, exc), warnings, resolved };
}
