// Bring the standard lab up, run nmap inside its scanner namespace against the
// live IPv4 targets, and compare nmap's ports, states and reasons with the
// lab's truth. Run as root after `pnpm --filter @portflow/testnet build`:
//   node packages/testnet/examples/nmap-vs-truth.mjs
import { compareScan, startLab } from '@portflow/testnet';

const lab = await startLab('standard', { icmp: 'lifted' });
try {
  const truth = lab.truth();
  const hosts = truth.discovery.routed.filter((a) => !a.includes(':'));
  const { stdout, code, stderr } = await lab.exec('nmap', ['-sS', '-Pn', '-n', '-T4', '-p', lab.spec.scanPorts.tcp, '-oX', '-', ...hosts]);
  if (code !== 0) throw new Error(`nmap failed: ${stderr}`);
  const reports = [];
  for (const [host] of stdout.matchAll(/<host\b[\s\S]*?<\/host>/g)) {
    const address = /<address addr="([^"]+)"/.exec(host)[1];
    for (const [, port, state, reason] of host.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([^"]+)" reason="([^"]+)"/g)) {
      reports.push({ address, protocol: 'tcp', port: Number(port), state, reason });
    }
  }
  const c = compareScan(truth, reports, { protocol: 'tcp', addresses: hosts });
  console.log(`lab ${lab.id} up in ${lab.upMs.toFixed(0)} ms; nmap listed ${c.checked} ports; ` +
    `missed open ${c.missedOpen.length}, wrong state ${c.wrongState.length}, wrong reason ${c.wrongReason.length}: ${c.agree ? 'agrees' : 'DISAGREES'}`);
} finally {
  await lab.down();
}
