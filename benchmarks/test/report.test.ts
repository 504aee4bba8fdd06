import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderSvg, type Results } from '../src/report.js';
import { toleranceFor } from '../src/baseline.js';
import { median, quantile } from '../src/harness.js';

const results: Results = {
  date: '2026-11-23T12:00:00.000Z',
  machine: { cpu: 'Test CPU', cores: 2, kernel: '6.18', node: 'v20.20.2', machineClass: 'Test CPU x2' },
  quick: false,
  load: { start: 0.5, end: 4.25 },
  suites: [
    {
      suite: 'event-bus',
      processes: 5,
      cases: [
        {
          id: 'publish.oneSub', title: 'publish to one subscriber', unit: 'event', oursNs: 10, oursMin: 9, oursMax: 11,
          peersNs: { 'node:events': 14 }, ratios: [{ peer: 'node:events', median: 0.71, min: 0.7, max: 0.75, spread: 0.07 }],
          goals: [{ kind: 'ratio', peer: 'node:events', max: 0.8, text: '≤ 0.8× node:events', actual: 0.71, met: true }],
          guard: ['node:events'],
        },
        {
          id: 'stream.e2e', title: 'stream', unit: 'event', oursNs: 400, oursMin: 380, oursMax: 420, peersNs: {}, ratios: [],
          goals: [{ kind: 'maxNs', max: 340, text: '≤ 340 ns per event', actual: 400, met: false }], guard: [],
        },
      ],
    },
    {
      suite: 'scan',
      processes: 1,
      cases: [
        {
          id: 'scan.connectLoopback', title: 'connect scan of a loopback', unit: 'scan', oursNs: 2.5e9, oursMin: 2.4e9, oursMax: 2.6e9,
          peersNs: { 'nmap -sT': 2e9 }, ratios: [{ peer: 'nmap -sT', median: 1.25, min: 1.2, max: 1.3, spread: 0.08 }],
          goals: [{ kind: 'ratio', peer: 'nmap -sT', max: 1, text: 'faster than nmap -sT', actual: 1.25, met: false }],
          guard: [], notes: ['nmap\'s false opens: none'],
        },
        {
          id: 'scan.synLab', title: 'SYN scan of the standard lab', unit: 'scan', oursNs: Number.NaN, oursMin: Number.NaN, oursMax: Number.NaN,
          peersNs: {}, ratios: [], guard: [], unavailable: 'the SYN scan is not available in this build',
          goals: [{ kind: 'ratio', peer: 'nmap -T5', max: 0.2, text: '≥ 5× faster than nmap', actual: Number.NaN, met: false, notMeasured: true }],
        },
      ],
    },
    {
      suite: 'native',
      processes: 5,
      cases: [
        { id: 'native.craftSyn', title: 'SYN crafted', unit: 'packet', oursNs: 12.5, oursMin: 10, oursMax: 20, peersNs: {}, ratios: [], goals: [], guard: [], showRate: true },
      ],
    },
  ],
};

describe('report', () => {
  it('states machine, figures with spread, ratios and goals met or missed in plain words', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| CPU | Test CPU |');
    expect(md).toContain('| load average (1 min) at start / end | 0.50 / 4.25 |');
    expect(md).toContain('node:events: **0.71×** (0.70–0.75)');
    expect(md).toContain('| publish.oneSub | ≤ 0.8× node:events | 0.71× | met |');
    expect(md).toContain('| stream.e2e | ≤ 340 ns per event | 400.0 ns | **missed** |');
    expect(md).toContain('Missed in this run: stream.e2e: ≤ 340 ns per event; scan.connectLoopback: faster than nmap -sT.');
    // a case that cannot run here is said to be unavailable, its goal neither met nor missed
    expect(md).toContain('| SYN scan of the standard lab | not available here: the SYN scan is not available in this build | — | — |');
    expect(md).toContain('| scan.synLab | ≥ 5× faster than nmap | — | not measured (not available here) |');
    expect(md).toContain("- scan.connectLoopback: nmap's false opens: none");
    expect(md).toContain('2.50 s per scan');
    expect(md).toContain('12.5 ns per packet (10.0 ns–20.0 ns), 80.0M/s (50.0M/s–100.0M/s)');
    expect(renderSvg(results)).toMatch(/^<svg[^>]*>.*publish\.oneSub: portflow.*<\/svg>\n$/s);
  });

  it('derives tolerances from the measured spread, with a floor', () => {
    expect(toleranceFor(0.01)).toBe(0.5);
    expect(toleranceFor(0.2)).toBeCloseTo(0.6);
    expect(toleranceFor(0.9)).toBe(1.0);
  });

  it('computes medians and quantiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
  });
});
