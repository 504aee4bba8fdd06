import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTargetSetWith } from '../src/targets.js';
import {
  buildTargetSet,
  formatIPv4,
  parseIPv4,
  parseTarget,
  parseTargetFile,
  parseTargets,
  readTargetFile,
  resolveTargets,
  TargetSpecError,
  type LookupFn,
} from '../src/index.js';

const set = (inc: string, exc = '') => buildTargetSet(parseTargets(inc), parseTargets(exc));

describe('parseTarget: accepted forms', () => {
  it('reads IPv4 addresses, CIDRs and both range forms', () => {
    expect(parseTarget('192.0.2.1')).toMatchObject({ kind: 'ipv4', lo: parseIPv4('192.0.2.1'), hi: parseIPv4('192.0.2.1') });
    expect(parseTarget('10.0.0.77/24')).toMatchObject({ kind: 'ipv4', lo: parseIPv4('10.0.0.0'), hi: parseIPv4('10.0.0.255') });
    expect(parseTarget('0.0.0.0/0')).toMatchObject({ kind: 'ipv4', lo: 0, hi: 2 ** 32 - 1 });
    expect(parseTarget('10.0.0.1-10.0.1.9')).toMatchObject({ kind: 'ipv4', lo: parseIPv4('10.0.0.1'), hi: parseIPv4('10.0.1.9') });
    expect(parseTarget('10.0.0.1-50').kind).toBe('ipv4-octets');
    expect(parseTarget('10.0.0-3.1-254').kind).toBe('ipv4-octets');
    expect(parseTarget('10.*.1,3,5-7.-9').kind).toBe('ipv4-octets');
  });

  it('reads IPv6 addresses, CIDRs and ranges', () => {
    expect(parseTarget('::1')).toMatchObject({ kind: 'ipv6', lo: 1n, hi: 1n });
    expect(parseTarget('2001:db8::/120')).toMatchObject({ kind: 'ipv6', hi: (0x20010db8n << 96n) | 255n });
    expect(parseTarget('[2001:db8::5]')).toMatchObject({ kind: 'ipv6', lo: (0x20010db8n << 96n) | 5n });
    expect(parseTarget('2001:db8::1-2001:db8::ff')).toMatchObject({ kind: 'ipv6', lo: (0x20010db8n << 96n) | 1n });
    expect(parseTarget('::ffff:192.0.2.1')).toMatchObject({ kind: 'ipv6', lo: 0xffffc0000201n });
  });

  it('keeps hostnames as names (no DNS at parse time)', () => {
    expect(parseTarget('Scan.Example.org')).toEqual({ kind: 'hostname', name: 'scan.example.org', prefix: undefined, text: 'Scan.Example.org' });
    expect(parseTarget('localhost/30')).toMatchObject({ kind: 'hostname', name: 'localhost', prefix: 30 });
  });

  it('splits on whitespace and reads files with comments and blank lines', () => {
    expect(parseTargets(['10.0.0.1  10.0.0.2', '\t::1\n']).map((t) => t.text)).toEqual(['10.0.0.1', '10.0.0.2', '::1']);
    const toks = parseTargetFile('\uFEFF# office\r\n\r\n10.0.0.1 10.0.0.2 # two hosts\r\n  host.example  \n', 'hosts.txt');
    expect(toks.map((t) => t.text)).toEqual(['10.0.0.1', '10.0.0.2', 'host.example']);
  });
});

