import * as c from '../src/index.js';
import type { ScanEvent } from '../src/index.js';

/** One event of every type, every optional field set, plus variants with optionals absent. */
export function sampleEvents(scanId = '6f1c0c2e-0c1b-4a57-9d3e-3f1f1b0e8a01', t = 1762689602123): ScanEvent[] {
  return [
    c.scanStarted(scanId, t, { scanType: 'syn', targetCount: 256, portCount: 1000, targets: ['10.0.0.0/24'], ports: '1-1000', options: { rate: 20000, retries: 1, nested: { a: [1, 'x', null, true] } } }),
    c.scanCompleted(scanId, t + 9, { outcome: 'completed', targetsScanned: 256, portsScanned: 256000, openPorts: 224, hostsUp: 16, durationMs: 4012.5 }),
    c.scanCompleted(scanId, t + 9, { outcome: 'failed', targetsScanned: 1, portsScanned: 2, openPorts: 0, hostsUp: 0, durationMs: 3, error: 'EPERM: raw sockets need root' }),
    c.scanCancelled(scanId, t, 'user pressed Ctrl-C'),
    c.scanPaused(scanId, t, 'operator'),
    c.scanResumed(scanId, t),
    c.scanError(scanId, t, 'SocketError', 'sendmmsg failed: "ENOBUFS"\n', false, { iface: 'veth0', errno: '105' }),
    c.scanCheckpoint(scanId, t, { seed: '9e3779b97f4a7c15', shard: { index: 1, count: 4 }, stage: 'PortScanning', lowWater: 1000, highWater: 1500, configHash: 'sha256:abc', completed: 1200 }),
    c.scanCheckpoint(scanId, t, { seed: '1', stage: 'HostDiscovery', lowWater: 0, highWater: 0, configHash: 'h', completed: 0 }),
    c.hostDiscovered(scanId, t, '10.0.0.5', 'arp', 0.42, 64, 'printer.lab'),
    c.hostDiscovered(scanId, t, '2001:db8::5', 'ndp', 1),
    c.portFound(scanId, t, '10.0.0.5', 443, 'tcp', 'open', 'syn-ack', 64),
    c.portFound(scanId, t, '10.0.0.5', 53, 'udp', 'open-filtered'),
    c.ipv6PortFound(scanId, t, '2001:db8::5', 22, 'tcp', 'closed', 'reset', 63),
    c.serviceDetected(scanId, t, { target: '10.0.0.5', port: 22, protocol: 'tcp', serviceName: 'ssh', product: 'OpenSSH', version: '9.2p1', extraInfo: 'Debian 2', cpe: 'cpe:/a:openbsd:openssh:9.2p1', confidence: 95, method: 'probe' }),
    c.serviceDetected(scanId, t, { target: '10.0.0.5', port: 80, protocol: 'tcp', serviceName: 'http', confidence: 30, method: 'port-table' }),
    c.osDetected(scanId, t, '10.0.0.5', 'Linux 6.x', 92, 'Linux', 'general purpose'),
    c.osDetected(scanId, t, '10.0.0.6', 'unknown', 0),
    c.bannerGrabbed(scanId, t, '10.0.0.5', 21, '220 (vsFTPd 3.0.3)\r\n\u0000\u00ff é ☃ \ud83d\ude00'),
    c.certificateFound(scanId, t, { target: '10.0.0.5', port: 443, subject: 'CN=lab', issuer: 'CN=lab', serialNumber: '01:ab', notBefore: 1700000000000, notAfter: 1800000000000, subjectAltNames: ['lab', 'www.lab'], fingerprintSha256: 'AB:CD', selfSigned: true }),
    c.progressUpdate(scanId, t, { stage: 'PortScanning', percentage: 43.21, completed: 110000, total: 256000, inFlight: 512, retriesPending: 7, waitRemainingMs: 0, counters: { packetsSent: 111000, packetsReceived: 9000, bytesSent: 6660000, retriesSent: 1000, hostsCompleted: 100, hostsTotal: 256 }, throughput: { packetsPerSec: 210000.5, portsPerSec: 200000, hostsPerMin: 1500, bytesPerSec: 12600000 }, etaMs: 700 }),
    c.stageChanged(scanId, t, 'PortScanning', 'HostDiscovery'),
    c.stageChanged(scanId, t, 'TargetResolution'),
    c.metricRecorded(scanId, t, 'packets_sent', 1e6, 'packets'),
    c.metricRecorded(scanId, t, 'ratio', -0.5),
    c.warningIssued(scanId, t, 'ICMP rate limited by target', '10.0.0.7', 161, 'ICMP_RATELIMIT'),
    c.warningIssued(scanId, t, 'cannot resolve nosuchhost.invalid'),
    c.rateLimitTriggered(scanId, t, 15000, 20000),
    c.retryScheduled(scanId, t, '10.0.0.9', 8080, 2, 3, 250),
  ];
}
