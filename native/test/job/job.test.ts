import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { benchJobMap, JobError, NativeJob, ProbeBatch, SEGMENT_WORDS, type JobLayout } from '../../ts/index.js';
import { v4Range } from '../helpers/probe-engine-fixture.js';

const layout = (over: Partial<JobLayout> = {}): JobLayout => ({
  segments: v4Range(0x7f000001, 0x7f000010),
  blockBits: new Uint32Array(0),
  ports: new Uint32Array([1, 20, 25, 2, 53, 53]),
  seed: 9n,
  natural: false,
  shardIndex: 0,
  shardCount: 1,
  position: 0,
  ...over,
});

describe('NativeJob', () => {
  it('hands out every probe once, as 32-byte records', () => {
    const job = new NativeJob(layout());
    expect([job.count, job.hostCount, job.portCount, job.length]).toEqual([16 * 7, 16, 7, 16 * 7]);
    const batch = new ProbeBatch(50);
    const seen = new Set<string>();
    let n: number;
    while ((n = job.nextBatch(batch)) > 0) {
      for (let i = 0; i < n; i++) {
        seen.add(`${batch.address(i)}:${batch.port(i)}/${batch.kindName(i)}`);
        expect(job.positionOf(batch.index(i))).toBe(batch.position(i));
        expect(job.indexOf(4, batch.records.subarray(batch.addressOffset(i), batch.addressOffset(i) + 4), batch.port(i), batch.kind(i))).toBe(batch.index(i));
      }
    }
    expect(seen.size).toBe(job.count);
    expect(seen.has('127.0.0.16:53/udp')).toBe(true);
    expect(job.highWater).toBe(job.length);
  });

  it('refuses bad layouts and calls with typed errors', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(JobError);
        return (e as JobError).code;
      }
      return 'no error';
    };
    expect(err(() => new NativeJob(layout({ shardIndex: 2, shardCount: 2 })))).toBe('ERR_JOB_SHARD');
    expect(err(() => new NativeJob(layout({ position: 1000 })))).toBe('ERR_JOB_POSITION');
    expect(err(() => new NativeJob(layout({ segments: v4Range(5, 4) })))).toBe('ERR_JOB_LAYOUT');
    expect(err(() => new NativeJob(layout({ ports: new Uint32Array([3, 1, 2]) })))).toBe('ERR_JOB_LAYOUT');
    expect(err(() => new NativeJob(layout({ ports: new Uint32Array([1, 0, 2]) })))).toBe('ERR_JOB_LAYOUT');
    expect(err(() => new NativeJob(layout({ segments: new Uint32Array(3) })))).toBe('ERR_JOB_LAYOUT');
    expect(err(() => new NativeJob(layout({ seed: 5 as never })))).toBe('ERR_JOB_LAYOUT');
    expect(err(() => new NativeJob(layout({ seed: 1n << 64n })))).toBe('ERR_JOB_LAYOUT');
    const v6 = new Uint32Array(SEGMENT_WORDS);
    v6[0] = 6;
    v6[6] = 0xffffffff; // 2^96 addresses
    v6[7] = 0xffffffff;
    v6[8] = 0xffffffff;
    v6[9] = 0xffffffff;
    expect(err(() => new NativeJob(layout({ segments: v6 })))).toBe('ERR_JOB_TOO_LARGE');
    const job = new NativeJob(layout());
    expect(err(() => job.indexAt(job.length))).toBe('ERR_JOB_POSITION');
    expect(err(() => job.markDone(0))).toBe('ERR_JOB_POSITION');
    expect(err(() => job.nextBatch(new ProbeBatch(2), 3))).toBe('ERR_JOB_ARGUMENT');
    expect(err(() => job.indexAt(-1))).toBe('ERR_JOB_ARGUMENT');
    expect(err(() => job.indexAt(0.5))).toBe('ERR_JOB_ARGUMENT');
  });

  it('never crashes on garbage layouts: a JobError or a working job', () => {
    const words = (max: number) => fc.array(fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: max }).map((a) => new Uint32Array(a));
    fc.assert(
      fc.property(words(40), words(70), words(12), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean(), (segments, blockBits, ports, seed, natural) => {
        let job: NativeJob;
        try {
          job = new NativeJob({ segments, blockBits, ports, seed, natural, shardIndex: 0, shardCount: 1, position: 0 });
        } catch (e) {
          expect(e).toBeInstanceOf(JobError);
          return;
        }
        const batch = new ProbeBatch(16);
        const n = job.nextBatch(batch);
        for (let i = 0; i < n; i++) {
          const width = batch.family(i) === 4 ? 4 : 16;
          const addr = batch.records.subarray(batch.addressOffset(i), batch.addressOffset(i) + width);
          expect(job.indexOf(batch.family(i), addr, batch.port(i), batch.kind(i))).toBe(batch.index(i));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('exposes a benchmark entry point (a figure, not a threshold)', () => {
    expect(benchJobMap(1000)).toBeGreaterThan(0);
    expect(new NativeJob(layout()).benchMap(1000)).toBeGreaterThan(0);
  });
});

describe('job core C++ tests (native/test/job/run.sh)', () => {
  it('passes the standalone permutation, index-space, shard and resume checks', () => {
    const script = fileURLToPath(new URL('./run.sh', import.meta.url));
    const r = spawnSync('sh', [script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('job_test: all checks passed');
    expect(r.status).toBe(0);
  }, 120_000);
});
