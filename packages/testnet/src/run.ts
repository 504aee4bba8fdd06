import { execFile, execFileSync } from 'node:child_process';
import { TestnetError } from './errors.js';

/** Debian packages that provide each tool this package runs, for the error message. */
const PACKAGES: Record<string, string> = { ip: 'iproute2', tc: 'iproute2', nft: 'nftables', sysctl: 'procps' };

interface FailedCommand {
  readonly message: string;
  readonly code?: string | number | null;
  readonly stderr?: string | Buffer;
}

function commandError(cmd: string, args: readonly string[], err: FailedCommand): TestnetError {
  if (err.code === 'ENOENT') {
    const pkg = PACKAGES[cmd];
    return new TestnetError('ERR_TESTNET_MISSING_TOOL', `${cmd} was not found on PATH; install it${pkg ? ` (apt-get install -y ${pkg})` : ''}`, { cause: err });
  }
  const stderr = String(err.stderr ?? '').trim().split('\n').slice(0, 3).join(' | ');
  const shown = [cmd, ...args].join(' ');
  return new TestnetError('ERR_TESTNET_COMMAND', `\`${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}\` failed: ${stderr || err.message}`, { cause: err });
}

export interface RunOptions {
  /** Written to the command's stdin (e.g. an `ip -batch -` script). */
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Run a command to completion; rejects with a TestnetError naming the command and its stderr. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(commandError(cmd, args, Object.assign(err, { stderr })));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => {}); // the command may exit before reading it all; its exit status tells
    child.stdin?.end(options.input ?? '');
  });
}

/** Synchronous twin of run(), for teardown in exit and signal handlers. */
export function runSync(cmd: string, args: readonly string[], options: RunOptions = {}): string {
  try {
    return execFileSync(cmd, args, { input: options.input ?? '', timeout: options.timeoutMs ?? 30_000, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    throw commandError(cmd, args, err as FailedCommand);
  }
}
