import {
  EventBus,
  eventType,
  hostDiscovered,
  portFound,
  progressUpdate,
  scanStarted,
  serviceDetected,
  stageChanged,
  type ScanEvent,
} from '@portflow/core';
import { ProgressAggregator } from '@portflow/progress';
import { consume, type SyncOp } from '../harness.js';
import type { Suite } from '../suite.js';

const B = 1024;
const N = 1 << 20;
const T0 = 1_767_225_600_000;
const STATES = ['closed', 'closed', 'closed', 'filtered', 'open'] as const;

/** What a SYN scan publishes: mostly PortFound, some hosts and services, a ProgressUpdate per 10,000. */
function scanEvents(scanId: string): ScanEvent[] {
  const out: ScanEvent[] = [];
  for (let i = 0; i < N; i++) {
    const ts = T0 + Math.floor(i / 1000);
    if (i % 10_000 === 9_999) {
      out.push(progressUpdate(scanId, ts, {
        stage: 'PortScanning', percentage: 0, completed: i, total: N * 2, inFlight: 100, retriesPending: 3, waitRemainingMs: 2000,
        counters: { packetsSent: i, packetsReceived: i >> 1, bytesSent: i * 60, retriesSent: 0, hostsCompleted: 0, hostsTotal: 256 },
        throughput: { packetsPerSec: 0, portsPerSec: 0, hostsPerMin: 0, bytesPerSec: 0 },
      }));
    } else if (i % 1000 === 0) out.push(hostDiscovered(scanId, ts, `10.0.${(i >> 8) & 255}.${i & 255}`, 'tcp-syn', 0.3));
    else if (i % 2000 === 1) out.push(serviceDetected(scanId, ts, { target: '10.0.0.1', port: 22, protocol: 'tcp', serviceName: 'ssh', confidence: 90, method: 'banner' }));
    else out.push(portFound(scanId, ts, `10.0.${(i >> 8) & 255}.${i & 255}`, 1 + (i % 65535), 'tcp', STATES[i % 5]));
  }
  return out;
}

/** The types the aggregator watches: the bare subscriber takes the same set, like for like. */
const WATCHED = eventType('ScanStarted', 'ScanCompleted', 'ScanCancelled', 'ScanPaused', 'ScanResumed', 'ScanError',
  'HostDiscovered', 'PortFound', 'IPv6PortFound', 'ServiceDetected', 'ProgressUpdate', 'StageChanged', 'WarningIssued');

function started(bus: EventBus): void {
  bus.publish(scanStarted('scan-a', T0, { scanType: 'syn', targetCount: 256, portCount: 65535, targets: ['10.0.0.0/24'], ports: '1-65535' }));
  bus.publish(stageChanged('scan-a', T0, 'PortScanning'));
}

function publisher(bus: EventBus, events: ScanEvent[]): SyncOp {
  let k = 0;
  return {
    kind: 'sync',
    batch: B,
    fn: () => {
      for (let i = 0; i < B; i++) bus.publish(events[(k + i) & (N - 1)]);
      k = (k + B) & (N - 1);
    },
  };
}

export const progressSuite: Suite = {
  name: 'progress',
  description: 'ProgressAggregator on the event path, against a bare publish to one subscriber',
  rounds: { full: 3, quick: 3 }, // its ratio's spread across processes was 9% with 5 rounds
  cases: [
    {
      id: 'progress.aggregator',
      title: 'publish through bus + ProgressAggregator (a SYN scan\'s event mix)',
      unit: 'event',
      make: () => {
        const events = scanEvents('scan-a');
        const withAgg = new EventBus();
        new ProgressAggregator(withAgg, 'scan-a');
        started(withAgg);
        const bare = new EventBus();
        bare.subscribe(WATCHED, (e) => consume(e.seq));
        started(bare);
        return { ours: publisher(withAgg, events), peers: { 'bare publish': publisher(bare, events) } };
      },
      goals: [{ kind: 'ratio', peer: 'bare publish', max: 3, text: '≤ 3× a bare publish to one subscriber' }],
      guard: ['bare publish'],
    },
    {
      id: 'progress.metrics',
      title: 'getCurrentMetrics() during a scan',
      unit: 'call',
      make: () => {
        const bus = new EventBus();
        const agg = new ProgressAggregator(bus, 'scan-a');
        started(bus);
        for (const e of scanEvents('scan-a').slice(0, 200_000)) bus.publish(e);
        return { ours: { kind: 'sync', batch: 16, fn: () => { for (let i = 0; i < 16; i++) consume(agg.getCurrentMetrics().percentage); } } };
      },
    },
  ],
};
