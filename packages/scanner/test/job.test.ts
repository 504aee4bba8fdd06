import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTargetSetWith } from '../src/targets.js';
import {
  buildTargetSet,
  createScanJob,
  MAX_JOB_COUNT,
  parsePorts,
  parseTargets,
  ScanJob,
  ScanJobError,
  type ScanJobOptions,
} from '../src/index.js';

const targets = (inc: string, exc = '') => buildTargetSet(parseTargets(inc), parseTargets(exc));

/** Every probe of one pass, as "address port protocol" keys, by position. */
function drain(job: ScanJob, batchSize = 97): { keys: string[]; indices: number[] } {
  const batch = job.createBatch(batchSize);
  const keys: string[] = [];
  const indices: number[] = [];
  while (job.nextBatch(batch) > 0) {
    for (let i = 0; i < batch.size; i++) {
      keys.push(`${batch.address(i)} ${batch.port(i)} ${batch.kindName(i)}`);
      indices.push(batch.index(i));
    }
  }
  return { keys, indices };
}

function expectedKeys(addresses: Iterable<string>, tcp: number[], udp: number[]): string[] {
  const out: string[] = [];
  for (const a of addresses) {
    for (const p of tcp) out.push(`${a} ${p} tcp`);
    for (const p of udp) out.push(`${a} ${p} udp`);
  }
  return out.sort();
}

describe('coverage: every (address, port) exactly once per pass', () => {
  it('covers a mixed IPv4/IPv6 job with exclusions, never probing excluded addresses', () => {
    const t = targets('10.0.0.0/29 10.0.1.1-3 2001:db8::fffe-2001:db8::1:1 127.0.0.1', '10.0.0.4 2001:db8::ffff');
    const p = parsePorts('T:22,80,U:53');
    const job = createScanJob({ targets: t, ports: p, seed: 99n });
    const { keys, indices } = drain(job);
    expect(keys.slice().sort()).toEqual(expectedKeys(t.addresses(), [22, 80], [53]));
    expect(keys.some((k) => k.startsWith('10.0.0.4 ') || k.startsWith('2001:db8::ffff '))).toBe(false);
    expect(new Set(indices).size).toBe(job.count);
    expect(Math.max(...indices)).toBe(job.count - 1);
    // indexOf and positionOf invert the sequence.
    const batch = job.createBatch(1);
    for (let pos = 0; pos < job.length; pos += 7) {
      const probe = job.probeAt(pos);
      expect(job.indexOf(probe.address, probe.port, probe.protocol)).toBe(probe.index);
      expect(job.positionOf(probe.index)).toBe(pos);
    }
    expect(job.indexOf('10.0.0.4', 22)).toBe(-1);
    expect(job.indexOf('10.0.0.5', 53, 'tcp')).toBe(-1);
    expect(job.indexOf('not an address', 22)).toBe(-1);
    expect(batch.capacity).toBe(1);
  });

  it('covers jobs built from random specs (property, against a naive expansion)', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 20 })).map(([a, n]) => `10.0.0.${a}-${Math.min(255, a + n)}`);
    const v6 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 10 })).map(([a, n]) => `2001:db8::${a.toString(16)}-2001:db8::${(a + n).toString(16)}`);
    const ports = fc.tuple(fc.integer({ min: 1, max: 65530 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 100 })).map(([a, n, u]) => `T:${a}-${a + n},U:${u}`);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 4 }),
        fc.array(v4, { maxLength: 2 }),
        ports,
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.constantFrom('random', 'natural') as fc.Arbitrary<'random' | 'natural'>,
        (inc, exc, portSpec, seed, order) => {
          const t = buildTargetSet(parseTargets(inc), parseTargets(exc));
          if (t.size === 0n) return;
          const p = parsePorts(portSpec);
          const job = createScanJob({ targets: t, ports: p, seed, order });
          const { keys } = drain(job, 13);
          expect(keys.slice().sort()).toEqual(expectedKeys(t.addresses(), p.ports('tcp'), p.ports('udp')));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('covers unexpanded octet blocks, alone and next to ranges', () => {
    const inc = parseTargets('10.0-1.2,4.1-3 10.0.2.0/30 10.0.0.5-6');
    const exc = parseTargets('10.1.4.2');
    const t = buildTargetSetWith(inc, exc, 0); // keep every block a block
    expect(t.ipv4.some((x) => x.type === 'block')).toBe(true);
    const job = createScanJob({ targets: t, ports: parsePorts('1-3'), seed: 3n });
    const { keys } = drain(job, 5);
    expect(keys.slice().sort()).toEqual(expectedKeys(t.addresses(), [1, 2, 3], []));
    for (let pos = 0; pos < job.length; pos++) {
      const probe = job.probeAt(pos);
      expect(job.indexOf(probe.address, probe.port)).toBe(probe.index);
    }
  });

  it('handles the permutation edges: one address, a prime count, carries across IPv6 words', () => {
    const one = createScanJob({ targets: targets('127.0.0.1'), ports: parsePorts('22') });
    expect(drain(one).keys).toEqual(['127.0.0.1 22 tcp']);
    // 1,009 addresses x 1 port: a prime count.
    const prime = createScanJob({ targets: targets('10.0.0.0/22', '10.0.3.241-255'), ports: parsePorts('80'), seed: 1n });
    expect(prime.count).toBe(1009);
    const r = drain(prime);
    expect(new Set(r.indices).size).toBe(1009);
    expect(new Set(r.keys).size).toBe(1009);
  });

  it('checks an index space of 2^32 + 1 at its edges (the exhaustive pass is the native --full test)', () => {
    const job = createScanJob({ targets: targets('0.0.0.0/0 ::1'), ports: parsePorts('443'), seed: 2024n });
    expect(job.count).toBe(2 ** 32 + 1);
    const seen = new Set<number>();
    const positions = [0, 1, 2, 2 ** 31, 2 ** 32 - 1, 2 ** 32];
    for (let i = 0; i < 2000; i++) positions.push(Math.floor((i * 2654435761) % (2 ** 32 + 1)));
    for (const pos of positions) {
      const probe = job.probeAt(pos);
      expect(probe.index).toBeLessThan(2 ** 32 + 1);
      expect(job.positionOf(probe.index)).toBe(pos);
      expect(job.indexOf(probe.address, 443)).toBe(probe.index);
      seen.add(probe.index);
    }
    expect(seen.size).toBe(new Set(positions).size);
    // The only IPv6 address sits at the last host index.
    expect(job.positionOf(job.indexOf('::1', 443))).toBeGreaterThanOrEqual(0);
  });
});

