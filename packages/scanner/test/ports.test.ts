import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePorts, PortSet, PortSpecError, topPorts } from '../src/index.js';

describe('parsePorts: accepted forms', () => {
  it('reads lists, ranges, open ends and "-"', () => {
    expect(parsePorts('22,80,443').ports('tcp')).toEqual([22, 80, 443]);
    expect(parsePorts('1-1024').count).toBe(1024);
    expect(parsePorts('-').tcp).toEqual([[1, 65535]]);
    expect(parsePorts('-1024').tcp).toEqual([[1, 1024]]);
    expect(parsePorts('60000-').tcp).toEqual([[60000, 65535]]);
    expect(parsePorts(' 22 , 23,24 ').tcp).toEqual([[22, 24]]);
  });

  it('applies T:/U: prefixes until the next prefix', () => {
    const p = parsePorts('T:80,443,U:53,161,t:22');
    expect(p.ports('tcp')).toEqual([22, 80, 443]);
    expect(p.ports('udp')).toEqual([53, 161]);
    expect(p.count).toBe(5);
    expect(p.has('udp', 53)).toBe(true);
    expect(p.has('tcp', 53)).toBe(false);
    expect(parsePorts('53', { defaultProtocol: 'udp' }).ports('udp')).toEqual([53]);
  });

  it('takes top:N and fast from the ranked table, per protocol', () => {
    expect(parsePorts('top:10').ports('tcp')).toEqual([...topPorts(10, 'tcp')].sort((a, b) => a - b));
    expect(parsePorts('U:top:5').ports('udp')).toEqual([...topPorts(5, 'udp')].sort((a, b) => a - b));
    expect(parsePorts('fast').count).toBe(100);
    expect(parsePorts('T:fast,U:fast').count).toBe(200);
    expect(parsePorts('top:65535').count).toBe(65535);
  });

  it('deduplicates and prints a canonical spec that parses back', () => {
    const p = parsePorts('80,79-81,U:53,T:1-3');
    expect(p.toString()).toBe('T:1-3,79-81,U:53');
    expect(parsePorts(p.toString())).toEqual(p);
  });

  it('subtracts excluded ports', () => {
    const p = parsePorts('1-100,U:50-60').without(parsePorts('10-20,U:55'));
    expect(p.tcp).toEqual([[1, 9], [21, 100]]);
    expect(p.udp).toEqual([[50, 54], [56, 60]]);
  });
});

describe('parsePorts: bad specs name the item and the accepted forms', () => {
  const cases: [string, string, RegExp][] = [
    ['', '', /empty/],
    ['22,,80', '', /empty item/],
    ['0', '0', /outside 1-65535/],
    ['65536', '65536', /outside 1-65535/],
    ['80-22', '80-22', /backwards/],
    ['http', 'http', /not a port number/],
    ['1-2-3', '1-2-3', /not a port number/],
    ['S:80', 'S:80', /SCTP/],
    ['X:80', 'X:80', /unknown protocol prefix/],
    ['T:', 'T:', /empty item/],
    ['top:0', 'top:0', /top needs a count/],
    ['top:abc', 'top:abc', /top needs a count/],
    ['22,-5x', '-5x', /not a port number/],
  ];
  it.each(cases)('%j', (spec, token, why) => {
    let err: unknown;
    try {
      parsePorts(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortSpecError);
    const e = err as PortSpecError;
    expect(e.code).toBe('ERR_PORT_SPEC');
    expect(e.token).toBe(token);
    expect(e.message).toMatch(why);
    expect(e.message).toMatch(/use ports 1-65535/);
  });

  it('rejects runs outside 1-65535 built by hand', () => {
    expect(() => new PortSet([[0, 5]], [])).toThrow(PortSpecError);
  });
});

describe('parsePorts against a naive expansion', () => {
  it('gives exactly the ports of every item, per protocol', () => {
    const item = fc.oneof(
      fc.integer({ min: 1, max: 300 }).map(String),
      fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([a, n]) => `${a}-${a + n}`),
    );
    const part = fc.tuple(fc.constantFrom('', 'T:', 'U:'), item).map(([p, i]) => p + i);
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 8 }), (parts) => {
        const want = { tcp: new Set<number>(), udp: new Set<number>() };
        let proto: 'tcp' | 'udp' = 'tcp';
        for (const p of parts) {
          let body = p;
          if (p.startsWith('T:')) (proto = 'tcp'), (body = p.slice(2));
          if (p.startsWith('U:')) (proto = 'udp'), (body = p.slice(2));
          const [lo, hi] = body.includes('-') ? body.split('-').map(Number) : [Number(body), Number(body)];
          for (let v = lo; v <= hi; v++) want[proto].add(v);
        }
        const got = parsePorts(parts.join(','));
        expect(got.ports('tcp')).toEqual([...want.tcp].sort((a, b) => a - b));
        expect(got.ports('udp')).toEqual([...want.udp].sort((a, b) => a - b));
        expect(got.count).toBe(want.tcp.size + want.udp.size);
      }),
      { numRuns: 300 },
    );
  });
});
