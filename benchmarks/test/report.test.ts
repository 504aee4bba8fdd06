import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderSvg, type Results } from '../src/report.js';
import { toleranceFor } from '../src/baseline.js';
import { median, quantile } from '../src/harness.js';

const results: Results = {
  date: '2026-11-23T12:00:00.000Z',
  machine: { cpu: 'Test CPU', cores: 2, kernel: '6.18', node: 'v20.20.2', machineClass: 'Test CPU x2' },
  quick: false,
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
  ],
};

describe('report', () => {
  it('states machine, figures with spread, ratios and goals met or missed in plain words', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| CPU | Test CPU |');
    expect(md).toContain('node:events: **0.71×** (0.70–0.75)');
    expect(md).toContain('| publish.oneSub | ≤ 0.8× node:events | 0.71× | met |');
    expect(md).toContain('| stream.e2e | ≤ 340 ns per event | 400.0 ns | **missed** |');
    expect(md).toContain('Missed in this run: stream.e2e: ≤ 340 ns per event');
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
