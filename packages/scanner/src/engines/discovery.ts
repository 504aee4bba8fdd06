// Host discovery, as nmap does it for a privileged user: on-link targets by
// ARP (IPv4) or NDP (IPv6) — an answer is authoritative either way — and the
// others by the probe engine's discovery mode (ICMP echo, ICMP timestamp, TCP
// SYN to 443, TCP ACK to 80 by default). Any answer from the host itself makes
// it up: an echo or timestamp reply, a SYN-ACK or RST, or an ICMP error the
// host itself sent about our probe. A host whose every probe ended unanswered
// (after the retries) is down. Without raw privileges, TCP connects to 443 and
// 80 stand in (connect-ping.ts).
import { RecordKind, RecordOffset, RECORD_SIZE, bytesToIp, type DiscoveryMethod as NativeDiscoveryMethod, type ProbeEngineOptions, type RecordBatch } from '@portflow/native';
import type { DiscoveryMethod } from '@portflow/core';
import { buildTargetSet, parseTargets, type TargetSet } from '../targets.js';
import { createScanJob } from '../job.js';
import { PortSet } from '../ports.js';
import type { ScanControl } from '../scan-control.js';
import type { DiscoveryProbeOption } from '../scan-options.js';
import type { ResolvedTiming } from '../timing.js';
import type { RateController } from '../rate-control.js';
import type { PreparedLink, ProbeBackend, ProbeEngineHandle } from './probe-backend.js';

const ICMP_ECHO_REPLY = 0;
const ICMP_TIMESTAMP_REPLY = 14;
const ICMP6_ECHO_REPLY = 129;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const TCP_RST = 0x04;
const PROTO_TCP = 6;

export interface DiscoverySink {
  /** A host answered (once per host). latencyMs 0: not measured (no echoed send time). */
  up(address: string, method: DiscoveryMethod, latencyMs: number, ttl: number | undefined, ts: number): void;
  /** A host ended without any answer. */
  down(address: string): void;
}

export interface DiscoveryRun {
  readonly backend: ProbeBackend;
  readonly link: PreparedLink;
  readonly targets: TargetSet;
  readonly methods: readonly DiscoveryProbeOption[];
  readonly timing: ResolvedTiming;
  readonly rate: RateController;
  readonly control: ScanControl;
  readonly seed: bigint;
  readonly sourcePortCount: number;
  readonly sink: DiscoverySink;
}

export interface DiscoveryFigures {
  engine: { sent: number; retries: number; matched: number } | undefined;
}

/**
 * Discovers the live hosts of `targets`; resolves with the figures when every host is
 * final (or the scan was cancelled).
 */
export async function discoverHosts(r: DiscoveryRun): Promise<DiscoveryFigures> {
  const ts = Date.now();
  const onLink = new Set(r.link.asked);
  for (const n of r.link.neighbors) r.sink.up(n.address, n.address.includes(':') ? 'ndp' : 'arp', round3(n.latencyMs), undefined, ts);
  const answered = new Set(r.link.neighbors.map((n) => n.address));
  for (const a of onLink) if (!answered.has(a)) r.sink.down(a);
  // The rest: the probe engine's discovery mode over a job whose "ports" are the methods.
  let rest = r.targets;
  if (onLink.size > 0) rest = buildTargetSet(parseTargets(r.targets.toSpecs(), 'targets'), parseTargets([...onLink], 'on-link targets'));
  if (rest.size === 0n || r.control.cancelled) return { engine: undefined };
  return runEngine(r, rest);
}

