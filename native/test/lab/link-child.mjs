// A child process for the link tests: Node cannot setns() a thread, so what must run in
// a lab's scanner namespace (or without CAP_NET_RAW, or be killed by a signal) runs here.
// Imports the built package (dist/: `pnpm --filter @portflow/native build`).
//   node link-child.mjs plan '{"targets":[...]}'               -> the plan as JSON
//   node link-child.mjs resolve '{"plan":{...},"addresses":[...],"options":{...},"apply":true}'
//                                                             -> {plan, resolved, ms, applied}
//   node link-child.mjs privilege                             -> {ok: true}
//   node link-child.mjs reserve <procRoot> <exit|throw|SIGTERM|SIGINT|SIGHUP|SIGTERM-owned|SIGTERM-other-hook>
// Errors are printed as {"error": {name, code, message, ...}} with exit status 0.
import { applyNeighbors, checkRawPrivilege, planLink, reserveSourcePorts, resolveNeighbors } from '../../dist/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [mode, arg, how] = process.argv.slice(2);
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const fail = (err) => print({ error: { name: err.name, code: err.code, message: err.message, field: err.field, interfaces: err.interfaces } });

try {
  if (mode === 'plan') {
    print(await planLink(JSON.parse(arg)));
  } else if (mode === 'resolve') {
    const input = JSON.parse(arg);
    const plan = input.plan ?? (await planLink(input.planOptions));
    const addresses = input.addresses ?? plan.unresolved;
    const t0 = performance.now();
    const resolved = await resolveNeighbors(plan, addresses, input.options);
    const ms = performance.now() - t0;
    print({ plan, addresses, resolved, ms, applied: applyNeighbors(plan, resolved) });
  } else if (mode === 'privilege') {
    checkRawPrivilege();
    print({ ok: true });
  } else if (mode === 'reserve') {
    const file = join(arg, 'sys/net/ipv4/ip_local_reserved_ports');
    reserveSourcePorts({ first: 61000, count: 100 }, { procRoot: arg });
    print(`reserved ${readFileSync(file, 'utf8').trim()}`);
    if (how === 'exit') process.exit(0);
    if (how === 'throw') setImmediate(() => { throw new Error('boom'); });
    else if (how === 'SIGTERM-other-hook') {
      // Another library following the same protocol (marked): neither stands aside.
      const hook = Object.assign(() => {
        print('other hook');
        process.removeListener('SIGTERM', hook);
        process.kill(process.pid, 'SIGTERM');
      }, { [Symbol.for('portflow.exitHook')]: true });
      process.on('SIGTERM', hook);
      process.kill(process.pid, 'SIGTERM');
    } else if (how === 'SIGTERM-owned') {
      process.on('SIGTERM', () => {
        print('app handler');
        process.exit(3);
      });
      process.kill(process.pid, 'SIGTERM');
    } else process.kill(process.pid, how);
    setTimeout(() => print('still alive'), 10_000);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  fail(err);
}
