import { spawn, spawnSync } from 'node:child_process';

/**
 * One lab test run on the machine at a time, across packages and processes:
 * labs share the cores, and timing-sensitive checks (loss shares, ICMP limits,
 * the delay line) must not compete with another lab's traffic.
 *
 * The lock is flock(2) on LAB_LOCK, held by a small `flock` child process
 * (Node has no flock): the kernel releases it when the holder dies, however
 * it dies, so no stale lock ever outlives a run, and shell scripts can take
 * the same lock with `flock /tmp/portflow-lab.lock <command>`.
 */
export const LAB_LOCK = '/tmp/portflow-lab.lock';

/** Why labs cannot run on this machine, or '' when they can. */
export function labSkipReason(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (labs need network namespaces, veths and nftables)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['tc', 'iproute2'], ['flock', 'util-linux']] as const) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed (apt-get install -y ${pkg})`;
  }
  return '';
}

/**
 * Take the machine-wide lab lock, waiting for its holder as long as it takes
 * (call it outside any test timeout: in vitest's global setup). Returns the
 * release function; the lock is also released when this process exits.
 */
export function acquireLabLock(onWait?: () => void): Promise<() => void> {
  const busy = spawnSync('flock', ['-n', LAB_LOCK, 'true']).status !== 0;
  if (busy && onWait) onWait();
  return new Promise((resolve, reject) => {
    // The holder keeps the lock until its stdin closes: on release, or when we die.
    const holder = spawn('flock', ['-x', LAB_LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    holder.on('error', (err) => reject(new Error(`cannot run flock for ${LAB_LOCK}: ${err.message}`)));
    holder.on('exit', (code) => {
      if (!out.includes('locked')) reject(new Error(`flock ${LAB_LOCK} exited (${code}) without taking the lock`));
    });
    holder.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('locked\n')) return;
      holder.unref();
      resolve(() => {
        holder.stdin!.end();
      });
    });
  });
}