async function runEngine(r: DiscoveryRun, targets: TargetSet): Promise<DiscoveryFigures> {
  const methods = r.methods;
  const job = createScanJob({ targets, ports: new PortSet([[1, methods.length]], []), seed: r.seed, order: 'random' });
  const synPort = methods.find((m) => m.method === 'tcp-syn')?.port ?? -1;
  const ackPort = methods.find((m) => m.method === 'tcp-ack')?.port ?? -1;
  const up = new Set<string>();
  const unanswered = new Map<string, number>();
  const per = methods.length;
  const hostOf = (b: Uint8Array, off: number) => bytesToIp(b, off + RecordOffset.addr, b[off + RecordOffset.family] as 4 | 6);

  const onReply = (batch: RecordBatch) => {
    const b = batch.bytes, v = batch.view;
    const ts = Date.now();
    const end = (batch.start + batch.count) * RECORD_SIZE;
    for (let off = batch.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      const kind = b[off + RecordOffset.kind];
      const family = b[off + RecordOffset.family];
      if (family !== 4 && family !== 6) continue;
      let method: DiscoveryMethod | undefined;
      if (kind === RecordKind.IcmpReply) {
        const t = b[off + RecordOffset.icmpType];
        method = t === ICMP_TIMESTAMP_REPLY && family === 4 ? 'icmp-timestamp' : t === ICMP_ECHO_REPLY || t === ICMP6_ECHO_REPLY ? 'icmp-echo' : undefined;
      } else if (kind === RecordKind.TcpReply) {
        const port = v.getUint16(off + RecordOffset.port, true);
        const f = b[off + RecordOffset.tcpFlags];
        if (port === synPort && (f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) method = 'tcp-syn';
        else if (f & TCP_RST) method = port === ackPort ? 'tcp-ack' : port === synPort ? 'tcp-syn' : undefined;
      } else if (kind === RecordKind.IcmpError) {
        // Only the host's own error (port or protocol unreachable) proves it is there; a router's does not.
        const n = family === 4 ? 4 : 16;
        let self = true;
        for (let i = 0; i < n; i++) if (b[off + RecordOffset.addr + i] !== b[off + RecordOffset.reporter + i]) self = false;
        if (self) method = b[off + RecordOffset.proto] === PROTO_TCP ? (v.getUint16(off + RecordOffset.port, true) === ackPort ? 'tcp-ack' : 'tcp-syn') : 'icmp-echo';
      }
      if (method === undefined) continue;
      const address = hostOf(b, off);
      if (up.has(address)) continue;
      up.add(address);
      const echoed = v.getUint32(off + RecordOffset.echoedSend, true);
      let latency = 0;
      if (echoed !== 0) {
        const nowUs = v.getFloat64(off + RecordOffset.timeMs, true) * 1000;
        latency = (((Math.floor(nowUs) % 2 ** 32) - echoed + 2 ** 32) % 2 ** 32) / 1000;
        if (latency > 60_000) latency = 0; // a wrapped or garbage echo: not a measurement
      }
      r.sink.up(address, method, round3(latency), b[off + RecordOffset.ttl], ts);
    }
  };
  const onOutcome = (batch: RecordBatch) => {
    const b = batch.bytes;
    const end = (batch.start + batch.count) * RECORD_SIZE;
    for (let off = batch.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
      if (b[off + RecordOffset.kind] !== RecordKind.NoAnswer) continue;
      const family = b[off + RecordOffset.family];
      if (family !== 4 && family !== 6) continue;
      const address = hostOf(b, off);
      if (up.has(address)) continue;
      const n = (unanswered.get(address) ?? 0) + 1;
      // IPv6 has no ICMP timestamp: the engine ends that probe at once, as unanswered.
      if (n >= per) {
        unanswered.delete(address);
        r.sink.down(address);
      } else unanswered.set(address, n);
    }
  };

  const t = r.timing;
  const options: ProbeEngineOptions = {
    mode: 'discovery',
    job: job.jobLayout(0),
    link: r.link.plan,
    sourcePorts: r.backend.chooseSourcePorts(r.sourcePortCount),
    rate: r.rate.rate,
    maxRetries: t.maxRetries,
    initialRttMs: t.initialRttMs,
    minRttMs: t.minRttMs,
    maxRttMs: t.maxRttMs,
    window: t.window,
    discovery: methods.map((m) => ({ method: m.method as NativeDiscoveryMethod, port: m.port })),
    lingerMs: 250,
  };
  const engine: ProbeEngineHandle = r.backend.createProbeEngine(options, onReply, onOutcome);
  const off = r.control.onChange((state) => {
    if (state === 'paused') engine.pause();
    else if (state === 'running') engine.resume();
    else void engine.stop();
  });
  try {
    engine.start();
    if (r.control.paused) engine.pause();
    if (r.control.cancelled) await engine.stop();
    await engine.done;
    engine.replies.drain(onReply);
    engine.outcomes.drain(onOutcome);
    // Hosts whose NoAnswer records were lost to a full ring: no answer was seen, so down.
    if (!r.control.cancelled) for (const a of unanswered.keys()) r.sink.down(a);
    const c = engine.counters();
    return { engine: { sent: c.sent, retries: c.retries, matched: c.matched } };
  } finally {
    off();
    await engine.stop();
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
