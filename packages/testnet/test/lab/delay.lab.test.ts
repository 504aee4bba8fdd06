import { describe, expect } from 'vitest';
import { startLab, type ProbeRequest } from '../../src/index.js';
import { labIt, mismatches, probesFor } from './check.js';

/** The smallest round trip of `count` TCP handshakes from the scanner (a closed port answers RST), in ms. */
async function minRtt(lab: Awaited<ReturnType<typeof startLab>>, address: string, count = 5): Promise<number> {
  const probes: ProbeRequest[] = Array.from({ length: count }, () => ({ address, protocol: 'tcp', port: 7 }));
  const results = await lab.probe(probes, { concurrency: 1, timeoutMs: 3000 });
  for (const r of results) expect(r.outcome, JSON.stringify(r)).toBe('refused');
  return Math.min(...results.map((r) => r.rttMs!));
}

describe('delay line', () => {
  labIt('holds every routed packet at least the configured time, per direction', async () => {
    for (const [direction, passes] of [['to-targets', 1], ['from-targets', 1], ['both', 2]] as const) {
      const lab = await startLab('unreachable', { delay: { ms: 60, direction } });
      try {
        // a lower bound is the delay line's promise (it never releases early), not a timing threshold
        expect(await minRtt(lab, '10.70.1.10')).toBeGreaterThanOrEqual(60 * passes);
        expect(await minRtt(lab, '2001:db8:70:1::a')).toBeGreaterThanOrEqual(60 * passes);
        // the router's own addresses are not behind the delay line
        expect(await minRtt(lab, lab.router.onLink4!)).toBeLessThan(60);
      } finally {
        await lab.down();
      }
    }
  });

  labIt('keeps the lab true to its truth, and loses nothing in a burst', async () => {
    const lab = await startLab('unreachable', { delay: { ms: 100, direction: 'both' } });
    try {
      const truth = lab.truth();
      const results = await lab.probe(probesFor(truth, ['10.70.1.11', '2001:db8:70:1::b']), { timeoutMs: 2000, readMs: 500 });
      expect(mismatches(truth, results)).toEqual([]);
      const burst: ProbeRequest[] = Array.from({ length: 1000 }, () => ({ address: '10.70.1.10', protocol: 'udp', port: 123 }));
      const answers = await lab.probe(burst, { concurrency: 1000, timeoutMs: 3000 });
      const outcomes: Record<string, number> = {};
      for (const r of answers) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      expect(outcomes).toEqual({ reply: 1000 });
    } finally {
      await lab.down();
    }
  });
});
