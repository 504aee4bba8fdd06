/**
 * What the scan suites share: a network namespace of their own (created and
 * deleted here; packets never leave it), the scan child (scan-child.ts) running
 * inside it, and external peers (nmap, masscan) timed in the same namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LoopbackNamespace } from '@portflow/testnet';

const CHILD = fileURLToPath(new URL('./scan-child.js', import.meta.url));
const NS_PREFIX = 'pfbench';

/** Why namespaces cannot be made here, or '' when they can. */
export function namespaceSkipReason(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root: the scan suites scan inside network namespaces they create';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return 'ip is not installed (apt-get install -y iproute2)';
  return '';
}

export function hasTool(tool: string, versionArg = '-V'): boolean {
  return !spawnSync(tool, [versionArg], { stdio: 'ignore' }).error;
}

/** A namespace with only its loopback, up: `pfbench<pid>-<tag>` (@portflow/testnet's LoopbackNamespace). */
export class Namespace extends LoopbackNamespace {
  constructor(tag: string) {
    super(NS_PREFIX, tag);
  }
}

export interface ScanAnswer {
  wallNs: number;
  cpuNs: number;
  outcome: string;
  error?: string;
  openPorts: number;
  portsScanned: number;
  events: number;
  open: [string, number][];
  /** The last value of each MetricRecorded the scan published. */
  metrics: Record<string, number>;
}

/** The scan child, inside `prefix` (e.g. `ip netns exec NS`) or in this namespace when prefix is empty. */
export class ScanChild {
  readonly #child: ChildProcess;
  readonly #waiting: ((line: string) => void)[] = [];
  #exited: string | undefined;

  constructor(prefix: readonly string[] = []) {
    const argv = [...prefix, process.execPath, CHILD];
    this.#child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => this.#waiting.shift()?.(line));
    this.#child.on('exit', (code, signal) => {
      this.#exited = `the scan child exited (${signal ?? code})`;
      for (const w of this.#waiting.splice(0)) w(JSON.stringify({ failed: this.#exited }));
    });
  }

  /** One scan; resolves with its figures, or `{ unavailable }` when the scan type is not built. */
  async scan(options: object, subscribers: 'none' | 'full' | 'progress' | 'logger' | 'renderer' = 'none'): Promise<ScanAnswer | { unavailable: string }> {
    if (this.#exited) throw new Error(this.#exited);
    const line = await new Promise<string>((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin!.write(`${JSON.stringify({ options, subscribers })}\n`);
    });
    const out = JSON.parse(line) as ScanAnswer | { unavailable: string } | { failed: string };
    if ('failed' in out) throw new Error(`scan child: ${out.failed}`);
    if ('outcome' in out && out.outcome !== 'completed') throw new Error(`scan ${JSON.stringify(options)} ended ${out.outcome}: ${out.error ?? ''}`);
    return out;
  }

  close(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.stdin!.end();
    });
  }
}

/** Runs a command to completion (bounded by `timeout`), timing it: { ns, stdout, code }. */
export function timed(argv: readonly string[], timeoutSeconds: number): Promise<{ ns: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('timeout', ['-k', '5', String(timeoutSeconds), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ ns: Number(process.hrtime.bigint() - t0), stdout, stderr, code }));
  });
}

/** Open TCP ports in nmap's grepable output (-oG -): "addr port" strings. */
export function nmapOpen(grepable: string): string[] {
  const out: string[] = [];
  for (const line of grepable.split('\n')) {
    const host = /^Host: (\S+)/.exec(line)?.[1];
    if (!host) continue;
    for (const m of line.matchAll(/(\d+)\/open\/tcp/g)) out.push(`${host} ${m[1]}`);
  }
  return out;
}
