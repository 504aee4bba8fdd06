// Lab tests share the machine with every other package's: one lab run at a
// time, through the lock file @portflow/testnet's lab tests use
// (/tmp/portflow-lab.lock holding the owner's pid; a dead owner's lock is taken over).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { removeStaleLabs } from '@portflow/testnet';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why lab tests cannot run here, or '' when they can. */
    labSkipReason: string;
  }
}

const LOCK = '/tmp/portflow-lab.lock';

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquire(): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder();
    if (pid === undefined || !alive(pid)) {
      if (pid === undefined) await new Promise((r) => setTimeout(r, 200));
      if (holder() === pid) rmSync(LOCK, { force: true });
      continue;
    }
    if (!announced) {
      console.log(`[scanner lab] waiting for ${LOCK}, held by pid ${pid}`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function cannotRun(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (the scanner lab tests need network namespaces)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['tc', 'iproute2']]) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed (apt-get install -y ${pkg})`;
  }
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) return 'the scanner is not built (pnpm --filter @portflow/scanner build): the namespaced scans run dist/';
  return '';
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const reason = cannotRun();
  if (reason) {
    if (process.env.CI === 'true') throw new Error(`scanner lab tests must run on CI, but cannot: ${reason}`);
    console.log(`[scanner lab] skipping lab tests: ${reason}`);
    project.provide('labSkipReason', reason);
    return undefined;
  }
  project.provide('labSkipReason', '');
  await acquire();
  const removed = await removeStaleLabs();
  if (removed.length) console.log(`[scanner lab] removed stale labs: ${removed.join(', ')}`);
  return () => {
    if (holder() === process.pid) rmSync(LOCK, { force: true });
  };
}
