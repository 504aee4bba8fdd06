import { bench, benchJobMap } from '@portflow/native';
import { createScanJob, parsePorts, parseTargets, buildTargetSet } from '@portflow/scanner';
import { consume, hrnow, type AsyncOp } from '../harness.js';
import type { Suite } from '../suite.js';

/**
 * The native loops time themselves (native/ts/bench.ts): an operation here is
 * one call over `n` packets or records, and the figure is the time it reports.
 * No peers: there is no same-run equivalent to compare with (a JS packet
 * parser would be a peer we wrote ourselves), so these are absolute figures,
 * reported and never guarded.
 */
function nativeLoop(n: number, nsPerOp: (count: number) => number): AsyncOp {
  return { kind: 'async', n, run: async (count) => nsPerOp(count) * count };
}

export const nativeSuite: Suite = {
  name: 'native',
  description: 'the addon\'s hot loops on native threads (absolute figures; no same-run peer exists, so nothing here is guarded)',
  // The ring cases run two threads (producer and consumer): pinned to one core they would take turns.
  pin: false,
  rounds: { full: 3, quick: 3 },
  cases: [
    {
      id: 'native.craftSyn',
      title: 'IPv4 SYN crafted (Ethernet + Linux options, 256 template slots patched in place)',
      unit: 'packet',
      showRate: true,
      make: ({ quick }) => ({ ours: nativeLoop(quick ? 5e6 : 1e7, (c) => bench.craftSyn(c)) }),
    },
    {
      id: 'native.parse',
      title: 'frame parsed (SYN-ACK with options / RST / ICMP port unreachable, checksums verified)',
      unit: 'packet',
      showRate: true,
      make: ({ quick }) => ({ ours: nativeLoop(quick ? 2e6 : 5e6, (c) => bench.parse(c)) }),
    },
    {
      id: 'native.jobMap',
      title: 'probe generated: scan job position → (address, port), random order, 10.0.0.0/8 × TCP 1-65535',
      unit: 'probe',
      showRate: true,
      make: ({ quick }) => ({ ours: nativeLoop(quick ? 5e6 : 1e7, (c) => benchJobMap(c, false)) }),
    },
    {
      id: 'native.jobPullJs',
      title: 'probe handed to JS: nextBatch(4096) + markDoneRange + reading each port, same job',
      unit: 'probe',
      showRate: true,
      make: ({ quick }) => {
        const job = createScanJob({ targets: buildTargetSet(parseTargets('10.0.0.0/8')), ports: parsePorts('1-65535'), seed: 42n });
        const batch = job.createBatch(4096);
        const op: AsyncOp = {
          kind: 'async',
          n: quick ? 2e6 : 4e6,
          run: async (count) => {
            let sink = 0;
            const t0 = hrnow();
            for (let done = 0; done < count; done += batch.size) {
              job.nextBatch(batch);
              job.markDoneRange(batch.start, batch.size);
              for (let i = 0; i < batch.size; i++) sink += batch.port(i);
            }
            const ns = Number(hrnow() - t0);
            consume(sink);
            return ns;
          },
        };
        return { ours: op };
      },
    },
    {
      id: 'native.ringNativeToNative',
      title: 'ring record, native producer → native consumer thread (published every 256)',
      unit: 'record',
      showRate: true,
      make: ({ quick }) => ({ ours: nativeLoop(quick ? 5e6 : 1e7, (c) => 1e9 / bench.ringNativeToNative(c)) }),
    },
    {
      id: 'native.ringToJs',
      title: 'ring record, native producer → JS drain (two fields read per record in place)',
      unit: 'record',
      showRate: true,
      make: ({ quick }) => ({
        ours: nativeLoop(quick ? 2e6 : 5e6, (c) => {
          const f = bench.ringToJs(c);
          if (f.delivered !== c) throw new Error(`ringToJs delivered ${f.delivered} of ${c} records (overflow ${f.overflow}): the figure would be invalid`);
          return 1e9 / f.recordsPerSecond;
        }),
      }),
    },
  ],
};
