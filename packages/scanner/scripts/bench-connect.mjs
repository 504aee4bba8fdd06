#!/usr/bin/env node
// portflow's connect scan next to `nmap -sT` over all 65,535 TCP ports of a lab
// namespace's loopback (root: a @portflow/testnet `standard` lab, torn down at the end).
// Rounds are interleaved (ours, nmap, ours, nmap, ...) so both see the same load.
// Times are wall-clock times of the whole process (`ip netns exec` to exit) for both,
// plus our scan's own duration. False opens: ports reported open where nothing listens
// (`ss -ltn` in the namespace before and after), which must be 0 for portflow.
//
//   pnpm --filter @portflow/scanner build && node packages/scanner/scripts/bench-connect.mjs [--rounds 5] [--concurrency N]
//
// Prints one JSON object on stdout; progress on stderr.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLab } from '@portflow/testnet';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : def;
};
const rounds = opt('rounds', 5);
const concurrency = opt('concurrency', undefined);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  console.error('bench-connect: --rounds must be an integer from 1 to 100');
  process.exit(2);
}
if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  console.error('bench-connect: needs root (it creates a network namespace lab)');
  process.exit(2);
}
if (spawnSync('nmap', ['-V'], { stdio: 'ignore' }).error) {
  console.error('bench-connect: nmap is not installed (apt-get install -y nmap)');
  process.exit(2);
}

const CHILD = fileURLToPath(new URL('../test/lab/scan-child.mjs', import.meta.url));
const NMAP = ['-sT', '-p-', '-T5', '--max-retries', '1', '-n', '-Pn', '-oG', '-', '127.0.0.1'];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round1 = (x) => Math.round(x * 10) / 10;

const lab = await startLab('standard');
try {
  const listening = async () => {
    const r = await lab.exec('ss', ['-Hltn']);
    const ports = new Set();
    for (const line of r.stdout.split('\n')) {
      const m = /\s(?:127\.0\.0\.1|\*|0\.0\.0\.0|\[::\]|\[::ffff:127\.0\.0\.1\]):(\d+)\s/.exec(line);
      if (m) ports.add(Number(m[1]));
    }
    return ports;
  };
  const before = await listening();
  const ours = [];
  const oursScan = [];
  const nmap = [];
  let oursFalseOpen = 0;
  let nmapFalseOpen = 0;
  const oursFalse = [];
  const nmapFalse = [];
  let selfConnects = 0;
  for (let i = 0; i < rounds; i++) {
    const input = JSON.stringify({ targets: '127.0.0.1', ports: '1-65535', ...(concurrency ? { concurrency } : {}) });
    let t0 = performance.now();
    const r = await lab.runInScannerNs(CHILD, [], { input, timeoutMs: 120_000 });
    const oursMs = performance.now() - t0;
    if (r.code !== 0) throw new Error(`portflow scan failed (${r.code}): ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    if (out.results.outcome !== 'completed' || out.results.portsScanned !== 65535) throw new Error(`portflow scan incomplete: ${out.results.outcome}, ${out.results.portsScanned} ports`);
    const open = out.results.hosts.flatMap((h) => h.ports.filter((p) => p.state === 'open').map((p) => p.port));
    const fo = open.filter((p) => !before.has(p));
    oursFalseOpen += fo.length;
    oursFalse.push(...fo);
    selfConnects += out.metrics['connect.self_connects'] ?? 0;
    ours.push(oursMs);
    oursScan.push(out.results.durationMs);

    t0 = performance.now();
    const n = await lab.exec('timeout', ['120', 'nmap', ...NMAP], { timeoutMs: 130_000 });
    const nmapMs = performance.now() - t0;
    if (n.code !== 0) throw new Error(`nmap failed (${n.code}): ${n.stderr}`);
    const nOpen = [...n.stdout.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
    const nfo = nOpen.filter((p) => !before.has(p));
    nmapFalseOpen += nfo.length;
    nmapFalse.push(...nfo);
    nmap.push(nmapMs);
    console.error(`round ${i + 1}/${rounds}: portflow ${Math.round(oursMs)} ms (scan ${out.results.durationMs} ms), nmap ${Math.round(nmapMs)} ms`);
  }
  const after = await listening();
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim().split(' ').slice(0, 3).map(Number);
  process.stdout.write(
    `${JSON.stringify({
      benchmark: 'connect-scan-loopback-all-ports',
      target: "127.0.0.1 in a @portflow/testnet 'standard' lab's scanner namespace",
      ports: 65535,
      rounds,
      concurrency: concurrency ?? 'default',
      nmapArgs: NMAP.join(' '),
      portflowWallMs: ours.map(round1),
      portflowScanMs: oursScan,
      nmapWallMs: nmap.map(round1),
      portflowMedianMs: round1(median(ours)),
      nmapMedianMs: round1(median(nmap)),
      speedup: Math.round((median(nmap) / median(ours)) * 100) / 100,
      portflowFalseOpens: oursFalseOpen,
      portflowFalseOpenPorts: oursFalse,
      nmapFalseOpens: nmapFalseOpen,
      nmapFalseOpenPorts: nmapFalse,
      portflowSelfConnectsSeen: selfConnects,
      listeningBefore: [...before],
      listeningAfter: [...after],
      loadAverage: load,
    })}\n`,
  );
} finally {
  await lab.down();
}
