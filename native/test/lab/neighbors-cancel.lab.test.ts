// resolveNeighbors may wait minutes (timeoutMs x rounds); a worker terminated meanwhile must
// not wait for it: the environment's cleanup hook cancels its thread. Runs in a private
// network namespace (unshare -n) on a veth pair it creates, asking for an address nobody
// there has.
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';

const skip = inject('labSkipReason');
const distIndex = new URL('../../dist/index.js', import.meta.url).pathname;

describe.skipIf(!!skip)('resolveNeighbors cancellation', () => {
  it('a worker terminated during a long resolution exits at once (its thread is cancelled and joined)', () => {
    const script = `
      import { execSync } from 'node:child_process';
      import { Worker } from 'node:worker_threads';
      execSync('ip link add pfn0 type veth peer name pfn1 && ip link set pfn1 up && ip link set pfn0 up');
      // Not /sys: it shows the namespace it was mounted in.
      const [{ ifindex, address: mac }] = JSON.parse(execSync('ip -j link show pfn0', { encoding: 'utf8' }));
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        import(${JSON.stringify(distIndex)}).then(({ resolveNeighbors }) => {
          const plan = { interface: 'pfn0', ifindex: workerData.ifindex, layer: 'ethernet', srcMac: workerData.mac, srcV4: '10.77.0.1', srcV6: null };
          resolveNeighbors(plan, ['10.77.0.2'], { timeoutMs: 600000, retries: 0 }).then(() => parentPort.postMessage('resolved'));
          setTimeout(() => parentPort.postMessage('waiting'), 100);
        });
      \`;
      const w = new Worker(src, { eval: true, execArgv: [], workerData: { ifindex, mac } });
      const first = await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
      await w.terminate();
      // And a short resolution still settles normally (nobody answers: an empty list).
      const { resolveNeighbors } = await import(${JSON.stringify(distIndex)});
      const plan = { interface: 'pfn0', ifindex, layer: 'ethernet', srcMac: mac, srcV4: '10.77.0.1', srcV6: null };
      const r = await resolveNeighbors(plan, ['10.77.0.2'], { timeoutMs: 50, retries: 1 });
      console.log(first, 'terminated', JSON.stringify(r));
    `;
    // 60 s is not a speed figure: without the cancel, terminate() waits the full 600 s.
    const r = spawnSync('unshare', ['-n', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('waiting terminated []');
    expect(r.status).toBe(0);
  });
});
