import type { AsyncOp } from '../harness.js';
import { Namespace, namespaceSkipReason, ScanChild, type ScanAnswer } from '../scan-runner.js';
import type { Suite } from '../suite.js';

/** About a second of connect scanning of a namespace loopback on these machines. */
const PORTS = 25_000;

function overheadOp(child: ScanChild, subscribers: 'none' | 'full', seen: { events: number[]; wallNs: number[] }): AsyncOp {
  // Every port closed and reported (report.closed): one PortFound per port, so the subscribers have real work.
  const options = { targets: '127.0.0.1', ports: `1-${PORTS}`, report: { closed: true, filtered: true }, seed: 7 };
  return {
    kind: 'async',
    n: PORTS,
    warmup: false, // make() runs one scan of each kind first
    run: async () => {
      const a = (await child.scan(options, subscribers)) as ScanAnswer;
      if (a.portsScanned !== PORTS) throw new Error(`scan covered ${a.portsScanned} ports of ${PORTS}`);
      if (subscribers === 'full') seen.events.push(a.events);
      seen.wallNs.push(a.wallNs);
      return a.cpuNs;
    },
  };
}

export const scanOverheadSuite: Suite = {
  name: 'scan-overhead',
  description: 'what subscribers cost a scan: the same connect scan (every port closed and reported) with no subscriber against ProgressAggregator + EventLogger + a renderer writing to /dev/null, as CPU time of the whole scanning process (all its threads), runs alternating',
  // Every run is a whole scan in a long-lived child; more worker processes would only repeat them.
  processes: 1,
  rounds: { full: 10, quick: 10 },
  cases: [
    {
      id: 'scanOverhead.subscribers',
      title: `connect scan of ${PORTS.toLocaleString('en')} closed ports of a namespace loopback, with progress + logger + renderer (peer: no subscriber)`,
      unit: 'port',
      make: async () => {
        const notes: string[] = [];
        const reason = namespaceSkipReason();
        let ns: Namespace | undefined;
        let child: ScanChild;
        if (reason) {
          // Without root: the host's own 127.0.0.1 (ports other processes listen on come out open; both sides alike).
          notes.push(`scanned the host's 127.0.0.1, not a namespace of its own (${reason})`);
          child = new ScanChild();
        } else {
          ns = new Namespace('ovh');
          child = new ScanChild(['ip', 'netns', 'exec', ns.name]);
        }
        const seen = { events: [] as number[], wallNs: [] as number[] };
        const full = overheadOp(child, 'full', seen);
        const none = overheadOp(child, 'none', seen);
        await none.run(PORTS);
        await full.run(PORTS);
        seen.events.length = 0;
        seen.wallNs.length = 0;
        return {
          ours: full,
          peers: { 'no subscriber': none },
          notes,
          dispose: async () => {
            await child.close();
            ns?.delete();
            const wall = [...seen.wallNs].sort((a, b) => a - b);
            notes.push(`${Math.min(...seen.events).toLocaleString('en')}–${Math.max(...seen.events).toLocaleString('en')} events published per scan; wall time per scan ${(wall[0] / 1e6).toFixed(0)}–${(wall[wall.length - 1] / 1e6).toFixed(0)} ms`);
          },
        };
      },
      goals: [{ kind: 'ratio', peer: 'no subscriber', max: 1.05, text: 'subscribers add < 5% CPU time (≤ 1.05× the scan with no subscriber)' }],
    },
  ],
};
