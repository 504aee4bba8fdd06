import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromJSON, toJSON, formatIPv6, type ScanEvent } from '../src/index.js';
import { sampleEvents } from './samples.js';

// Random values of each field's kind, written into sample events of every type.
const str = fc.string({ unit: 'grapheme-composite', maxLength: 30 });
const anyStr = fc.oneof(str, fc.string({ unit: 'binary', maxLength: 30 }));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => formatIPv6(g));
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const time = fc.integer({ min: -62135596800000, max: 253402300799999 });

function mutate(e: ScanEvent, r: { s: string; n: number; i: number; ip4: string; ip6: string; t: number }): ScanEvent {
  const o = { ...e } as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (k === 'type' || k === 'seq') continue;
    if (k === 'timestamp' || k === 'notBefore' || k === 'notAfter') o[k] = r.t;
    else if (k === 'target' || k === 'ip') o[k] = e.type === 'IPv6PortFound' ? r.ip6 : r.i % 2 ? r.ip4 : r.ip6;
    else if (['scanId', 'reason', 'message', 'banner', 'subject', 'serialNumber', 'hostname', 'product', 'metric', 'configHash', 'seed', 'errorType'].includes(k) && typeof v === 'string') o[k] = r.s;
    else if (['value', 'latencyMs', 'durationMs', 'currentRate', 'limit', 'percentage', 'confidence', 'delayMs'].includes(k)) o[k] = r.n;
    else if (['port', 'targetCount', 'lowWater', 'completed', 'total', 'ttl', 'attempt'].includes(k) && typeof v === 'number') o[k] = r.i;
  }
  return o as unknown as ScanEvent;
}

describe('wire format (property)', () => {
  it('toJSON/fromJSON is an exact round trip for random field values of every type', () => {
    const base = sampleEvents();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.record({ s: anyStr, n: finite, i: fc.integer({ min: 0, max: 2 ** 53 - 1 }), ip4: ipv4, ip6: ipv6, t: time }),
        fc.integer({ min: 0, max: 2 ** 53 - 1 }),
        (idx, r, seq) => {
          const e = mutate(base[idx], r);
          e.seq = seq;
          const line = toJSON(e);
          expect(line.includes('\n')).toBe(false);
          expect(fromJSON(line)).toEqual(e);
          expect(JSON.parse(line)).toBeTypeOf('object');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
