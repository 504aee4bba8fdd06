import * as c from '@portflow/core';
import { EventBus, type ScanEvent } from '@portflow/core';

export const SCAN = '6f1c0c2e-0c1b-4a57-9d3e-3f1f1b0e8a01';
const T = 1762689602123;

/** One event of each type, built by its factory. */
export function oneOfEach(i: number): ScanEvent[] {
  const ip = `10.0.${(i >> 8) & 255}.${i & 255}`;
  return [
    c.scanStarted(SCAN, T, { scanType: 'syn', targetCount: 256, portCount: 1000, targets: ['10.0.0.0/24'], ports: '1-1000', options: { rate: 20000 } }),
    c.scanCompleted(SCAN, T, { outcome: 'completed', targetsScanned: 256, portsScanned: 256000, openPorts: 224, hostsUp: 16, durationMs: 4012 }),
    c.scanCancelled(SCAN, T, 'user'),
    c.scanPaused(SCAN, T, 'user'),
    c.scanResumed(SCAN, T),
    c.scanError(SCAN, T, 'SocketError', 'ENOBUFS', false, { iface: 'veth0' }),
    c.scanCheckpoint(SCAN, T, { seed: 'abc', stage: 'PortScanning', lowWater: i, highWater: i + 10, configHash: 'h', completed: i }),
    c.hostDiscovered(SCAN, T, ip, 'icmp-echo', 0.4, 64),
    c.portFound(SCAN, T, ip, i & 1023, 'tcp', 'open', 'syn-ack', 64),
    c.ipv6PortFound(SCAN, T, '2001:db8::5', i & 1023, 'tcp', 'open', 'syn-ack', 64),
    c.serviceDetected(SCAN, T, { target: ip, port: 22, protocol: 'tcp', serviceName: 'ssh', product: 'OpenSSH', version: '9.2', confidence: 90, method: 'probe' }),
    c.osDetected(SCAN, T, ip, 'Linux 6.x', 90),
    c.bannerGrabbed(SCAN, T, ip, 22, 'SSH-2.0-OpenSSH_9.2p1 Debian-2'),
    c.certificateFound(SCAN, T, { target: ip, port: 443, subject: 'CN=lab', issuer: 'CN=lab', serialNumber: '01', notBefore: T, notAfter: T + 1e10, subjectAltNames: ['lab'], fingerprintSha256: 'AB', selfSigned: true }),
    c.progressUpdate(SCAN, T, { stage: 'PortScanning', percentage: 40, completed: i, total: 256000, inFlight: 100, retriesPending: 3, waitRemainingMs: 0, counters: { packetsSent: i, packetsReceived: i, bytesSent: i * 60, retriesSent: 0, hostsCompleted: 0, hostsTotal: 256 }, throughput: { packetsPerSec: 1e5, portsPerSec: 1e5, hostsPerMin: 100, bytesPerSec: 6e6 }, etaMs: 1000 }),
    c.stageChanged(SCAN, T, 'PortScanning', 'HostDiscovery'),
    c.metricRecorded(SCAN, T, 'packets_sent', i, 'packets'),
    c.warningIssued(SCAN, T, 'ICMP rate limited', ip, 161, 'ICMP_RATELIMIT'),
    c.rateLimitTriggered(SCAN, T, 15000, 20000),
    c.retryScheduled(SCAN, T, ip, i & 1023, 1, 2, 250),
  ];
}

/** 1,024 PortFound events (distinct objects, one hidden class). */
export function portFounds(n = 1024): c.PortFound[] {
  return Array.from({ length: n }, (_, i) => c.portFound(SCAN, T, `10.0.${(i >> 8) & 255}.${i & 255}`, i & 1023, 'tcp', 'open', 'syn-ack', 64));
}

/**
 * 1,024 events of all 20 types interleaved as a scan produces them: mostly
 * port results, then retries, metrics, progress, discovery and detection,
 * with every type present. Deterministic.
 */
export function scanMix(n = 1024): ScanEvent[] {
  const weights: [number, number][] = [
    [8, 560], [9, 40], [19, 80], [16, 60], [14, 40], [7, 60], [10, 50], [12, 40],
    [17, 20], [13, 20], [11, 20], [18, 10], [15, 6], [6, 6], [0, 2], [1, 2], [2, 2], [3, 2], [4, 2], [5, 2],
  ];
  const bag: number[] = [];
  for (const [id, w] of weights) for (let k = 0; k < w; k++) bag.push(id);
  let seed = 42;
  const out: ScanEvent[] = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out.push(oneOfEach(i)[bag[seed % bag.length]]);
  }
  return out;
}

/**
 * The bus under test. PORTFLOW_BENCH_INJECT=slow-bus makes every publish
 * dispatch three times: a 3× slower bus, used to prove the guard fails.
 */
export function makeBus(historySize = 1000): EventBus {
  if (process.env.PORTFLOW_BENCH_INJECT === 'slow-bus') {
    class SlowBus extends EventBus {
      override publish(e: ScanEvent): void {
        super.publish(e);
        super.publish(e);
        super.publish(e);
      }
    }
    return new SlowBus({ historySize });
  }
  return new EventBus({ historySize });
}
