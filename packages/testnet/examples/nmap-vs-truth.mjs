// Bring the standard lab up, run nmap inside its scanner namespace against the
// live IPv4 targets, and compare what nmap calls open with the lab's truth.
// Run as root after `pnpm --filter @portflow/testnet build`:
//   node packages/testnet/examples/nmap-vs-truth.mjs
import { startLab } from '@portflow/testnet';

const lab = await startLab('standard', { icmp: 'lifted' });
try {
  const truth = lab.truth();
  const hosts = truth.discovery.routed.filter((a) => !a.includes(':'));
  const { stdout, code, stderr } = await lab.exec('nmap', ['-sS', '-Pn', '-n', '-T4', '-p', lab.spec.scanPorts.tcp, '-oG', '-', ...hosts]);
  if (code !== 0) throw new Error(`nmap failed: ${stderr}`);
  let agree = 0;
  let disagree = 0;
  for (const line of stdout.split('\n')) {
    const m = /^Host: (\S+) .*Ports: ([^\t]*)/.exec(line);
    if (!m) continue;
    // Only ports outside nmap's "Ignored State" (here: closed) are listed.
    for (const entry of m[2].split(', ').filter(Boolean)) {
      const [port, state, proto] = entry.split('/');
      const expected = truth.expect(m[1], proto, Number(port));
      if (expected.accept.includes(state)) agree++;
      else {
        disagree++;
        console.log(`${m[1]} ${port}/${proto}: nmap says ${state}, truth says ${expected.state} (${expected.cause})`);
      }
    }
  }
  const open = truth.openPorts('tcp').filter((p) => hosts.includes(p.address)).length;
  console.log(`lab ${lab.id} up in ${lab.upMs.toFixed(0)} ms; ${open} open TCP ports expected; nmap: ${agree} agree, ${disagree} disagree`);
} finally {
  await lab.down();
}
