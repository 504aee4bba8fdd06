import { FilterError, AddressError } from './errors.js';
import {
  EVENT_CATEGORIES,
  EVENT_CATEGORY,
  EVENT_TYPE_ID,
  EVENT_TYPES,
  isEventType,
  type EventCategory,
  type EventOf,
  type EventType,
  type ScanEvent,
} from './events.js';
import { cidrContains, parseCidr, type Cidr } from './ip.js';

/**
 * Filters are plain data (a CLI or a remote client can send them as JSON),
 * compiled once into a predicate plus the set of event types they can match;
 * the bus indexes subscribers by that set so publishing costs only what the
 * matching subscribers cost. `where` is the one local-only filter.
 */
export type EventFilter =
  | AllFilter
  | TypeFilter<EventType>
  | { readonly kind: 'category'; readonly categories: readonly EventCategory[] }
  | { readonly kind: 'scanId'; readonly scanId: string }
  | { readonly kind: 'timeRange'; readonly from: number | undefined; readonly to: number | undefined }
  | { readonly kind: 'target'; readonly cidr: string }
  | { readonly kind: 'port'; readonly ports: readonly PortRange[] }
  | { readonly kind: 'and'; readonly filters: readonly EventFilter[] }
  | { readonly kind: 'or'; readonly filters: readonly EventFilter[] }
  | { readonly kind: 'not'; readonly filter: EventFilter }
  | { readonly kind: 'where'; readonly predicate: (event: ScanEvent) => boolean };

export interface AllFilter {
  readonly kind: 'all';
}

/** Carries the matched types in its type parameter so `subscribe` can narrow the handler's argument. */
export interface TypeFilter<T extends EventType> {
  readonly kind: 'eventType';
  readonly types: readonly T[];
}

/** A port or an inclusive range [from, to]. */
export type PortRange = number | readonly [number, number];

/** The events a filter lets through, as a TypeScript type. */
export type FilteredEvent<F> = F extends TypeFilter<infer T> ? EventOf<T> : ScanEvent;

export const ALL_TYPES_MASK = (1 << EVENT_TYPES.length) - 1;

function maskOf(types: readonly EventType[]): number {
  let m = 0;
  for (const t of types) m |= 1 << EVENT_TYPE_ID[t];
  return m;
}

/** Types whose events carry an address (`ip` on HostDiscovered, `target` elsewhere). */
const ADDRESS_MASK = maskOf([
  'HostDiscovered', 'PortFound', 'IPv6PortFound', 'ServiceDetected', 'OSDetected',
  'BannerGrabbed', 'CertificateFound', 'WarningIssued', 'RetryScheduled',
]);
/** Types whose events carry a `port`. */
const PORT_MASK = maskOf([
  'PortFound', 'IPv6PortFound', 'ServiceDetected', 'BannerGrabbed', 'CertificateFound', 'WarningIssued', 'RetryScheduled',
]);

// ---- Constructors (validated here, once) ------------------------------------

const ALL: AllFilter = Object.freeze({ kind: 'all' });

export function all(): AllFilter {
  return ALL;
}

export function eventType<T extends EventType>(...types: T[]): TypeFilter<T> {
  if (types.length === 0) throw new FilterError('ERR_FILTER_INVALID', 'eventType() needs at least one event type, e.g. eventType("PortFound")');
  for (const t of types) {
    if (!isEventType(t)) {
      throw new FilterError('ERR_FILTER_INVALID', `eventType(): unknown event type ${JSON.stringify(t)}; expected one of ${EVENT_TYPES.join(', ')}`);
    }
  }
  return { kind: 'eventType', types: [...new Set(types)] };
}

export function category(...categories: EventCategory[]): EventFilter {
  if (categories.length === 0) throw new FilterError('ERR_FILTER_INVALID', 'category() needs at least one category');
  for (const c of categories) {
    if (!EVENT_CATEGORIES.includes(c)) {
      throw new FilterError('ERR_FILTER_INVALID', `category(): unknown category ${JSON.stringify(c)}; expected one of ${EVENT_CATEGORIES.join(', ')}`);
    }
  }
  return { kind: 'category', categories: [...new Set(categories)] };
}

