#!/usr/bin/env node
// The README quick start's scan: a connect scan with live progress on stderr
// and the open ports on stdout, until the CLI exists.
//   node packages/scanner/dist/quickstart.js <target> [ports]
// Ports default to all of them (1-65535); "top:1000" gives nmap's default set.
import { EventBus } from '@portflow/core';
import { ProgressAggregator, ProgressReporter } from '@portflow/progress';
import { ScannerError } from './errors.js';
import { serviceName } from './port-table.js';
import { scan } from './scan.js';

const USAGE = 'usage: quickstart <target> [ports]   e.g. quickstart 127.0.0.1 1-65535  (ports: "22,80", "1-1024", "top:1000"; default all)';

async function main(argv: string[]): Promise<number> {
  if (argv.length < 1 || argv.length > 2 || argv[0] === '-h' || argv[0] === '--help') {
    process.stderr.write(`${USAGE}\n`);
    return argv[0] === '-h' || argv[0] === '--help' ? 0 : 2;
  }
  const [target, ports = '1-65535'] = argv;
  const bus = new EventBus({ historySize: 0 });
  let handle;
  try {
    handle = scan({ targets: target, ports }, { bus });
  } catch (err) {
    if (err instanceof ScannerError) {
      process.stderr.write(`quickstart: ${err.message} [${err.code}]\n`);
      return 2;
    }
    throw err;
  }
  bus.on('WarningIssued', (e) => process.stderr.write(`warning: ${e.message}\n`));
  const progress = new ProgressAggregator(bus, handle.scanId);
  const reporter = new ProgressReporter({ stream: process.stderr, metrics: () => progress.getCurrentMetrics(), renderer: 'compact' }).start();
  // Ctrl-C cancels: the partial results are still printed.
  const onSigint = () => handle.cancel('interrupted (SIGINT)');
  process.on('SIGINT', onSigint);
  const r = await handle.results;
  process.off('SIGINT', onSigint);
  reporter.stop();
  progress.close();

  const out: string[] = [];
  const secs = (r.durationMs / 1000).toFixed(2);
  out.push(`portflow connect scan of ${r.targets.join(' ')} (${r.targetsScanned} host${r.targetsScanned === 1 ? '' : 's'}, ports ${r.ports}): ${r.outcome} in ${secs} s, ${r.portsScanned} ports scanned`);
  if (r.error !== undefined) out.push(`error: ${r.error}`);
  for (const h of r.hosts) {
    const d = h.defaultState;
    out.push('');
    out.push(`${h.address}: ${h.counts.open} open${d ? `; not shown: ${d.count} ${d.state} tcp ports${d.reason ? ` (${d.reason})` : ''}` : ''}`);
    if (h.ports.length === 0) continue;
    out.push(`${'PORT'.padEnd(12)}${'STATE'.padEnd(10)}${'SERVICE'.padEnd(16)}REASON`);
    for (const p of h.ports) {
      out.push(`${`${p.port}/${p.protocol}`.padEnd(12)}${p.state.padEnd(10)}${(serviceName(p.port, p.protocol) ?? 'unknown').padEnd(16)}${p.reason ?? ''}`);
    }
  }
  if (r.hosts.length === 0) out.push('no port answered');
  process.stdout.write(`${out.join('\n')}\n`);
  return r.outcome === 'completed' ? 0 : r.outcome === 'cancelled' ? 130 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`quickstart: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
