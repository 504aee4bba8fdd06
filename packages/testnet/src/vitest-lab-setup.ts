/**
 * vitest global setup for lab tests, shared by every package that has them:
 *
 *   // vitest.lab.config.ts
 *   globalSetup: ['@portflow/testnet/vitest-lab-setup'],
 *   // in a test: import { inject } from 'vitest'; const reason = inject('labSkipReason');
 *
 * Skips (provides a non-empty `labSkipReason`, printed once) when labs cannot
 * run here, and fails instead on CI (CI=true); otherwise takes the machine-wide
 * lab lock for the whole run and removes what killed runs left behind.
 */
import type { TestProject } from 'vitest/node';
import { acquireLabLock, LAB_LOCK, labSkipReason } from './lab-lock.js';
import { removeStaleLabs } from './registry.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why lab tests cannot run here, or '' when they can. */
    labSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const reason = labSkipReason();
  if (reason) {
    if (process.env.CI === 'true') throw new Error(`lab tests must run on CI, but cannot: ${reason}`);
    console.log(`[testnet lab] skipping lab tests: ${reason}`);
    project.provide('labSkipReason', reason);
    return undefined;
  }
  project.provide('labSkipReason', '');
  const release = await acquireLabLock(() => console.log(`[testnet lab] waiting for ${LAB_LOCK} (another lab run holds it)`));
  const removed = await removeStaleLabs();
  if (removed.length) console.log(`[testnet lab] removed stale labs: ${removed.join(', ')}`);
  return release;
}
