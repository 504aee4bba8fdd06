/**
 * What the scan suites share: a network namespace of their own (created and
 * deleted here; packets never leave it), the scan child (scan-child.ts) running
 * inside it, and external peers (nmap, masscan) timed in the same namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A namespace with only its loopback, up: `pfbench<pid>-<tag>`. */
export class Namespace {
  readonly name: string;
  #deleted = false;

  constructor(tag: string) {
    Namespace.removeStale();
    this.name = `${NS_PREFIX}${process.pid}-${tag}`;
    run('ip', ['netns', 'add', this.name]);
    run('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    // Deleted even when the worker dies of an error (a SIGKILL leaves it to the next run's removeStale()).
    process.once('exit', () => this.delete());
  }

  /** argv prefix that runs a command inside. */
  exec(cmd: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    spawnSync('ip', ['netns', 'del', this.name]);
  }

  /** Namespaces of earlier runs whose process is gone. */
  static removeStale(): void {
    let names: string[] = [];
    try {
      names = readdirSync('/run/netns');
    } catch {
      return;
    }
    for (const n of names) {
      const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(n);
      if (m && !alive(Number(m[1]))) spawnSync('ip', ['netns', 'del', n]);
    }
  }
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
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
