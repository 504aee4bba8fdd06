import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/latency-histogram.js';

describe('LatencyHistogram', () => {
  it('gives quantiles to 0.1 ms, capped at the largest sample', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.99)).toBe(0);
    for (let i = 1; i <= 1000; i++) h.add(i / 10); // 0.1 … 100 ms
    expect(h.count).toBe(1000);
    expect(h.quantile(0.5)).toBeCloseTo(50.1, 5);
    expect(h.quantile(0.99)).toBeCloseTo(99.1, 5);
    expect(h.quantile(1)).toBe(100);
    expect(h.maxMs).toBe(100);
  });

  it('keeps samples past 10 s in the last bucket and clamps negative ones (clock steps) to 0', () => {
    const h = new LatencyHistogram();
    h.add(-3);
    h.add(25_000);
    expect(h.quantile(0.5)).toBeCloseTo(0.1, 5);
    expect(h.quantile(1)).toBe(25_000);
  });
});