describe('parseTarget: bad specs name the token and the accepted forms', () => {
  const cases: [string, RegExp][] = [
    ['10.0.0.256', /octet 256 is above 255/],
    ['10.0.0', /4 octets/],
    ['10.0.0.1.5', /4 octets/],
    ['10.0.0.1,10.0.0.2', /separate targets with spaces/],
    ['10.0.0.5-1', /runs backwards/],
    ['10.0.0.1-10.0.0.0', /runs backwards/],
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0-.1,,2', /empty item/],
    ['010.0.0.1', /not an octet value/],
    ['10.0.0.1-10.0.0.300', /valid IPv4/],
    ['10.0.0-3.1/24', /plain dotted-quad/],
    ['2001:db8::/129', /prefix length/],
    ['2001:db8::zz', /not an IPv6 address/],
    ['fe80::1%eth0', /zone index/],
    ['2001:db8::9-2001:db8::1', /runs backwards/],
    ['2001:db8::1-2001:db8::2/64', /cannot also have a prefix/],
    ['bad_host!', /not an address, range or hostname/],
    ['-foo', /not an address, range or hostname/],
    ['12345', /not an address, range or hostname/],
    ['host.example/200', /prefix length/],
  ];
  it.each(cases)('%s', (token, why) => {
    let err: unknown;
    try {
      parseTarget(token, 'cli');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TargetSpecError);
    const e = err as TargetSpecError;
    expect(e.code).toBe('ERR_TARGET_SPEC');
    expect(e.token).toBe(token);
    expect(e.message).toContain(`"${token}"`);
    expect(e.message).toMatch(why);
    expect(e.message).toMatch(/use an address .* or a hostname/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('names the file and line of a bad token in a target file', () => {
    expect(() => parseTargetFile('10.0.0.1\n\n10.0.0.999\n', 'list.txt')).toThrow(/^list\.txt:3: "10\.0\.0\.999"/);
  });

  it('reports a missing target file as a typed error', async () => {
    await expect(readTargetFile('/nonexistent/portflow/targets.txt')).rejects.toMatchObject({ code: 'ERR_TARGET_FILE', token: '/nonexistent/portflow/targets.txt' });
  });

  it('reads a target file from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portflow-targets-'));
    const path = join(dir, 'list.txt');
    writeFileSync(path, '127.0.0.1\n# loopback range\n127.0.0.2-3\n');
    expect(buildTargetSet(await readTargetFile(path)).toSpecs()).toEqual(['127.0.0.1-127.0.0.3']);
  });

  it('refuses unresolved hostnames in buildTargetSet', () => {
    expect(() => buildTargetSet(parseTargets('host.example'))).toThrow(expect.objectContaining({ code: 'ERR_TARGET_UNRESOLVED' }));
  });
});

// Naive model: expand every token of a small universe into a set of numbers.
const octetItem = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
);
const smallOctet = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
);
const v4Token = fc.oneof(
  fc.tuple(smallOctet, fc.array(octetItem, { minLength: 1, maxLength: 3 })).map(([c, d]) => `10.0.${c}.${d.join(',')}`),
  fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 22, max: 32 })).map(([v, p]) => `${formatIPv4(0x0a000000 + v)}/${p}`),
  fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 300 })).map(([v, n]) => `${formatIPv4(0x0a000000 + v)}-${formatIPv4(0x0a000000 + Math.min(1023, v + n))}`),
);

function naive(tokens: string[]): Set<number> {
  const out = new Set<number>();
  for (const t of tokens) {
    const slash = t.indexOf('/');
    if (slash >= 0) {
      const size = 2 ** (32 - Number(t.slice(slash + 1)));
      const base = Math.floor(parseIPv4(t.slice(0, slash))! / size) * size;
      for (let i = 0; i < size; i++) out.add(base + i);
    } else if (/^\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+$/.test(t)) {
      const [a, b] = t.split('-').map((x) => parseIPv4(x)!);
      for (let v = a; v <= b; v++) out.add(v);
    } else {
      const octs = t.split('.').map((part) => {
        const vals: number[] = [];
        for (const item of part.split(',')) {
          const [lo, hi] = item.includes('-') ? item.split('-').map(Number) : [Number(item), Number(item)];
          for (let v = lo; v <= hi; v++) vals.push(v);
        }
        return vals;
      });
      for (const a of octs[0]) for (const b of octs[1]) for (const c of octs[2]) for (const d of octs[3]) out.add(((a * 256 + b) * 256 + c) * 256 + d);
    }
  }
  return out;
}

