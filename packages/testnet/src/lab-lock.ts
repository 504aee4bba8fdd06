import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { isAlive } from './namespaces.js';

/**
 * One lab test run on the machine at a time, across packages and processes:
 * labs share the cores, and timing-sensitive checks (loss shares, ICMP limits,
 * the delay line) must not compete with another lab's traffic.
 */
export const LAB_LOCK = '/tmp/portflow-lab.lock';
const POLL_MS = 200;

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LAB_LOCK, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Why labs cannot run on this machine, or '' when they can. */
export function labSkipReason(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (labs need network namespaces, veths and nftables)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['tc', 'iproute2']] as const) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed (apt-get install -y ${pkg})`;
  }
  return '';
}

/**
 * Take the machine-wide lab lock, waiting for its holder as long as it takes
 * (call it outside any test timeout: in vitest's global setup). A lock left by
 * a dead process is taken over. Returns the release function.
 */
export async function acquireLabLock(onWait?: (holderPid: number) => void): Promise<() => void> {
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LAB_LOCK, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (holder() === process.pid) rmSync(LAB_LOCK, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder();
    if (pid === undefined || !isAlive(pid)) {
      // Left by a killed run, or caught between its creator's open and write.
      if (pid === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
      if (holder() === pid) rmSync(LAB_LOCK, { force: true });
      continue;
    }
    if (!announced && onWait) onWait(pid);
    announced = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
