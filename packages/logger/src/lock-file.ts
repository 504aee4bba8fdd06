import { closeSync, openSync, readFileSync, unlinkSync, writeSync, constants } from 'node:fs';
import { LogLockedError } from './errors.js';

/** Paths locked by this process: a second logger on one file is refused like a second process. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `${path}.lock`, created with O_EXCL and holding our pid. A lock whose pid is
 * dead is stale (a crashed writer) and taken over. Throws LogLockedError.
 */
export function acquireLock(path: string): string {
  const lock = `${path}.lock`;
  if (held.has(lock)) throw new LogLockedError(path, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(lock);
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw e;
    }
    // A lock without a pid is a writer that died between create and write, or garbage.
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new LogLockedError(path, pid);
    if (pid === process.pid) throw new LogLockedError(path, pid);
    try {
      unlinkSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new LogLockedError(path, NaN);
}

export function releaseLock(lock: string): void {
  if (!held.delete(lock)) return;
  try {
    unlinkSync(lock);
  } catch {
    // Gone already (directory removed): nothing left to release.
  }
}