describe('order, seed and shards', () => {
  const base = (): ScanJobOptions => ({ targets: targets('192.0.2.0/28 2001:db8::/126'), ports: parsePorts('T:1-7,U:9') });

  it('repeats the same sequence from the same seed and changes it with another', () => {
    const a = drain(createScanJob({ ...base(), seed: 42n })).keys;
    const b = drain(createScanJob({ ...base(), seed: 42 })).keys;
    const c = drain(createScanJob({ ...base(), seed: '43' })).keys;
    const d = drain(createScanJob({ ...base(), seed: '0x000000000000002A' })).keys;
    expect(a).toEqual(b);
    expect(d).toEqual(a);
    expect(c).not.toEqual(a);
    expect(c.slice().sort()).toEqual(a.slice().sort());
  });

  it('keeps natural order on request: hosts vary fastest, ports in order, TCP before UDP', () => {
    const { keys, indices } = drain(createScanJob({ ...base(), order: 'natural' }));
    expect(indices).toEqual(indices.map((_, i) => i));
    expect(keys.slice(0, 2)).toEqual(['192.0.2.0 1 tcp', '192.0.2.1 1 tcp']);
    expect(keys[16]).toBe('2001:db8:: 1 tcp');
    expect(keys[keys.length - 1]).toBe('2001:db8::3 9 udp');
  });

  it('spreads consecutive probes across hosts in random order', () => {
    // /24 x 100 ports: a random order puts the same host back to back about
    // once in 256 probes and touches ~63% of the hosts in the first 256.
    const job = createScanJob({ targets: targets('192.0.2.0/24'), ports: parsePorts('1-100'), seed: 0x5eedn });
    const hosts = drain(job).keys.map((k) => k.split(' ')[0]);
    let repeats = 0;
    for (let i = 1; i < hosts.length; i++) if (hosts[i] === hosts[i - 1]) repeats++;
    expect(repeats).toBeLessThan((3 * hosts.length) / 256);
    expect(new Set(hosts.slice(0, 256)).size).toBeGreaterThan(140);
    // Natural order also changes host on every probe (index = port x hosts + host).
    const natural = drain(createScanJob({ targets: targets('192.0.2.0/24'), ports: parsePorts('1-3'), order: 'natural' })).keys.map((k) => k.split(' ')[0]);
    for (let i = 1; i < natural.length; i++) expect(natural[i]).not.toBe(natural[i - 1]);
  });

  it('partitions the index space exactly across shards sharing a seed', () => {
    for (const n of [1, 2, 3, 7, 160, 200]) {
      const all: number[] = [];
      let total = 0;
      for (let k = 0; k < n; k++) {
        const job = createScanJob({ ...base(), seed: 7n, shard: { index: k, count: n } });
        const { indices } = drain(job);
        expect(indices).toHaveLength(job.length);
        for (const i of indices) expect(job.positionOf(i)).toBeGreaterThanOrEqual(0);
        all.push(...indices);
        total = job.count;
      }
      expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i));
    }
  });

  it('takes shard k as positions k, k+n, ... of the shared sequence', () => {
    const whole = drain(createScanJob({ ...base(), seed: 5n })).indices;
    const shard = drain(createScanJob({ ...base(), seed: 5n, shard: { index: 2, count: 3 } })).indices;
    expect(shard).toEqual(whole.filter((_, p) => p % 3 === 2));
  });
});

