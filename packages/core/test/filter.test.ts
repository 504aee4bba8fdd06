import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_CATEGORY,
  EVENT_TYPES,
  EventBus,
  FilterError,
  all,
  and,
  category,
  compileFilter,
  eventType,
  filterFromJSON,
  filterToJSON,
  filterTypes,
  not,
  or,
  port,
  scanId,
  target,
  timeRange,
  where,
  type EventCategory,
  type EventFilter,
  type EventType,
  type ScanEvent,
} from '../src/index.js';
import { sampleEvents } from './samples.js';

// ---- A naive reference: obviously correct, slow ------------------------------

function ipToBigInt(ip: string): { fam: 4 | 6; v: bigint } | null {
  if (!ip.includes(':')) {
    const p = ip.split('.').map(Number);
    return { fam: 4, v: BigInt(((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]) };
  }
  const [h, t] = ip.split('::');
  const hs = h ? h.split(':') : [];
  const ts = t !== undefined ? (t ? t.split(':') : []) : [];
  const groups = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  return { fam: 6, v: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function naive(f: EventFilter, e: ScanEvent): boolean {
  switch (f.kind) {
    case 'all': return true;
    case 'eventType': return f.types.includes(e.type);
    case 'category': return f.categories.includes(EVENT_CATEGORY[e.type]);
    case 'scanId': return e.scanId === f.scanId;
    case 'timeRange': return (f.from === undefined || e.timestamp >= f.from) && (f.to === undefined || e.timestamp < f.to);
    case 'target': {
      const addr = e.type === 'HostDiscovered' ? e.ip : (e as { target?: string }).target;
      if (typeof addr !== 'string') return false;
      const [net, len] = f.cidr.split('/');
      const a = ipToBigInt(addr), n = ipToBigInt(net);
      if (!a || !n || a.fam !== n.fam) return false;
      const bits = BigInt(a.fam === 4 ? 32 : 128), shift = bits - BigInt(len);
      return a.v >> shift === n.v >> shift;
    }
    case 'port': {
      const p = (e as { port?: number }).port;
      if (typeof p !== 'number') return false;
      return f.ports.some((r) => (typeof r === 'number' ? p === r : p >= r[0] && p <= r[1]));
    }
    case 'and': return f.filters.every((x) => naive(x, e));
    case 'or': return f.filters.some((x) => naive(x, e));
    case 'not': return !naive(f.filter, e);
    case 'where': return f.predicate(e);
  }
}

// ---- Generators --------------------------------------------------------------

const SCANS = ['scan-a', 'scan-b'];
const ADDRS = ['10.0.0.1', '10.0.0.200', '10.0.1.5', '192.168.1.1', '2001:db8::1', '2001:db8:1::7', 'fe80::1'];
const CIDRS = ['10.0.0.0/24', '10.0.0.0/8', '10.0.0.1', '0.0.0.0/0', '2001:db8::/32', '2001:db8::/48', '::/0', '192.168.1.0/31'];
const CATS: EventCategory[] = ['lifecycle', 'discovery', 'detection', 'progress', 'diagnostic'];

const arbEvent: fc.Arbitrary<ScanEvent> = fc
  .tuple(fc.integer({ min: 0, max: sampleEvents().length - 1 }), fc.constantFrom(...SCANS), fc.integer({ min: 0, max: 100 }), fc.constantFrom(...ADDRS), fc.integer({ min: 0, max: 65535 }))
  .map(([i, scan, t, addr, p]) => {
    const e = { ...sampleEvents(scan, t)[i] } as Record<string, unknown>;
    if ('target' in e && e.target !== undefined) e.target = addr;
    if ('ip' in e) e.ip = addr;
    if ('port' in e && e.port !== undefined) e.port = p % 1000;
    return e as unknown as ScanEvent;
  });

const arbLeaf: fc.Arbitrary<EventFilter> = fc.oneof(
  fc.constant(all()),
  fc.subarray([...EVENT_TYPES], { minLength: 1, maxLength: 4 }).map((ts) => eventType(...(ts as EventType[]))),
  fc.subarray(CATS, { minLength: 1, maxLength: 2 }).map((cs) => category(...cs)),
  fc.constantFrom(...SCANS).map((s) => scanId(s)),
  fc.tuple(fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }))
    .map(([a, b]) => (a !== undefined && b !== undefined && b < a ? timeRange(b, a) : timeRange(a, b))),
  fc.constantFrom(...CIDRS).map((c) => target(c)),
  fc.array(fc.oneof(fc.integer({ min: 0, max: 999 }), fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number])), { minLength: 1, maxLength: 3 })
    .map((ps) => port(...ps)),
);

