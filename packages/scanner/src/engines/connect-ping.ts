// Host discovery without raw privileges, as nmap does for an unprivileged
// user: a TCP connect to port 80 and to port 443 of each target. Connected
// or refused (ECONNREFUSED: the host sent a RST) means up, with the connect
// time as latency; a host whose connects all time out (or end in an ICMP
// unreachable about it) is down. At most `concurrency` connects in flight,
// each bounded by a timeout, so the run always ends.
import { Socket } from 'node:net';
import type { ScanControl } from '../scan-control.js';
import type { TargetSet } from '../targets.js';
import type { DiscoverySink } from './discovery.js';
import { walkAddresses } from './probe-backend.js';

/** nmap's unprivileged discovery ports. */
export const CONNECT_PING_PORTS = [80, 443] as const;
/** Most addresses a connect ping walks (each needs two sockets, in batches). */
export const MAX_CONNECT_PING_TARGETS = 1 << 20;

export interface ConnectPingRun {
  readonly targets: TargetSet;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly concurrency: number;
  readonly control: ScanControl;
  readonly sink: DiscoverySink;
}

/** One connect: 'up' (connected or refused) with the time it took, or 'silent'. */
function probe(address: string, port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = new Socket();
    const done = (up: boolean) => {
      clearTimeout(timer);
      s.removeAllListeners();
      s.on('error', () => {});
      s.destroy();
      resolve(up ? performance.now() - t0 : -1);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET'));
    s.connect(port, address);
  });
}

/** Discovers `targets` by TCP connects; resolves when every host is final or the scan is cancelled. */
export async function connectPing(r: ConnectPingRun): Promise<void> {
  if (r.targets.size > BigInt(MAX_CONNECT_PING_TARGETS)) {
    throw new RangeError(`connect ping: ${r.targets.size} targets is more than ${MAX_CONNECT_PING_TARGETS}; scan smaller ranges, run as root for raw discovery, or skip discovery (skipDiscovery: true, nmap -Pn)`);
  }
  const it = walkAddresses(r.targets, MAX_CONNECT_PING_TARGETS);
  const worker = async () => {
    for (;;) {
      if (r.control.cancelled) return;
      if (r.control.paused) await new Promise<void>((res) => r.control.whenRunnable(res));
      const next = it.next();
      if (next.done) return;
      const address = next.value;
      let latency = -1;
      for (let attempt = 0; attempt <= r.retries && latency < 0 && !r.control.cancelled; attempt++) {
        const answers = await Promise.all(CONNECT_PING_PORTS.map((p) => probe(address, p, r.timeoutMs)));
        const got = answers.filter((a) => a >= 0);
        if (got.length > 0) latency = Math.min(...got);
      }
      if (latency >= 0) r.sink.up(address, 'connect', Math.round(latency * 1000) / 1000, undefined, Date.now());
      else if (!r.control.cancelled) r.sink.down(address);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, r.concurrency) }, worker));
}
