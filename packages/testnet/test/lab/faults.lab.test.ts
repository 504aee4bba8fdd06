import { describe, expect } from 'vitest';
import { NFT_TABLE, startLab, type ProbeRequest } from '../../src/index.js';
import { run } from '../../src/run.js';
import { labIt, mismatches } from './check.js';

/** 10.70.1.10 is host 0 of the unreachable lab: UDP 123 answers every datagram, UDP 1000-1299 are closed. */
const HOST = '10.70.1.10';
const closedUdp = (n: number): ProbeRequest[] => Array.from({ length: n }, (_, i) => ({ address: HOST, protocol: 'udp', port: 1000 + i }));
const echoes = (n: number): ProbeRequest[] => Array.from({ length: n }, () => ({ address: HOST, protocol: 'udp', port: 123 }));

describe('ICMP rate limits', () => {
  labIt('lifted: every probe of a closed UDP port gets its port unreachable', async () => {
    const lab = await startLab('unreachable', { icmp: 'lifted' });
    try {
      const results = await lab.probe(closedUdp(300), { concurrency: 300 });
      expect(results.filter((r) => r.outcome === 'refused')).toHaveLength(300);
      expect(mismatches(lab.truth(), results)).toEqual([]);
    } finally {
      await lab.down();
    }
  });

  labIt("default: the kernel's limits swallow most port unreachables, and the truth allows it", async () => {
    const lab = await startLab('unreachable', { icmp: 'default' });
    try {
      const sysctl = await run('ip', ['netns', 'exec', lab.plan.names.targets[0], 'sysctl', '-n', 'net.ipv4.icmp_ratelimit', 'net.ipv4.icmp_msgs_burst']);
      expect(sysctl.split('\n').slice(0, 2)).toEqual(['1000', '50']);
      const results = await lab.probe(closedUdp(300), { concurrency: 300 });
      const refused = results.filter((r) => r.outcome === 'refused').length;
      console.log(`[testnet lab] icmp default: ${refused} of 300 closed-port probes answered`);
      // burst 6 per peer at 1 s intervals: a handful within the probe window, far from 300
      expect(refused).toBeGreaterThan(0);
      expect(refused).toBeLessThan(60);
      expect(mismatches(lab.truth(), results)).toEqual([]);
    } finally {
      await lab.down();
    }
  });
});

describe('packet loss', () => {
  for (const direction of ['to-targets', 'from-targets'] as const) {
    labIt(`drops about the configured share ${direction}`, async () => {
      const lab = await startLab('unreachable', { loss: { percent: 30, direction } });
      try {
        const results = await lab.probe(echoes(600), { concurrency: 100, timeoutMs: 1000 });
        const answered = results.filter((r) => r.outcome === 'reply').length;
        console.log(`[testnet lab] 30% loss ${direction}: ${answered} of 600 request/reply pairs completed`);
        // binomial(600, 0.7): mean 420, sd 11; these bounds are 8 sd wide
        expect(answered).toBeGreaterThan(330);
        expect(answered).toBeLessThan(510);
        const counters = await run('ip', ['netns', 'exec', lab.router.namespace, 'nft', 'list', 'table', 'inet', NFT_TABLE]);
        expect(counters).toMatch(/numgen random mod 10000 < 3000 drop/);
      } finally {
        await lab.down();
      }
    });
  }
});

describe('rate shaping', () => {
  labIt('puts a tbf on the router and still passes traffic', async () => {
    const lab = await startLab('unreachable', { rate: { kbit: 2000, direction: 'both' } });
    try {
      const qdiscs = await run('tc', ['-n', lab.router.namespace, 'qdisc', 'show']);
      expect(qdiscs.match(/qdisc tbf .* rate 2Mbit burst 32Kb/g)).toHaveLength(2);
      const results = await lab.probe(echoes(20), { concurrency: 1 });
      expect(results.every((r) => r.outcome === 'reply')).toBe(true);
    } finally {
      await lab.down();
    }
  });
});
