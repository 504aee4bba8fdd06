#!/usr/bin/env node
// Cost of the ProgressAggregator on the event path, against a bare publish to
// one subscriber, in one process and one run (absolute figures drift between
// machines; the ratio is what to compare). Also the cost of getCurrentMetrics().
// Usage: pnpm --filter @portflow/progress build && node packages/progress/scripts/bench-hot-path.mjs [--json]
import { EventBus, eventType, hostDiscovered, portFound, progressUpdate, scanStarted, serviceDetected, stageChanged } from '@portflow/core';
import { ProgressAggregator } from '../dist/index.js';

const N = 1_000_000; // events per timed pass
const ROUNDS = 7;
const T0 = 1_767_225_600_000;
const PORT_STATES = ['closed', 'closed', 'closed', 'filtered', 'open'];

/** The hot-path mix a SYN scan publishes: mostly PortFound, some hosts and services, a ProgressUpdate per 10,000. */
function buildEvents(scanId) {
  const events = [];
  for (let i = 0; i < N; i++) {
    const ts = T0 + Math.floor(i / 1000);
    if (i % 10_000 === 9_999) {
      events.push(progressUpdate(scanId, ts, {
        stage: 'PortScanning', percentage: 0, completed: i, total: N * 2, inFlight: 100, retriesPending: 3, waitRemainingMs: 2000,
        counters: { packetsSent: i, packetsReceived: i >> 1, bytesSent: i * 60, retriesSent: 0, hostsCompleted: 0, hostsTotal: 256 },
        throughput: { packetsPerSec: 0, portsPerSec: 0, hostsPerMin: 0, bytesPerSec: 0 },
      }));
    } else if (i % 1000 === 0) events.push(hostDiscovered(scanId, ts, `10.0.${(i >> 8) & 255}.${i & 255}`, 'tcp-syn', 0.3));
    else if (i % 2000 === 1) {
      events.push(serviceDetected(scanId, ts, { target: '10.0.0.1', port: 22, protocol: 'tcp', serviceName: 'ssh', confidence: 90, method: 'banner' }));
    } else events.push(portFound(scanId, ts, `10.0.${(i >> 8) & 255}.${i & 255}`, 1 + (i % 65535), 'tcp', PORT_STATES[i % 5]));
  }
  return events;
}

const WATCHED = eventType('ScanStarted', 'ScanCompleted', 'ScanCancelled', 'ScanPaused', 'ScanResumed', 'ScanError',
  'HostDiscovered', 'PortFound', 'IPv6PortFound', 'ServiceDetected', 'ProgressUpdate', 'StageChanged', 'WarningIssued');

function setup(kind) {
  const bus = new EventBus();
  let sink = 0;
  let agg = null;
  if (kind === 'bare') bus.subscribe(WATCHED, () => { sink++; });
  else if (kind === 'aggregator') agg = new ProgressAggregator(bus, 'scan-a');
  else agg = ProgressAggregator.global(bus);
  bus.publish(scanStarted('scan-a', T0, { scanType: 'syn', targetCount: 256, portCount: 65535, targets: ['10.0.0.0/24'], ports: '1-65535' }));
  bus.publish(stageChanged('scan-a', T0, 'PortScanning'));
  return { bus, agg, sink: () => sink };
}

function timePublish(kind, events) {
  const { bus, agg } = setup(kind);
  const t = process.hrtime.bigint();
  for (let i = 0; i < events.length; i++) bus.publish(events[i]);
  const ns = Number(process.hrtime.bigint() - t) / events.length;
  return { ns, agg };
}

function timeMetrics(agg, n = 20_000) {
  let x = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x += agg.getCurrentMetrics().percentage;
  return { ns: Number(process.hrtime.bigint() - t) / n, x };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const events = buildEvents('scan-a');
// Warm-up: every path JIT-compiled before anything is timed.
for (const k of ['bare', 'aggregator', 'global']) timePublish(k, events.slice(0, 200_000));

const res = { bare: [], aggregator: [], global: [], metrics: [], metricsGlobal: [] };
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved so that drift (thermal, other load) hits every variant alike.
  for (const k of ['bare', 'aggregator', 'global']) {
    const { ns, agg } = timePublish(k, events);
    res[k].push(ns);
    if (k === 'aggregator') res.metrics.push(timeMetrics(agg).ns);
    if (k === 'global') res.metricsGlobal.push(timeMetrics(agg).ns);
  }
}
const out = {
  node: process.version,
  eventsPerPass: N,
  rounds: ROUNDS,
  nsPerEvent: { bare: median(res.bare), aggregator: median(res.aggregator), global: median(res.global) },
  ratio: { aggregator: median(res.aggregator) / median(res.bare), global: median(res.global) / median(res.bare) },
  eventsPerSec: { bare: 1e9 / median(res.bare), aggregator: 1e9 / median(res.aggregator), global: 1e9 / median(res.global) },
  getCurrentMetricsNs: { oneScan: median(res.metrics), global1Scan: median(res.metricsGlobal) },
};
if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  const f = (x) => x.toFixed(1);
  console.log(`node ${out.node}, ${N.toLocaleString('en')} events per pass, median of ${ROUNDS} interleaved rounds`);
  console.log(`bare publish, 1 subscriber:   ${f(out.nsPerEvent.bare)} ns/event  (${(out.eventsPerSec.bare / 1e6).toFixed(1)}M events/s)`);
  console.log(`bus + ProgressAggregator:     ${f(out.nsPerEvent.aggregator)} ns/event  (${(out.eventsPerSec.aggregator / 1e6).toFixed(1)}M events/s)  ratio ${out.ratio.aggregator.toFixed(2)}x  (goal <= 3x)`);
  console.log(`bus + global aggregator:      ${f(out.nsPerEvent.global)} ns/event  (${(out.eventsPerSec.global / 1e6).toFixed(1)}M events/s)  ratio ${out.ratio.global.toFixed(2)}x`);
  console.log(`getCurrentMetrics(): one scan ${(out.getCurrentMetricsNs.oneScan / 1000).toFixed(2)} us, global (1 scan) ${(out.getCurrentMetricsNs.global1Scan / 1000).toFixed(2)} us`);
}
