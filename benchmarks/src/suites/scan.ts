import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveScanOptions, ScanTypeUnavailableError } from '@portflow/scanner';
import { acquireLabLock, compareScan, labSkipReason, startLab, type Lab } from '@portflow/testnet';
import type { AsyncOp } from '../harness.js';
import { hasTool, namespaceSkipReason, nmapOpen, ScanChild, timed } from '../scan-runner.js';
import { CaseUnavailable, type Suite } from '../suite.js';

/**
 * A benchmark script of another package that interleaves its own rounds and
 * prints one JSON object: run it once, then hand its rounds to the worker one
 * by one (the worker's round k reads the script's round k of each side).
 */
async function runScript<T>(script: string, args: string[], timeoutSeconds: number): Promise<T> {
  const r = await timed([process.execPath, script, ...args], timeoutSeconds);
  // exit 2: the script's own "cannot run here" (not root, a tool missing), said on its last stderr line
  if (r.code === 2) throw new CaseUnavailable(r.stderr.trim().split('\n').pop() ?? `${script} refused to run`);
  if (r.code !== 0) throw new Error(`${script} exited ${r.code}${r.code === 124 ? ' (killed by timeout)' : ''}: ${r.stderr.slice(-1000)}`);
  return JSON.parse(r.stdout) as T;
}

function replay(samples: number[]): AsyncOp {
  let k = 0;
  return {
    kind: 'async',
    n: 1,
    warmup: false,
    run: async () => {
      if (k >= samples.length) throw new Error(`the script measured ${samples.length} rounds, the worker asked for more`);
      return samples[k++];
    },
  };
}

/** Whether this build can run a SYN scan at all (before any lab is started for it). */
function synUnavailable(): string {
  try {
    resolveScanOptions({ targets: '10.20.1.1', type: 'syn' } as never);
    return '';
  } catch (e) {
    return e instanceof ScanTypeUnavailableError ? `the SYN scan is not available in this build (${e.message})` : '';
  }
}