const arbFilter: fc.Arbitrary<EventFilter> = fc.letrec<{ f: EventFilter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbLeaf,
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => and(...fs)),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => or(...fs)),
    tie('f').map((f) => not(f)),
  ),
})).f;

describe('filters', () => {
  it('compiled filters agree with the naive reference (property)', () => {
    fc.assert(
      fc.property(arbFilter, fc.array(arbEvent, { minLength: 1, maxLength: 20 }), (f, events) => {
        const c = compileFilter(f);
        for (const e of events) expect(c.test(e)).toBe(naive(f, e));
      }),
      { numRuns: 2000 },
    );
  });

  it("each filter's type sets are sound: no match outside mayMask, every event matches inside mustMask (property)", () => {
    fc.assert(
      fc.property(arbFilter, fc.array(arbEvent, { minLength: 1, maxLength: 20 }), (f, events) => {
        const c = compileFilter(f);
        for (const e of events) {
          const bit = 1 << EVENT_TYPES.indexOf(e.type);
          if ((c.mayMask & bit) === 0) expect(naive(f, e)).toBe(false);
          if ((c.mustMask & bit) !== 0) expect(naive(f, e)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the bus delivers exactly what the filter matches (property)', () => {
    fc.assert(
      fc.property(fc.array(arbFilter, { minLength: 1, maxLength: 4 }), fc.array(arbEvent, { minLength: 1, maxLength: 30 }), (filters, events) => {
        const bus = new EventBus();
        const got = filters.map(() => [] as ScanEvent[]);
        filters.forEach((f, i) => bus.subscribe(f, (e) => got[i].push(e)));
        const copies = events.map((e) => ({ ...e }));
        for (const e of copies) bus.publish(e);
        filters.forEach((f, i) => expect(got[i]).toEqual(copies.filter((e) => naive(f, e))));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips through JSON as plain data (property)', () => {
    fc.assert(
      fc.property(arbFilter, fc.array(arbEvent, { minLength: 1, maxLength: 10 }), (f, events) => {
        const back = filterFromJSON(filterToJSON(f));
        expect(back).toEqual(JSON.parse(JSON.stringify(f)));
        const a = compileFilter(f), b = compileFilter(back);
        for (const e of events) expect(b.test(e)).toBe(a.test(e));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses to serialize where(), with a typed error', () => {
    const f = and(eventType('PortFound'), where(() => true));
    expect(() => filterToJSON(f)).toThrow(FilterError);
    try {
      filterToJSON(f);
    } catch (e) {
      expect((e as FilterError).code).toBe('ERR_FILTER_NOT_SERIALIZABLE');
    }
    expect(() => filterFromJSON('{"kind":"where"}')).toThrow(/cannot be sent/);
  });

  it('rejects bad filters with a clear error naming the input', () => {
    expect(() => eventType('PortFund' as EventType)).toThrow(/PortFund/);
    expect(() => category('nope' as EventCategory)).toThrow(/nope/);
    expect(() => target('10.0.0.0/40')).toThrow(/prefix length/);
    expect(() => target('banana')).toThrow(/banana/);
    expect(() => port(70000)).toThrow(/70000/);
    expect(() => port([90, 80])).toThrow(/reversed/);
    expect(() => timeRange(10, 5)).toThrow(/before/);
    expect(() => timeRange('not a date')).toThrow(/not a time/);
    expect(() => and()).toThrow(FilterError);
    expect(() => filterFromJSON('{"kind":"port","ports":["x"]}')).toThrow(/not a port/);
    expect(() => filterFromJSON('{')).toThrow(/not valid JSON/);
    expect(() => filterFromJSON('{"kind":"xor"}')).toThrow(/unknown filter kind/);
  });

  it('knows the types a filter can match', () => {
    expect(filterTypes(eventType('PortFound', 'HostDiscovered')).sort()).toEqual(['HostDiscovered', 'PortFound']);
    expect(filterTypes(and(category('discovery'), port(80)))).toEqual(['PortFound', 'IPv6PortFound']);
    expect(filterTypes(not(category('lifecycle', 'progress', 'detection', 'diagnostic')))).toEqual(['HostDiscovered', 'PortFound', 'IPv6PortFound']);
    expect(compileFilter(eventType('PortFound')).exact).toBe(true);
    expect(compileFilter(scanId('x')).exact).toBe(false);
  });
});
