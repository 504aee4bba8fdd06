import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveScanOptions, ScanTypeUnavailableError } from '@portflow/scanner';
import { acquireLabLock, compareScan, labSkipReason, startLab, type Lab } from '@portflow/testnet';
import type { AsyncOp } from '../harness.js';
import { hasTool, Namespace, namespaceSkipReason, nmapOpen, ScanChild, timed, type ScanAnswer } from '../scan-runner.js';
import { CaseUnavailable, type Suite } from '../suite.js';

// Open ports across the range, the ephemeral range (32768-60999) included: that is where TCP self-connects happen.
const LISTEN = [22, 80, 443, 8080, 33000, 50000, 65535];
const LISTENER = `
  const net = require('node:net');
  const ports = process.argv.slice(1).map(Number);
  let left = ports.length;
  for (const port of ports) {
    const s = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
    s.listen({ port, host: '127.0.0.1' }, () => { if (--left === 0) process.stdout.write('ready\\n'); });
  }
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0)); // dies with its owner, even on SIGKILL
`;

function startListener(ns: Namespace): Promise<ChildProcess> {
  const [cmd, args] = ns.exec(process.execPath, ['-e', LISTENER, ...LISTEN.map(String)]);
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    c.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(c));
    c.on('exit', (code) => reject(new Error(`listener exited with ${String(code)}`)));
  });
}

const seconds = (ns: number): string => `${(ns / 1e9).toFixed(2)} s`;

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
  try {
    return await Promise.race([acquireLabLock(() => process.stderr.write('scan suite: waiting for the lab lock\n')), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** masscan's rate: above the layer-2 sender ceiling measured on these machines (~263k pps), so masscan runs flat out. */
const MASSCAN_RATE = 300_000;
// From dist/ (the suites are bundled into dist/worker.js).
const SENDER_SCRIPT = fileURLToPath(new URL('../../native/scripts/bench-send.mjs', import.meta.url));

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
      title: `connect scan of all 65,535 ports of a namespace's 127.0.0.1 (${LISTEN.length} listeners), against nmap -sT -p-`,
      unit: 'scan',
      make: async () => {
        const reason = namespaceSkipReason();
        if (reason) throw new CaseUnavailable(reason);
        const notes: string[] = [];
        const ns = new Namespace('connect');
        const listener = await startListener(ns);
        const child = new ScanChild(['ip', 'netns', 'exec', ns.name]);
        const falseOpen: string[] = [];
        const ours: AsyncOp = {
          kind: 'async',
          n: 1,
          warmup: false,
          run: async () => {
            const a = (await child.scan({ targets: '127.0.0.1', ports: '1-65535' })) as ScanAnswer;
            const open = a.open.map(([, p]) => p).sort((x, y) => x - y);
            if (open.join() !== LISTEN.join()) throw new Error(`portflow found open ${open.join(',')}, the listeners are ${LISTEN.join(',')}`);
            return a.wallNs;
          },
        };
        const peers: Record<string, AsyncOp> = {};
        if (hasTool('nmap')) {
          peers['nmap -sT'] = {
            kind: 'async',
            n: 1,
            warmup: false,
            run: async () => {
              const r = await timed([...ns.exec('nmap', ['-sT', '-p-', '-n', '-Pn', '-oG', '-', '127.0.0.1']).flat()], 120);
              if (r.code !== 0) throw new Error(`nmap -sT exited ${r.code}: ${r.stderr}`);
              const open = nmapOpen(r.stdout).map((s) => Number(s.split(' ')[1]));
              for (const p of LISTEN) if (!open.includes(p)) throw new Error(`nmap -sT missed listener ${p}: the namespace is not what the suite set up`);
              falseOpen.push(...open.filter((p) => !LISTEN.includes(p)).map(String));
              return r.ns;
            },
          };
        } else notes.push('nmap is not installed (apt-get install -y nmap): no peer');
        await ours.run(1); // warm: the child's code and the namespace's loopback
        return {
          ours,
          peers,
          notes,
          dispose: async () => {
            await child.close();
            listener.stdin!.end();
            listener.kill('SIGKILL');
            ns.delete();
            notes.push(`portflow found exactly the ${LISTEN.length} listeners every run; nmap's false opens: ${falseOpen.length ? falseOpen.join(', ') : 'none'}`);
          },
        };
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
            const text = cmp.agree ? `${who}: every open port, no false open` : `${who}: DISAGREES with the lab truth (${cmp.missedOpen.length} open ports missed, ${cmp.wrongState.length} wrong states)`;
            if (!notes.includes(text)) notes.push(text);
          };
          const ours: AsyncOp = {
            kind: 'async',
            n: 1,
            warmup: false,
            run: async () => {
              const a = await c.scan({ targets: prefix, ports, type: 'syn' });
              if ('unavailable' in a) throw new CaseUnavailable(a.unavailable);
              agreement('portflow', a.open.map(([addr, p]) => `${addr} ${p}`));
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
        { kind: 'ratio', peer: 'nmap -T5', max: 0.2, text: 'at least 5× faster than nmap -T5 --min-rate 20000 --max-retries 1 (≤ 0.2× its wall time; aim 0.125×), the exact truth' },
      ],
    },
    {
      id: 'scan.sender',
      title: 'SYN packets per second delivered over a veth pair, against masscan on the same link (native/scripts/bench-send.mjs)',
      unit: 'packet',
      showRate: true,
      make: () => {
        if (!existsSync(SENDER_SCRIPT)) throw new CaseUnavailable('native/scripts/bench-send.mjs is not in this tree yet (the native sender\'s benchmark)');
        throw new CaseUnavailable('native/scripts/bench-send.mjs exists but this suite does not wrap it yet');
      },
      goals: [{ kind: 'ratio', peer: 'masscan', max: 0.8, text: '≥ 1.25× masscan\'s packets per second (≤ 0.8× its time per packet)' }],
    },
  ],
};
