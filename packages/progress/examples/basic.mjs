// A scanner publishing progress with the shared model, and a screen following it.
// Run: pnpm --filter @portflow/progress build && node packages/progress/examples/basic.mjs
import { EventBus, portFound, scanCompleted, scanStarted, stageChanged } from '@portflow/core';
import { ProgressAggregator, ProgressModel, renderCompact } from '@portflow/progress';

const bus = new EventBus();
const screen = new ProgressAggregator(bus, 'scan-1');

// The scanner side: 4 hosts × 250 ports, one ProgressUpdate per simulated second.
const t0 = Date.UTC(2026, 0, 1);
const model = new ProgressModel({ stages: ['PortScanning'] });
bus.publish(scanStarted('scan-1', t0, { scanType: 'syn', targetCount: 4, portCount: 250, targets: ['192.0.2.0/30'], ports: '1-250', options: { stages: ['PortScanning'] } }));
model.start(t0);
bus.publish(stageChanged('scan-1', t0, 'PortScanning'));
model.enterStage(t0, 'PortScanning');
for (let s = 1, done = 0; done < 1000; s++) {
  const ts = t0 + s * 1000;
  done = Math.min(1000, done + 100);
  if (s === 3) bus.publish(portFound('scan-1', ts, '192.0.2.1', 22, 'tcp', 'open'));
  model.update(ts, {
    stage: 'PortScanning', completed: done, total: 1000, inFlight: 0, retriesPending: 0, waitRemainingMs: 0,
    counters: { packetsSent: done, packetsReceived: done, bytesSent: done * 60, retriesSent: 0, hostsCompleted: 0, hostsTotal: 4 },
  });
  bus.publish(model.toProgressUpdate('scan-1', ts)); // what the log records...
  console.log(renderCompact(screen.getCurrentMetrics(), { width: 72, unicode: false })[0]); // ...is what the screen shows
}
bus.publish(scanCompleted('scan-1', t0 + 11_000, { outcome: 'completed', targetsScanned: 4, portsScanned: 1000, openPorts: 1, hostsUp: 4, durationMs: 11_000 }));
const m = screen.getCurrentMetrics();
console.log(renderCompact(m, { width: 72, unicode: false })[0], `| open ports: ${m.found.openPorts}`);
screen.close();
