import { describe, expect, it } from 'vitest';
import { startLab, TestnetError } from '../src/index.js';

// Option and spec errors come before anything touches the system, so these run without root.
describe('startLab options', () => {
  const rejects = async (p: Promise<unknown>): Promise<TestnetError> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TestnetError);
    return err as TestnetError;
  };

  it('rejects unknown options and bad values with a typed, one-line error', async () => {
    expect((await rejects(startLab('standard', { los: 5 } as never))).message).toBe(
      'unknown startLab option "los"; the options are: icmp, nonLive, loss, rate, delay, persistent, readyTimeoutMs',
    );
    expect((await rejects(startLab('standard', { readyTimeoutMs: 0 }))).code).toBe('ERR_TESTNET_OPTIONS');
    expect((await rejects(startLab('standard', { persistent: 'yes' as never }))).code).toBe('ERR_TESTNET_OPTIONS');
    expect((await rejects(startLab('nope'))).code).toBe('ERR_TESTNET_UNKNOWN_LAB');
    const bad = await rejects(startLab('standard', { loss: { percent: 200, direction: 'both' } }));
    expect(bad.code).toBe('ERR_TESTNET_SPEC');
    expect(bad.message).toMatch(/^lab "standard": loss\.percent 200/);
  });

  it('treats an option given as undefined as not given', async () => {
    const err = await rejects(startLab('standard', { icmp: undefined, loss: { percent: 0, direction: 'both' } }));
    expect(err.message).toMatch(/loss\.percent 0/); // icmp stayed the lab's own; only loss was wrong
  });
});
