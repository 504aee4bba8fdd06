// Lab tests share the machine with every other package's: @portflow/testnet's
// setup takes the machine-wide flock on /tmp/portflow-lab.lock (released by the
// kernel however the holder dies), skips without root and fails instead on CI.
// The scanner's lab tests also run dist/ inside the lab's namespaces, so a
// missing build is a reason too.
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
// The setup entry ships without a .d.ts (its vitest augmentation is repeated below).
// @ts-expect-error -- untyped entry of a workspace package
import labSetupUntyped from '@portflow/testnet/vitest-lab-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why lab tests cannot run here, or '' when they can. */
    labSkipReason: string;
  }
}

const labSetup = labSetupUntyped as (project: TestProject) => Promise<(() => void) | undefined>;

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (!existsSync(new URL('../../dist/index.js', import.meta.url))) {
    const reason = 'the scanner is not built (pnpm --filter @portflow/scanner build): the namespaced scans run dist/';
    if (process.env.CI === 'true') throw new Error(`scanner lab tests must run on CI, but cannot: ${reason}`);
    console.log(`[scanner lab] skipping lab tests: ${reason}`);
    project.provide('labSkipReason', reason);
    return undefined;
  }
  return labSetup(project);
}