describe('resume positions', () => {
  it('tracks lowWater under out-of-order completion and restarts from it', () => {
    const opts: ScanJobOptions = { targets: targets('198.51.100.0/26'), ports: parsePorts('1-50'), seed: 11n };
    const job = createScanJob(opts);
    const batch = job.createBatch(500);
    expect(job.nextBatch(batch)).toBe(500);
    expect(job.nextBatch(batch, 100)).toBe(100);
    expect([job.lowWater, job.highWater]).toEqual([0, 600]);
    // Everything but positions 250 and 430 completes, in reverse order.
    for (let p = 599; p >= 0; p--) if (p !== 250 && p !== 430) expect(job.markDone(p)).toBe(true);
    expect(job.lowWater).toBe(250);
    expect(job.markDone(3)).toBe(false);
    expect(() => job.markDone(600)).toThrow(expect.objectContaining({ code: 'ERR_JOB_POSITION' }));
    job.markDone(250);
    expect(job.lowWater).toBe(430);

    const saved = JSON.parse(JSON.stringify(job));
    expect(saved).toMatchObject({ format: 'portflow.scan-job', version: 1, seed: '000000000000000b', lowWater: 430, highWater: 600, count: 3200, length: 3200 });
    const resumed = ScanJob.fromJSON(saved);
    expect(resumed.resumedFrom).toEqual({ lowWater: 430, highWater: 600 });
    expect([resumed.lowWater, resumed.highWater]).toEqual([430, 430]);
    // Done before lowWater + everything from lowWater on = every probe, once.
    const whole = drain(createScanJob(opts)).indices;
    const rest = drain(resumed).indices;
    expect([...whole.slice(0, 430), ...rest]).toEqual(whole);
  });

  it('marks ranges done and grows the window past its initial size', () => {
    const job = createScanJob({ targets: targets('10.0.0.0/16'), ports: parsePorts('80') });
    const batch = job.createBatch(10000);
    job.nextBatch(batch);
    job.markDoneRange(5000, 5000);
    expect(job.lowWater).toBe(0);
    job.markDoneRange(0, 5000);
    expect(job.lowWater).toBe(10000);
    expect(() => job.markDoneRange(9000, 2000)).toThrow(expect.objectContaining({ code: 'ERR_JOB_POSITION' }));
  });
});

