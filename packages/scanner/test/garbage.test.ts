import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePorts, parseTarget, parseTargetFile, PortSpecError, ScanJob, ScanJobError, TargetSpecError } from '../src/index.js';

// Garbage in: a typed one-line error or a valid result, never another exception.
const alphabet = fc.constantFrom(...'0123456789abcdefx.:-,/*[]% T:U:top\n#\t'.split(''));
const junk = fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 }));

function onlyTyped(fn: () => unknown, type: new (...a: never[]) => Error): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    expect((e as Error).message.split('\n')).toHaveLength(1);
  }
}

describe('garbage input', () => {
  it('parseTarget', () => {
    fc.assert(fc.property(junk, (s) => onlyTyped(() => parseTarget(s), TargetSpecError)), { numRuns: 3000 });
  });
  it('parseTargetFile', () => {
    fc.assert(fc.property(junk, (s) => onlyTyped(() => parseTargetFile(s, 'f.txt'), TargetSpecError)), { numRuns: 1000 });
  });
  it('parsePorts', () => {
    fc.assert(fc.property(junk, (s) => onlyTyped(() => parsePorts(s), PortSpecError)), { numRuns: 3000 });
  });
  it('ScanJob.fromJSON', () => {
    const good = { format: 'portflow.scan-job', version: 1, targets: ['10.0.0.0/30'], ports: 'T:22', seed: '0000000000000001', order: 'random', shard: { index: 0, count: 1 }, count: 4, length: 4, lowWater: 0, highWater: 0 };
    const field = fc.constantFrom(...Object.keys(good));
    const value = fc.oneof(fc.anything(), junk, fc.integer(), fc.constant(null));
    fc.assert(
      fc.property(field, value, (k, v) => onlyTyped(() => ScanJob.fromJSON({ ...good, [k]: v } as never), ScanJobError)),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(junk, (s) => onlyTyped(() => ScanJob.fromJSON(s), ScanJobError)), { numRuns: 500 });
  });
});