export function scanId(id: string): EventFilter {
  if (typeof id !== 'string' || id === '') throw new FilterError('ERR_FILTER_INVALID', 'scanId() needs a non-empty scan id');
  return { kind: 'scanId', scanId: id };
}

function toMs(v: number | Date | string | undefined, which: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : v;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new FilterError('ERR_FILTER_INVALID', `timeRange(): ${which} ${JSON.stringify(v)} is not a time (epoch ms, a Date or an ISO 8601 string)`);
  }
  return ms;
}

/** Events with `from <= timestamp < to`; either bound may be omitted. */
export function timeRange(from?: number | Date | string, to?: number | Date | string): EventFilter {
  const f = toMs(from, 'from');
  const t = toMs(to, 'to');
  if (f !== undefined && t !== undefined && t < f) {
    throw new FilterError('ERR_FILTER_INVALID', `timeRange(): "to" (${String(to)}) is before "from" (${String(from)})`);
  }
  return { kind: 'timeRange', from: f, to: t };
}

/** Events about an address inside `ipOrCidr` (IPv4 or IPv6, an address or a CIDR). */
export function target(ipOrCidr: string): EventFilter {
  try {
    return { kind: 'target', cidr: parseCidr(ipOrCidr).text };
  } catch (e) {
    if (e instanceof AddressError) throw new FilterError('ERR_FILTER_INVALID', `target(): ${e.message}`);
    throw e;
  }
}

function checkPort(p: unknown): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535) {
    throw new FilterError('ERR_FILTER_INVALID', `port(): ${JSON.stringify(p)} is not a port; expected an integer 0–65535 or a range [from, to]`);
  }
  return p;
}

/** Events about one of the ports: `port(22, 80, [8000, 8100])`. */
export function port(...ports: PortRange[]): EventFilter {
  if (ports.length === 0) throw new FilterError('ERR_FILTER_INVALID', 'port() needs at least one port or range');
  const out: PortRange[] = [];
  for (const p of ports) {
    if (Array.isArray(p)) {
      if (p.length !== 2) throw new FilterError('ERR_FILTER_INVALID', `port(): range ${JSON.stringify(p)} must be [from, to]`);
      const a = checkPort(p[0]), b = checkPort(p[1]);
      if (b < a) throw new FilterError('ERR_FILTER_INVALID', `port(): range [${a}, ${b}] is reversed; write [${b}, ${a}]`);
      out.push([a, b]);
    } else out.push(checkPort(p));
  }
  return { kind: 'port', ports: out };
}

function checkFilters(name: string, filters: readonly EventFilter[]): void {
  if (filters.length === 0) throw new FilterError('ERR_FILTER_INVALID', `${name}() needs at least one filter`);
  for (const f of filters) {
    if (f === null || typeof f !== 'object' || typeof (f as { kind?: unknown }).kind !== 'string') {
      throw new FilterError('ERR_FILTER_INVALID', `${name}(): ${JSON.stringify(f)} is not a filter`);
    }
  }
}

export function and(...filters: EventFilter[]): EventFilter {
  checkFilters('and', filters);
  return { kind: 'and', filters };
}

export function or(...filters: EventFilter[]): EventFilter {
  checkFilters('or', filters);
  return { kind: 'or', filters };
}

export function not(filter: EventFilter): EventFilter {
  checkFilters('not', [filter]);
  return { kind: 'not', filter };
}

/** A local predicate. Cannot be serialized: a remote client cannot send code. */
export function where(predicate: (event: ScanEvent) => boolean): EventFilter {
  if (typeof predicate !== 'function') throw new FilterError('ERR_FILTER_INVALID', 'where() needs a function');
  return { kind: 'where', predicate };
}

// ---- Compilation -----------------------------------------------------------