describe('TargetSet against a naive expansion', () => {
  it('counts, deduplicates and excludes exactly (IPv4 specs of every form)', () => {
    fc.assert(
      fc.property(fc.array(v4Token, { minLength: 1, maxLength: 6 }), fc.array(v4Token, { maxLength: 3 }), (inc, exc) => {
        const expected = naive(inc);
        for (const v of naive(exc)) expected.delete(v);
        const s = buildTargetSet(parseTargets(inc), parseTargets(exc));
        expect(s.size).toBe(BigInt(expected.size));
        const listed = [...s.addresses()].map((a) => parseIPv4(a)!);
        expect(listed).toEqual([...expected].sort((a, b) => a - b));
        // Canonical specs parse back to the same set in the same order.
        expect(buildTargetSet(parseTargets(s.toSpecs())).toSpecs()).toEqual(s.toSpecs());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the per-octet block algebra exact when every block stays a block', () => {
    fc.assert(
      fc.property(fc.array(v4Token, { minLength: 1, maxLength: 5 }), fc.array(v4Token, { maxLength: 3 }), (inc, exc) => {
        const expected = naive(inc);
        for (const v of naive(exc)) expected.delete(v);
        // maxRuns 0: no block is turned into ranges, so carving and dedup run on blocks only.
        const s = buildTargetSetWith(parseTargets(inc), parseTargets(exc), 0);
        expect(s.size).toBe(BigInt(expected.size));
        const listed = [...s.addresses()].map((a) => parseIPv4(a)!);
        expect(new Set(listed).size).toBe(listed.length);
        expect(listed.sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
        for (const v of [...naive(exc)].slice(0, 50)) expect(s.has(formatIPv4(v))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('handles IPv6 ranges, CIDRs and exclusions', () => {
    const base = 0x20010db8n << 96n;
    const tok = fc
      .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 60 }), fc.boolean())
      .map(([a, n, cidr]) => (cidr ? `2001:db8::${(a & ~15).toString(16)}/124` : `2001:db8::${a.toString(16)}-2001:db8::${(a + n).toString(16)}`));
    fc.assert(
      fc.property(fc.array(tok, { minLength: 1, maxLength: 5 }), fc.array(tok, { maxLength: 2 }), (inc, exc) => {
        const expand = (ts: string[]) => {
          const out = new Set<bigint>();
          for (const t of ts) {
            const p = parseTarget(t);
            if (p.kind !== 'ipv6') throw new Error('unexpected');
            for (let v = p.lo; v <= p.hi; v++) out.add(v);
          }
          return out;
        };
        const expected = expand(inc);
        for (const v of expand(exc)) expected.delete(v);
        const s = buildTargetSet(parseTargets(inc), parseTargets(exc));
        expect(s.size).toBe(BigInt(expected.size));
        for (const v of expected) expect(v >= base).toBe(true);
        expect([...s.addresses()]).toHaveLength(expected.size);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps large octet blocks unexpanded and still exact', () => {
    const s = set('*.*.*.1', '10.0.0.0/8');
    expect(s.ipv4).toHaveLength(1);
    expect(s.ipv4[0].type).toBe('block');
    expect(s.size).toBe(BigInt(2 ** 24 - 2 ** 16));
    expect(s.has('10.1.2.1')).toBe(false);
    expect(s.has('11.1.2.1')).toBe(true);
    expect(s.has('11.1.2.2')).toBe(false);
    const t = set('1-254.1-254.1-254.1-254 10.0.0.0/8', '10.5.5.5 192.168.0.0/16');
    expect(t.size).toBe(BigInt(254 ** 4 - 254 ** 3 - 254 * 254 + 2 ** 24 - 1));
    expect(t.has('10.0.0.0')).toBe(true);
    expect(t.has('10.5.5.5')).toBe(false);
    expect(t.has('192.168.1.1')).toBe(false);
    expect(t.has('1.1.1.1')).toBe(true);
  });

  it('counts a /8 and the whole IPv4 space without expansion', () => {
    expect(set('10.0.0.0/8').size).toBe(2n ** 24n);
    expect(set('0.0.0.0/0 10.0.0.0/8').size).toBe(2n ** 32n);
    expect(set('::/0').size).toBe(2n ** 128n);
  });

  it('allows this machine: loopback and ::1', () => {
    const s = set('127.0.0.0/8 ::1');
    expect(s.has('127.0.0.1')).toBe(true);
    expect(s.has('::1')).toBe(true);
  });
});

describe('resolveTargets', () => {
  const fake: LookupFn = async (name) => {
    if (name === 'two.example') return [{ address: '192.0.2.10', family: 4 }, { address: '2001:db8::10', family: 6 }];
    if (name === 'lan.example') return [{ address: '192.0.2.77', family: 4 }];
    if (name === 'skip.example') return [{ address: '192.0.2.10', family: 4 }];
    throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
  };

  it('resolves names, reports failures as warnings and keeps going', async () => {
    const r = await resolveTargets(parseTargets('two.example missing.example 192.0.2.1 lan.example/30'), { lookup: fake });
    expect(r.targets.toSpecs()).toEqual(['192.0.2.1', '192.0.2.10', '192.0.2.76/30', '2001:db8::10']);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'ERR_TARGET_UNRESOLVED', token: 'missing.example' })]);
    expect(r.warnings[0].message).toMatch(/ENOTFOUND/);
    expect(r.resolved.get('two.example')).toEqual(['192.0.2.10', '2001:db8::10']);
  });

  it('resolves hostnames in exclusions too', async () => {
    const r = await resolveTargets(parseTargets('192.0.2.8-11'), { lookup: fake, exclude: parseTargets('skip.example') });
    expect([...r.targets.addresses()]).toEqual(['192.0.2.8', '192.0.2.9', '192.0.2.11']);
  });

  it('warns when a hostname prefix does not fit the resolved family', async () => {
    const r = await resolveTargets(parseTargets('two.example/64'), { lookup: fake });
    expect(r.targets.toSpecs()).toEqual(['2001:db8::/64']);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'ERR_TARGET_PREFIX', token: 'two.example/64' })]);
  });

  it('validates its options', async () => {
    await expect(resolveTargets([], { concurrency: 0 })).rejects.toThrow(/concurrency/);
  });
});
