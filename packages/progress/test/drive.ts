import { EventBus, type ScanEvent } from '@portflow/core';
import { ProgressAggregator, type ProgressAggregatorOptions, type ProgressMetrics } from '../src/index.js';
import type { Sim } from './simulate.js';

/** Publishes a simulated scan through a bus into an aggregator; returns the metrics right after each of `sim.points`. */
export function drive(sim: Sim, options: ProgressAggregatorOptions = {}): ProgressMetrics[] {
  const bus = new EventBus({ historySize: 0 });
  let now = sim.events[0].timestamp;
  const agg = new ProgressAggregator(bus, sim.scanId, { clock: () => now, ...options });
  const out: ProgressMetrics[] = [];
  let p = 0;
  for (let i = 0; i < sim.events.length; i++) {
    const e: ScanEvent = sim.events[i];
    now = e.timestamp;
    bus.publish(e);
    if (p < sim.points.length && sim.points[p].index === i) {
      out.push(agg.getCurrentMetrics());
      p++;
    }
  }
  agg.close();
  return out;
}

/** The metrics after every event of the scan (ScanCompleted included). */
export function finalMetrics(sim: Sim, options: ProgressAggregatorOptions = {}): ProgressMetrics {
  const bus = new EventBus({ historySize: 0 });
  const agg = new ProgressAggregator(bus, sim.scanId, { clock: () => sim.endTs, ...options });
  for (const e of sim.events) bus.publish(e);
  return agg.getCurrentMetrics();
}
