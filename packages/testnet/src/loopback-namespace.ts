// A network namespace with only its loopback, up: for tests and benchmarks that scan a
// loopback they control (packets never leave it). Named `<prefix><pid>-<tag>`, so one left
// behind by a killed run (its process gone) is deleted by the next run with that prefix.
import { spawnSync } from 'node:child_process';
import { TestnetError } from './errors.js';
import { isAlive, listNamespaces } from './namespaces.js';

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new TestnetError('ERR_TESTNET_COMMAND', `ip ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

export class LoopbackNamespace {
  readonly name: string;
  #deleted = false;

  constructor(prefix: string, tag: string) {
    LoopbackNamespace.removeStale(prefix);
    this.name = `${prefix}${process.pid}-${tag}`;
    ip(['netns', 'add', this.name]);
    try {
      ip(['-n', this.name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      this.delete();
      throw err;
    }
    // Deleted even when the process ends on an error (a SIGKILL leaves it to removeStale()).
    process.once('exit', () => this.delete());
  }

  /** The argv that runs a command inside: [file, args]. */
  exec(cmd: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  /** Deletes it; idempotent. */
  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    spawnSync('ip', ['netns', 'del', this.name]);
  }

  /** Deletes the namespaces with this prefix whose process is gone. */
  static removeStale(prefix: string): void {
    const pattern = new RegExp(`^${prefix}(\\d+)-`);
    for (const n of listNamespaces()) {
      const m = pattern.exec(n);
      if (m && !isAlive(Number(m[1]))) spawnSync('ip', ['netns', 'del', n]);
    }
  }
}
