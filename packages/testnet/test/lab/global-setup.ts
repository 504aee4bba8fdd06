import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { removeStaleLabs } from '../../src/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why lab tests cannot run here, or '' when they can. */
    labSkipReason: string;
  }
}

/** One lab run per machine at a time, across packages and processes. */
const LOCK = '/tmp/portflow-lab.lock';
const POLL_MS = 200;

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
      // Left by a killed run (or caught between its open and write): take it over.
      if (pid === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
      if (holder() === pid) rmSync(LOCK, { force: true });
      continue;
    }
    if (!announced) {
      console.log(`[testnet lab] waiting for ${LOCK}, held by pid ${pid}`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function cannotRun(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (labs need network namespaces, veths and nftables)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['tc', 'iproute2']]) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed (apt-get install -y ${pkg})`;
  }
  return '';
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const reason = cannotRun();
  if (reason) {
    if (process.env.CI === 'true') throw new Error(`lab tests must run on CI, but cannot: ${reason}`);
    console.log(`[testnet lab] skipping lab tests: ${reason}`);
    project.provide('labSkipReason', reason);
    return undefined;
  }
  project.provide('labSkipReason', '');
  await acquire();
  // What killed runs left behind would only get in the way (and only that is removed).
  const removed = await removeStaleLabs();
  if (removed.length) console.log(`[testnet lab] removed stale labs: ${removed.join(', ')}`);
  return () => {
    if (holder() === process.pid) rmSync(LOCK, { force: true });
  };
}