export interface CompiledFilter {
  readonly filter: EventFilter;
  /** Bit i set: events of type id i can match. */
  readonly mayMask: number;
  /** Bit i set: every event of type id i matches (no predicate needed for it). */
  readonly mustMask: number;
  /** True when type alone decides: the bus can skip `test` for types in `mayMask`. */
  readonly exact: boolean;
  test(event: ScanEvent): boolean;
}

interface Node {
  may: number;
  must: number;
  test: (e: ScanEvent) => boolean;
}

function addressOf(e: ScanEvent): unknown {
  return e.type === 'HostDiscovered' ? e.ip : (e as { target?: unknown }).target;
}

function build(f: EventFilter): Node {
  if (f === null || typeof f !== 'object') throw new FilterError('ERR_FILTER_INVALID', `${JSON.stringify(f)} is not a filter`);
  switch (f.kind) {
    case 'all':
      return { may: ALL_TYPES_MASK, must: ALL_TYPES_MASK, test: () => true };
    case 'eventType': {
      const m = maskOf(eventType(...f.types).types);
      return { may: m, must: m, test: (e) => ((m >>> EVENT_TYPE_ID[e.type]) & 1) === 1 };
    }
    case 'category': {
      const cats = category(...f.categories);
      const m = maskOf(EVENT_TYPES.filter((t) => (cats as unknown as { categories: EventCategory[] }).categories.includes(EVENT_CATEGORY[t])));
      return { may: m, must: m, test: (e) => ((m >>> EVENT_TYPE_ID[e.type]) & 1) === 1 };
    }
    case 'scanId': {
      const id = f.scanId;
      return { may: ALL_TYPES_MASK, must: 0, test: (e) => e.scanId === id };
    }
    case 'timeRange': {
      const r = timeRange(f.from, f.to) as { from: number | undefined; to: number | undefined };
      const lo = r.from ?? -Infinity, hi = r.to ?? Infinity;
      return { may: ALL_TYPES_MASK, must: 0, test: (e) => e.timestamp >= lo && e.timestamp < hi };
    }
    case 'target': {
      let c: Cidr;
      try {
        c = parseCidr(f.cidr);
      } catch (e) {
        throw new FilterError('ERR_FILTER_INVALID', `target: ${(e as Error).message}`);
      }
      return {
        may: ADDRESS_MASK,
        must: 0,
        test: (e) => {
          const a = addressOf(e);
          return typeof a === 'string' && cidrContains(c, a);
        },
      };
    }
    case 'port': {
      const ranges = (port(...f.ports) as unknown as { ports: PortRange[] }).ports;
      const lo = new Int32Array(ranges.length), hi = new Int32Array(ranges.length);
      ranges.forEach((r, i) => {
        lo[i] = typeof r === 'number' ? r : r[0];
        hi[i] = typeof r === 'number' ? r : r[1];
      });
      return {
        may: PORT_MASK,
        must: 0,
        test: (e) => {
          const p = (e as { port?: unknown }).port;
          if (typeof p !== 'number') return false;
          for (let i = 0; i < lo.length; i++) if (p >= lo[i] && p <= hi[i]) return true;
          return false;
        },
      };
    }
    case 'and': {
      checkFilters('and', f.filters);
      const parts = f.filters.map(build);
      let may = ALL_TYPES_MASK, must = ALL_TYPES_MASK;
      for (const p of parts) { may &= p.may; must &= p.must; }
      const tests = parts.map((p) => p.test);
      return {
        may, must, test: (e) => {
          for (let i = 0; i < tests.length; i++) if (!tests[i](e)) return false;
          return true;
        },
      };
    }
    case 'or': {
      checkFilters('or', f.filters);
      const parts = f.filters.map(build);
      let may = 0, must = 0;
      for (const p of parts) { may |= p.may; must |= p.must; }
      const tests = parts.map((p) => p.test);
      return {
        may, must, test: (e) => {
          for (let i = 0; i < tests.length; i++) if (tests[i](e)) return true;
          return false;
        },
      };
    }
    case 'not': {
      const inner = build(f.filter);
      const t = inner.test;
      // A type can match `not f` unless f matches all of its events, and matches
      // it entirely when f can match none of them.
      return { may: ALL_TYPES_MASK & ~inner.must, must: ALL_TYPES_MASK & ~inner.may, test: (e) => !t(e) };
    }
    case 'where': {
      if (typeof f.predicate !== 'function') throw new FilterError('ERR_FILTER_INVALID', 'where: predicate must be a function');
      const p = f.predicate;
      return { may: ALL_TYPES_MASK, must: 0, test: (e) => p(e) === true };
    }
    default:
      throw new FilterError('ERR_FILTER_INVALID', `unknown filter kind ${JSON.stringify((f as { kind: unknown }).kind)}`);
  }
}