describe('limits and bad input', () => {
  it('refuses an index space above 2^53 and accepts exactly 2^53', () => {
    expect(() => createScanJob({ targets: targets('2001:db8::/64'), ports: parsePorts('80') })).toThrow(
      expect.objectContaining({ code: 'ERR_JOB_TOO_LARGE', message: expect.stringMatching(/above 2\^53/) }),
    );
    expect(() => createScanJob({ targets: targets('2001:db8::/76'), ports: parsePorts('80,443,8080') })).toThrow(ScanJobError);
    const max = createScanJob({ targets: targets('2001:db8::/75'), ports: parsePorts('80') });
    expect(max.count).toBe(MAX_JOB_COUNT);
    const last = max.probeAt(MAX_JOB_COUNT - 1);
    expect(max.positionOf(last.index)).toBe(MAX_JOB_COUNT - 1);
  });

  it('builds a /8 x all ports job (2^40 probes) without expanding it', () => {
    const job = createScanJob({ targets: targets('10.0.0.0/8'), ports: parsePorts('-'), seed: 1n });
    expect(job.count).toBe(2 ** 24 * 65535);
    expect(job.toJSON().targets).toEqual(['10.0.0.0/8']);
  });

  it('refuses empty jobs and bad options with typed errors', () => {
    const t = targets('10.0.0.1');
    const p = parsePorts('80');
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect((e as Error).message.split('\n')).toHaveLength(1);
        return (e as ScanJobError).code;
      }
      return 'no error';
    };
    expect(code(() => createScanJob({ targets: targets('10.0.0.1', '10.0.0.0/24'), ports: p }))).toBe('ERR_JOB_EMPTY');
    expect(code(() => createScanJob({ targets: t, ports: parsePorts('80').without(parsePorts('80')) }))).toBe('ERR_JOB_EMPTY');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: -1n }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: 1n << 64n }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: 1.5 }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: '0x12345678901234567' }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: 'xyz' }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: '2b' }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, seed: '18446744073709551616' }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, order: 'sorted' as never }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, shard: { index: 2, count: 2 } }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, shard: { index: 0, count: 0 } }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: p, position: 2 }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: 'x' as never, ports: p }))).toBe('ERR_JOB_OPTION');
    expect(code(() => createScanJob({ targets: t, ports: '80' as never }))).toBe('ERR_JOB_OPTION');
    // More shards than probes: the extra shards are simply empty.
    const idle = createScanJob({ targets: t, ports: p, shard: { index: 3, count: 4 } });
    expect(idle.length).toBe(0);
    expect(drain(idle).keys).toEqual([]);
  });

  it('refuses corrupt or edited descriptors', () => {
    const good = createScanJob({ targets: targets('10.0.0.0/30'), ports: parsePorts('22'), seed: 1n }).toJSON();
    const code = (d: unknown) => {
      try {
        ScanJob.fromJSON(d as never);
      } catch (e) {
        return (e as ScanJobError).code;
      }
      return 'no error';
    };
    expect(code('{not json')).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, format: 'other' })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, version: 2 })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, count: 5 })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, targets: ['10.0.0.0/29'] })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, targets: ['host.example'] })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, targets: ['10.0.0.300'] })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, ports: 'T:0' })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, lowWater: 3, highWater: 2 })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, seed: 1 })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, highWater: -1 })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, order: 'sorted' })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, shard: { index: 1, count: 1 } })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, seed: '-5' })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, seed: '1' })).toBe('ERR_JOB_FORMAT');
    expect(code({ ...good, seed: '0x0000000000000001' })).toBe('ERR_JOB_FORMAT');
    expect(code(JSON.stringify(good))).toBe('no error');
  });
});