/** The lab lock, or unavailable after `waitMs`: a lab test run elsewhere must not stall `pnpm bench` for minutes. */
async function labLock(waitMs: number): Promise<() => void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseUnavailable(`the lab lock (/tmp/portflow-lab.lock) stayed held by another run for ${waitMs / 1000} s`)), waitMs);
  });
  const acquiring = acquireLabLock(() => process.stderr.write('scan suite: waiting for the lab lock\n'));
  try {
    return await Promise.race([acquiring, timeout]);
  } catch (e) {
    void acquiring.then((release) => release()); // given up: release the lock as soon as it comes
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** What native/scripts/bench-send.mjs prints on stdout (the fields used here). */
interface SendResults {
  rounds: { ours: { pps: number }; masscan?: { pps: number }; oursWithCapture: { pps: number }; masscanWithReplies?: { pps: number } }[];
  rates: { requested: number; achievedRate: number; errorPct: number }[];
}

/** masscan's rate: above the layer-2 sender ceiling measured on these machines (~263k pps), so masscan runs flat out. */
const MASSCAN_RATE = 300_000;
// From dist/ (the suites are bundled into dist/worker.js).
const SENDER_SCRIPT = fileURLToPath(new URL('../../native/scripts/bench-send.mjs', import.meta.url));
const CONNECT_SCRIPT = fileURLToPath(new URL('../../packages/scanner/scripts/bench-connect.mjs', import.meta.url));

/** What packages/scanner/scripts/bench-connect.mjs prints on stdout (the fields used here). */
interface ConnectResults {
  nmapArgs: string;
  portflowWallMs: number[];
  portflowScanMs: number[];
  nmapWallMs: number[];
  portflowFalseOpens: number;
  nmapFalseOpens: number;
  portflowSelfConnectsSeen: number;
}

/** Issue 19 §4: a SYN scan takes at most this × (packets sent ÷ the sender's ceiling + one probe timeout). */
const EFFICIENCY_GOAL = 1.3;

/** The sender's packets per second with nothing else to do (bench-send.mjs, one 1 s round, no masscan), or why there is none. */
async function senderCeiling(): Promise<number | string> {
  if (!existsSync(SENDER_SCRIPT)) return 'native/scripts/bench-send.mjs is not in this tree';
  try {
    const out = await runScript<SendResults>(SENDER_SCRIPT, ['--rounds', '1', '--seconds', '1', '--no-masscan'], 60);
    const pps = out.rounds[0]?.ours.pps;
    return pps > 0 ? pps : 'bench-send.mjs delivered no packet';
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** wall ÷ (sent ÷ ceiling + timeout), stated against the goal. */
function efficiencyNote(wallNs: number, sent: number | undefined, timeoutMs: number | undefined, ceiling: number | string): string {
  if (typeof ceiling === 'string') return `portflow: no efficiency figure: the sender's ceiling could not be measured (${ceiling})`;
  if (sent === undefined || timeoutMs === undefined) return 'portflow: no efficiency figure: the scan did not report probes.sent and probe.timeout';
  const ideal = sent / ceiling + timeoutMs / 1000;
  const ratio = wallNs / 1e9 / ideal;
  return (
    `portflow: efficiency ${ratio.toFixed(2)}× = ${(wallNs / 1e9).toFixed(2)} s ÷ (${sent} sent ÷ ${Math.round(ceiling).toLocaleString('en')} pps, the sender's ceiling measured just before (sender only) + ${timeoutMs} ms timeout = ${ideal.toFixed(2)} s) ` +
    `(goal ≤ ${EFFICIENCY_GOAL}×: ${ratio <= EFFICIENCY_GOAL ? 'met' : 'MISSED'})`
  );
}

export const scanSuite: Suite = {
  name: 'scan',
  description: 'whole scans against nmap and masscan in the same run, interleaved, inside namespaces the suite creates (root only); wall time per scan',
  // Every measurement is a scan by a child process; the peers are other programs. Unpinned: nmap and
  // the native sender and capture threads need cores of their own.
  pin: false,
  processes: 1,
  rounds: { full: 3, quick: 2 },
  cases: [
    {
      id: 'scan.connectLoopback',
      title: 'connect scan of all 65,535 ports of a lab namespace\'s 127.0.0.1, whole process, against nmap -sT -p- -T5 --max-retries 1 (packages/scanner/scripts/bench-connect.mjs)',
      unit: 'scan',
      // bench-connect.mjs interleaves its rounds (ours, nmap, ours, nmap, ...)
      rounds: { full: 3, quick: 2 },
      make: async ({ quick }) => {
        if (!existsSync(CONNECT_SCRIPT)) throw new CaseUnavailable('packages/scanner/scripts/bench-connect.mjs is not in this tree');
        const reason = labSkipReason();
        if (reason) throw new CaseUnavailable(reason);
        const release = await labLock(120_000);
        let out: ConnectResults;
        try {
          out = await runScript<ConnectResults>(CONNECT_SCRIPT, ['--rounds', quick ? '2' : '3'], 300);
        } finally {
          release();
        }
        if (out.portflowFalseOpens !== 0) throw new Error(`portflow reported ${out.portflowFalseOpens} false open ports on a lab loopback: a correctness failure, not a figure`);
        const ms = (xs: number[]) => xs.map((x) => Math.round(x)).join(' / ');
        const notes = [
          `portflow's scans themselves (Node start excluded): ${ms(out.portflowScanMs)} ms; nmap ran as \`nmap ${out.nmapArgs}\``,
          `false opens: portflow ${out.portflowFalseOpens}, nmap ${out.nmapFalseOpens}; self-connects seen and reported closed: ${out.portflowSelfConnectsSeen}`,
        ];
        return { ours: replay(out.portflowWallMs.map((x) => x * 1e6)), peers: { 'nmap -sT': replay(out.nmapWallMs.map((x) => x * 1e6)) }, notes };
      },
      goals: [{ kind: 'ratio', peer: 'nmap -sT', max: 1.0, text: 'faster than nmap -sT -p- (≤ 1.0× its wall time), no false open' }],
    },
    {
      id: 'scan.synLab',
      title: 'SYN scan of the standard lab (a /24 routed prefix, -Pn, ~1,000 ports), against nmap -T5 --min-rate 20000 --max-retries 1 -Pn -sS and masscan',
      unit: 'scan',
      // nmap takes ~26 s here: one interleaved round keeps `pnpm bench` within its 10 minutes.
      rounds: { full: 1, quick: 1 },
      make: async () => {
        const reason = synUnavailable() || labSkipReason();
        if (reason) throw new CaseUnavailable(reason);
        const release = await labLock(120_000);
        let lab: Lab | undefined;
        let child: ScanChild | undefined;
        try {
          // The sender's ceiling on this machine now (sender only, no capture; bench-send.mjs's
          // own veth pair, under the lab lock), for the scan's efficiency figure below.
          const ceiling = await senderCeiling();
          lab = await startLab('standard');
          const l = lab;
          const truth = l.truth();
          const ports = truth.lab.scanPorts.tcp.join(',');
          const prefix = l.targets.ipv4!;
          const inScanner = (cmd: string, args: string[]) => ['ip', 'netns', 'exec', l.scanner.namespace, cmd, ...args];
          const c = new ScanChild(['ip', 'netns', 'exec', l.scanner.namespace]);
          child = c;
          const notes: string[] = [];
          const agreement = (who: string, open: string[]): void => {
            const cmp = compareScan(truth, open.map((s) => {
              const [address, port] = s.split(' ');
              return { address, protocol: 'tcp' as const, port: Number(port), state: 'open' as const };
            }), { protocol: 'tcp', addresses: l.targets.live.filter((a) => !a.includes(':')) });
            const text = cmp.agree ? `${who}: every open port, no false open` : `${who}: DISAGREES with the lab truth (open ports missed: ${cmp.missedOpen.length}, wrong states: ${cmp.wrongState.length})`;
            if (!notes.includes(text)) notes.push(text);
          };
          const ours: AsyncOp = {
            kind: 'async',
            n: 1,
            warmup: false,
            run: async () => {
              // Like for like with the peers: -Pn (every address of the /24 probed), -T5, one retry.
              const a = await c.scan({ targets: prefix, ports, type: 'syn', skipDiscovery: true, timing: 5, maxRetries: 1 });
              if ('unavailable' in a) throw new CaseUnavailable(a.unavailable);
              agreement('portflow', a.open.map(([addr, p]) => `${addr} ${p}`));
              const m = a.metrics;
              if (m['results.latency.p99'] !== undefined) {
                const p99 = m['results.latency.p99'];
                notes.push(`portflow: PortFound latency, reply captured → delivered to subscribers: p50 ${m['results.latency.p50']} ms, p99 ${p99} ms, max ${m['results.latency.max']} ms (goal p99 ≤ 100 ms: ${p99 <= 100 ? 'met' : 'MISSED'})`);
              }
              if (m['probes.sent'] !== undefined) notes.push(`portflow: ${m['probes.sent']} packets sent, final rate ${m['probe.rate']} pps, probe timeout ${m['probe.timeout']} ms`);
              notes.push(efficiencyNote(a.wallNs, m['probes.sent'], m['probe.timeout'], ceiling));
              return a.wallNs;
            },
          };
          const peers: Record<string, AsyncOp> = {};
          if (hasTool('nmap')) {
            peers['nmap -T5'] = {
              kind: 'async',
              n: 1,
              warmup: false,
              run: async () => {
                const r = await timed(inScanner('nmap', ['-T5', '--min-rate', '20000', '--max-retries', '1', '-Pn', '-sS', '-n', '-p', ports, '-oG', '-', prefix]), 300);
                if (r.code !== 0) throw new Error(`nmap -sS exited ${r.code}: ${r.stderr}`);
                agreement('nmap', nmapOpen(r.stdout));
                return r.ns;
              },
            };
          } else notes.push('nmap is not installed: no nmap peer');
          if (hasTool('masscan', '--version')) {
            peers.masscan = {
              kind: 'async',
              n: 1,
              warmup: false,
              run: async () => {
                // Under timeout: masscan may not exit inside a namespace. Its time includes its 1 s wait for late replies.
                const r = await timed(inScanner('masscan', [`-p${ports}`, prefix, '--rate', String(MASSCAN_RATE), '--wait', '1', '-oL', '-']), 120);
                if (r.code !== 0) throw new Error(`masscan exited ${r.code} (124: killed by timeout): ${r.stderr.slice(-500)}`);
                agreement(`masscan at --rate ${MASSCAN_RATE}`, [...r.stdout.matchAll(/^open tcp (\d+) (\S+)/gm)].map((m) => `${m[2]} ${m[1]}`));
                return r.ns;
              },
            };
          } else notes.push('masscan is not installed: no masscan peer');
          return {
            ours,
            peers,
            notes,
            dispose: async () => {
              await c.close();
              await l.down();
              release();
            },
          };
        } catch (e) {
          await child?.close();
          await lab?.down();
          release();
          throw e;
        }
      },
      goals: [
        { kind: 'ratio', peer: 'nmap -T5', max: 0.2, text: 'at least 5× faster than nmap -T5 --min-rate 20000 --max-retries 1 (≤ 0.2× its wall time; aim 0.125×); agreement with the lab truth is in the notes' },
      ],
    },
    {
      id: 'scan.sender',
      title: 'SYN packets delivered per second over a veth pair, counted by the receiver, against masscan on the same link (native/scripts/bench-send.mjs)',
      unit: 'packet',
      showRate: true,
      // bench-send.mjs interleaves its own rounds (ours, masscan, ours with capture; who goes first alternates).
      rounds: { full: 2, quick: 1 },
      make: async ({ quick }) => {
        if (!existsSync(SENDER_SCRIPT)) throw new CaseUnavailable('native/scripts/bench-send.mjs is not in this tree yet (the native sender\'s benchmark)');
        const notRoot = namespaceSkipReason();
        if (notRoot) throw new CaseUnavailable(notRoot);
        const rounds = quick ? 1 : 2;
        // Behind the lab lock too: a lab test's traffic on the other core would move packets/s more than anything here.
        const release = await labLock(120_000);
        let out: SendResults;
        try {
          out = await runScript<SendResults>(SENDER_SCRIPT, ['--rounds', String(rounds), '--seconds', quick ? '1' : '2'], 180);
        } finally {
          release();
        }
        const pps = (xs: (number | undefined)[]): string => xs.map((x) => (x === undefined ? '—' : Math.round(x).toLocaleString('en'))).join(' / ');
        const notes = [`the receiver answering every SYN with a RST: portflow with capture on ${pps(out.rounds.map((x) => x.oursWithCapture.pps))} packets/s, masscan ${pps(out.rounds.map((x) => x.masscanWithReplies?.pps))} (per round)`];
        for (const x of out.rates) notes.push(`rate ${x.requested.toLocaleString('en')} pps requested: ${Math.round(x.achievedRate).toLocaleString('en')} achieved (${x.errorPct.toFixed(1)}%)`);
        const peers: Record<string, AsyncOp> = {};
        // time per packet, so that ours ÷ masscan below 1 means faster, as everywhere in RESULTS.md
        if (out.rounds.every((x) => x.masscan?.pps)) peers.masscan = replay(out.rounds.map((x) => 1e9 / x.masscan!.pps));
        else notes.push('masscan is not installed: no peer');
        if (!out.rounds.every((x) => x.ours.pps > 0)) throw new Error('bench-send.mjs reported a round with no packet delivered');
        return { ours: replay(out.rounds.map((x) => 1e9 / x.ours.pps)), peers, notes };
      },
      goals: [{ kind: 'ratio', peer: 'masscan', max: 0.8, text: '≥ 1.25× masscan\'s packets per second (≤ 0.8× its time per packet)' }],
    },
  ],
};