export function compileFilter(filter: EventFilter): CompiledFilter {
  const n = build(filter);
  const mayMask = n.may, mustMask = n.must;
  const exact = mayMask === mustMask;
  const inner = n.test;
  return {
    filter,
    mayMask,
    mustMask,
    exact,
    // Events of a type outside mayMask never match, whatever the predicate says.
    test: (e) => {
      const id = EVENT_TYPE_ID[e.type];
      if (id === undefined || ((mayMask >>> id) & 1) === 0) return false;
      return ((mustMask >>> id) & 1) === 1 || inner(e);
    },
  };
}

/** The event types a filter can match. */
export function filterTypes(filter: EventFilter): EventType[] {
  const m = compileFilter(filter).mayMask;
  return EVENT_TYPES.filter((_, i) => ((m >>> i) & 1) === 1);
}

// ---- Serialization ---------------------------------------------------------

/** The filter as plain JSON data; throws FilterError ERR_FILTER_NOT_SERIALIZABLE if it contains `where`. */
export function filterToJSON(filter: EventFilter): string {
  const check = (f: EventFilter): void => {
    if (f.kind === 'where') {
      throw new FilterError('ERR_FILTER_NOT_SERIALIZABLE', 'a filter containing where() runs local code and cannot be serialized; use eventType/target/port/... instead');
    }
    if (f.kind === 'and' || f.kind === 'or') f.filters.forEach(check);
    if (f.kind === 'not') check(f.filter);
  };
  compileFilter(filter); // validates
  check(filter);
  return JSON.stringify(filter);
}

/** A filter from JSON text or a parsed object, validated as thoroughly as the constructors validate. */
export function filterFromJSON(input: string | unknown): EventFilter {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new FilterError('ERR_FILTER_INVALID', `filter is not valid JSON: ${(e as Error).message}`);
    }
  }
  const rebuild = (x: unknown): EventFilter => {
    if (x === null || typeof x !== 'object') throw new FilterError('ERR_FILTER_INVALID', `${JSON.stringify(x)} is not a filter`);
    const f = x as Record<string, unknown>;
    const arr = (k: string): unknown[] => {
      if (!Array.isArray(f[k])) throw new FilterError('ERR_FILTER_INVALID', `filter ${String(f.kind)} needs an array "${k}"`);
      return f[k] as unknown[];
    };
    switch (f.kind) {
      case 'all': return all();
      case 'eventType': return eventType(...(arr('types') as EventType[]));
      case 'category': return category(...(arr('categories') as EventCategory[]));
      case 'scanId': return scanId(f.scanId as string);
      case 'timeRange': return timeRange((f.from ?? undefined) as number | undefined, (f.to ?? undefined) as number | undefined);
      case 'target': return target(f.cidr as string);
      case 'port': return port(...(arr('ports') as PortRange[]));
      case 'and': return and(...arr('filters').map(rebuild));
      case 'or': return or(...arr('filters').map(rebuild));
      case 'not': return not(rebuild(f.filter));
      case 'where': throw new FilterError('ERR_FILTER_NOT_SERIALIZABLE', 'where() filters cannot be sent as data');
      default: throw new FilterError('ERR_FILTER_INVALID', `unknown filter kind ${JSON.stringify(f.kind)}; expected all, eventType, category, scanId, timeRange, target, port, and, or, not`);
    }
  };
  return rebuild(o);
}
