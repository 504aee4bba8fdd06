// A realistic scan's events: a SYN scan of 4,096 addresses and 1,000 ports
// with ~15% of hosts up, ~14 open and a few closed/filtered ports per live
// host, service detection and banners on the open ones, retries, progress
// every 250 ms and metrics every second, timestamps advancing as at 20k pps.
import { bannerGrabbed, hostDiscovered, metricRecorded, portFound, progressUpdate, retryScheduled, scanCompleted, scanStarted, serviceDetected, stageChanged } from '@portflow/core';

const SERVICES = [
  [22, 'ssh', 'OpenSSH', '9.2p1 Debian 2+deb12u3', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'],
  [25, 'smtp', 'Postfix smtpd', undefined, '220 mail.example.internal ESMTP Postfix (Debian/GNU)'],
  [53, 'domain', 'ISC BIND', '9.18.28', undefined],
  [80, 'http', 'nginx', '1.22.1', 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1'],
  [110, 'pop3', 'Dovecot pop3d', undefined, '+OK Dovecot (Debian) ready.'],
  [143, 'imap', 'Dovecot imapd', undefined, '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.'],
  [443, 'https', 'nginx', '1.22.1', undefined],
  [445, 'microsoft-ds', 'Samba smbd', '4.17.12', undefined],
  [3306, 'mysql', 'MariaDB', '10.11.6', '5.5.5-10.11.6-MariaDB-0+deb12u1'],
  [5432, 'postgresql', 'PostgreSQL DB', '15.8', undefined],
  [6379, 'redis', 'Redis key-value store', '7.0.15', undefined],
  [8080, 'http-proxy', 'Apache Tomcat', '10.1.6', 'HTTP/1.1 404 \r\nContent-Type: text/html;charset=utf-8'],
  [8443, 'https-alt', 'Jetty', '10.0.20', undefined],
  [9200, 'http', 'Elasticsearch REST API', '8.11.3', undefined],
];

/** Calls `emit` with each event of the scan, in order; returns how many. */
export function realisticScan(emit, { hosts = 4096, scanId = '3b9d7c2e-5f4a-4e1b-9c8d-7a6b5c4d3e2f', start = Date.UTC(2025, 10, 9, 12, 0, 0) } = {}) {
  let n = 0;
  let ts = start;
  const out = (e) => {
    n++;
    emit(e);
  };
  const total = hosts * 1000;
  let completed = 0;
  let nextProgress = ts + 250, nextMetric = ts + 1000;
  out(scanStarted(scanId, ts, { scanType: 'syn', targetCount: hosts, portCount: 1000, targets: ['10.20.0.0/20'], ports: 'top-1000', options: { rate: 20000, retries: 1, timing: 'T4' } }));
  out(stageChanged(scanId, ts, 'PortScanning', 'HostDiscovery'));
  for (let h = 0; h < hosts; h++) {
    const ip = `10.20.${h >> 8}.${h & 255}`;
    ts += 50; // 1,000 probes at 20k pps
    completed += 1000;
    const up = (h * 2654435761) % 100 < 15;
    if (up) {
      out(hostDiscovered(scanId, ts, ip, 'tcp-syn', 0.2 + (h % 17) / 10, 64, h % 3 === 0 ? `host-${h}.corp.example.internal` : undefined));
      for (const [port, name, product, version, banner] of SERVICES) {
        out(portFound(scanId, ts, ip, port, 'tcp', 'open', 'syn-ack', 64));
        out(serviceDetected(scanId, ts + 5, { target: ip, port, protocol: 'tcp', serviceName: name, product, version, cpe: product ? `cpe:/a:${product.split(' ')[0].toLowerCase()}:${product.split(' ')[0].toLowerCase()}:${version ?? ''}` : undefined, confidence: 90, method: 'probe' }));
        if (banner) out(bannerGrabbed(scanId, ts + 6, ip, port, banner));
      }
      out(portFound(scanId, ts, ip, 113, 'tcp', 'closed', 'reset', 64));
      out(portFound(scanId, ts, ip, 8888, 'tcp', 'filtered', 'no-response', undefined));
      if (h % 5 === 0) out(retryScheduled(scanId, ts, ip, 8888, 1, 2, 500));
    }
    while (ts >= nextProgress) {
      const pct = Math.floor((completed / total) * 100);
      out(progressUpdate(scanId, nextProgress, { stage: 'PortScanning', percentage: pct, completed, total, inFlight: 512, retriesPending: h % 40, waitRemainingMs: 0, counters: { packetsSent: completed + (h >> 2), packetsReceived: completed >> 3, bytesSent: completed * 58, retriesSent: h >> 2, hostsCompleted: h, hostsTotal: hosts }, throughput: { packetsPerSec: 20000, portsPerSec: 20000, hostsPerMin: 1200, bytesPerSec: 1_160_000 }, etaMs: Math.round(((total - completed) / 20000) * 1000) }));
      nextProgress += 250;
    }
    while (ts >= nextMetric) {
      out(metricRecorded(scanId, nextMetric, 'rtt_p50_ms', 0.4 + (h % 7) / 10, 'ms'));
      out(metricRecorded(scanId, nextMetric, 'send_queue_depth', 512 - (h % 64), undefined));
      nextMetric += 1000;
    }
  }
  out(scanCompleted(scanId, ts, { outcome: 'completed', targetsScanned: hosts, portsScanned: total, openPorts: Math.round(hosts * 0.15) * 14, hostsUp: Math.round(hosts * 0.15), durationMs: ts - start }));
  return n;
}
