#!/usr/bin/env node
// Probe engine send benchmark (root): packets per second delivered over a veth pair
// between two network namespaces this script creates and deletes, counted on the
// receiving side (`ip -s link` rx_packets, sampled every 100 ms; the rate is taken over
// the window in which packets arrived, so start-up and wait phases of either tool do not
// count). Rounds interleave portflow's engine and masscan 1.3.2 on the same link, each
// also while the receiver answers every SYN with a RST (portflow's capture then matches them).
// Then the achieved rate against the requested one at 100, 10k and 100k pps.
//
//   node scripts/bench-send.mjs [--rounds 3] [--seconds 3] [--no-masscan]
// Prints a table on stderr and one JSON object on stdout. Nothing leaves the two
// namespaces: the targets (10.98.0.0/16) are routed to the receiving namespace only.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = opt('rounds', 3);
const SECONDS = opt('seconds', 3);
const MASSCAN = !args.includes('--no-masscan');
const CHILD = fileURLToPath(new URL('../test/lab/probe-engine-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

if (process.getuid?.() !== 0) {
  console.error('bench-send: needs root (network namespaces, raw sockets)');
  process.exit(2);
}
if (!existsSync(DIST)) {
  console.error('bench-send: build first: pnpm --filter @portflow/native build');
  process.exit(2);
}
const haveMasscan = MASSCAN && spawnSync('masscan', ['--version'], { stdio: 'ignore' }).status !== null && !spawnSync('masscan', ['--version']).error;

const A = `pfbench${process.pid}a`;
const B = `pfbench${process.pid}b`;
const VA = `pfb${process.pid.toString(36)}a`;
const VB = `pfb${process.pid.toString(36)}b`;
const sh = (cmd, a, input) => execFileSync(cmd, a, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const inNs = (ns, cmd, a) => sh('ip', ['netns', 'exec', ns, cmd, ...a]);

function setup() {
  sh('ip', ['netns', 'add', A]);
  sh('ip', ['netns', 'add', B]);
  // Created inside A, peer moved into B: the root namespace never sees either end.
  inNs(A, 'ip', ['link', 'add', VA, 'type', 'veth', 'peer', 'name', VB, 'netns', B]);
  inNs(A, 'ip', ['addr', 'add', '10.99.0.1/24', 'dev', VA]);
  inNs(B, 'ip', ['addr', 'add', '10.99.0.2/24', 'dev', VB]);
  for (const [ns, dev] of [[A, VA], [B, VB]]) {
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
    inNs(ns, 'ip', ['link', 'set', dev, 'up']);
  }
  inNs(A, 'ip', ['route', 'add', '10.98.0.0/16', 'via', '10.99.0.2']);
  inNs(A, 'ping', ['-c', '1', '-W', '2', '10.99.0.2']);  // the gateway's MAC in A's neighbour table
  const link = (ns, dev) => JSON.parse(inNs(ns, 'ip', ['-j', 'link', 'show', 'dev', dev]))[0];
  return { a: link(A, VA), b: link(B, VB) };
}
function teardown() {
  spawnSync('ip', ['netns', 'del', A]);
  spawnSync('ip', ['netns', 'del', B]);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { teardown(); process.exit(130); });
process.on('exit', teardown);

const rxPackets = () => JSON.parse(inNs(B, 'ip', ['-s', '-j', 'link', 'show', 'dev', VB]))[0].stats64.rx.packets;

// Runs `start()` (returns a promise that settles when the sender is done) while sampling
// the receiver every 100 ms; returns packets/s over the window in which packets arrived.
async function measure(start) {
  const samples = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      samples.push([performance.now(), rxPackets()]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await start();
  running = false;
  await sampler;
  samples.push([performance.now(), rxPackets()]);
  let i = 0;
  while (i + 1 < samples.length && samples[i + 1][1] === samples[i][1]) i++;
  let j = samples.length - 1;
  while (j > i && samples[j - 1][1] === samples[j][1]) j--;
  const packets = samples[j][1] - samples[i][1];
  const secs = (samples[j][0] - samples[i][0]) / 1000;
  return { pps: secs > 0 ? packets / secs : 0, packets, seconds: secs, total: samples.at(-1)[1] - samples[0][1], result };
}

function runOurs(link, { rate, capture, seconds }) {
  const input = {
    targets: { v4Range: ['10.98.0.0', '10.98.255.255'] },
    ports: [[1, 1, 1000]],
    countOnly: true,
    options: {
      mode: 'tcp-syn',
      link: { interface: VA, ifindex: link.a.ifindex, layer: 'ethernet', srcMac: link.a.address, srcV4: '10.99.0.1', srcV6: null,
        routes: [{ prefix: '10.98.0.0/16', mac: link.b.address }, { prefix: '10.99.0.0/24', mac: null }], neighbors: [], mtu: link.a.mtu },
      sourcePorts: { first: 61000, count: 4536 },
      rate, maxRetries: 0, initialRttMs: 100, minRttMs: 100, maxRttMs: 100, window: 1 << 17, lingerMs: 0, capture,
    },
    rateSamples: [{ waitMs: Math.round(seconds * 1000) }],
    stopAfterMs: 0,
  };
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', A, process.execPath, CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`engine child exited ${code}: ${err}`))));
    c.stdin.end(JSON.stringify(input));
  });
}

function runMasscan(link, seconds) {
  // masscan does not exit by itself inside a namespace: timeout ends it (SIGINT, then KILL).
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', A, 'timeout', '-k', '2', String(seconds + 1), 'masscan', '10.98.0.0/16', '-p1-1000',
      '--rate', '10000000', '--wait', '0', '-e', VA, '--adapter-ip', '10.99.0.1', '--adapter-mac', link.a.address,
      '--router-mac', link.b.address, '--adapter-port', '61000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, err: err.slice(-200) }));
  });
}

const link = setup();
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const results = { rounds: [], rates: [], load: (await import('node:os')).loadavg() };
try {
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    // Interleaved, alternating who goes first.
    const order = r % 2 === 0 ? ['ours', 'masscan', 'oursWithCapture', 'masscanWithReplies'] : ['masscan', 'ours', 'masscanWithReplies', 'oursWithCapture'];
    for (const who of order) {
      if (who.startsWith('masscan') && !haveMasscan) continue;
      const replies = who === 'oursWithCapture' || who === 'masscanWithReplies';
      if (replies) {
        // The receiver answers every SYN (any 10.98/16 address is local to it): RSTs flow back.
        inNs(B, 'ip', ['route', 'add', 'local', '10.98.0.0/16', 'dev', 'lo']);
      }
      const m = await measure(() =>
        who.startsWith('masscan') ? runMasscan(link, SECONDS) : runOurs(link, { rate: 1e9, capture: who === 'oursWithCapture', seconds: SECONDS }));
      if (replies) inNs(B, 'ip', ['route', 'del', 'local', '10.98.0.0/16', 'dev', 'lo']);
      round[who] = { pps: m.pps, packets: m.packets, seconds: m.seconds };
      if (!who.startsWith('masscan')) {
        const c = m.result.counters;
        Object.assign(round[who], { engineSent: c.sent, achievedRate: c.achievedRate, sendBackpressure: c.sendBackpressure, received: c.received, matched: c.matched, kernelDrops: c.kernelDrops, ringOverflows: c.ringOverflows });
      }
    }
    results.rounds.push(round);
    console.error(`round ${r + 1}: ours ${fmt(round.ours.pps)} pps` + (round.masscan ? `, masscan ${fmt(round.masscan.pps)} pps` : '') +
      `, ours with capture ${fmt(round.oursWithCapture.pps)} pps (matched ${fmt(round.oursWithCapture.matched ?? 0)})` +
      (round.masscanWithReplies ? `, masscan with replies ${fmt(round.masscanWithReplies.pps)} pps` : ''));
  }
  for (const rate of [100, 10000, 100000]) {
    const m = await measure(() => runOurs(link, { rate, capture: false, seconds: SECONDS }));
    const row = { requested: rate, delivered: m.total / (m.result.wallMs / 1000), achievedRate: m.result.rates[0].achieved, packets: m.total, seconds: m.result.wallMs / 1000 };
    row.errorPct = ((row.achievedRate - rate) / rate) * 100;
    results.rates.push(row);
  }
} finally {
  teardown();
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : 0; };
const summary = {
  oursMedianPps: median(results.rounds.map((r) => r.ours.pps)),
  masscanMedianPps: haveMasscan ? median(results.rounds.map((r) => r.masscan.pps)) : null,
  oursWithCaptureMedianPps: median(results.rounds.map((r) => r.oursWithCapture.pps)),
  masscanWithRepliesMedianPps: haveMasscan ? median(results.rounds.map((r) => r.masscanWithReplies.pps)) : null,
};
summary.ratioVsMasscan = summary.masscanMedianPps ? summary.oursMedianPps / summary.masscanMedianPps : null;
results.summary = summary;
console.error('\n| sender | median pps delivered | per round |');
console.error('|---|---|---|');
console.error(`| portflow (AF_PACKET, sendmmsg) | ${fmt(summary.oursMedianPps)} | ${results.rounds.map((r) => fmt(r.ours.pps)).join(' / ')} |`);
if (haveMasscan) console.error(`| masscan 1.3.2 | ${fmt(summary.masscanMedianPps)} | ${results.rounds.map((r) => fmt(r.masscan.pps)).join(' / ')} |`);
console.error(`| portflow, capture on, RSTs back | ${fmt(summary.oursWithCaptureMedianPps)} | ${results.rounds.map((r) => fmt(r.oursWithCapture.pps)).join(' / ')} |`);
if (haveMasscan) console.error(`| masscan 1.3.2, RSTs back | ${fmt(summary.masscanWithRepliesMedianPps)} | ${results.rounds.map((r) => fmt(r.masscanWithReplies.pps)).join(' / ')} |`);
if (summary.ratioVsMasscan) console.error(`ratio portflow / masscan: ${summary.ratioVsMasscan.toFixed(2)}`);
console.error('\n| requested pps | achieved (engine, last 1 s) | delivered (receiver, whole run) | error |');
console.error('|---|---|---|---|');
for (const r of results.rates) console.error(`| ${fmt(r.requested)} | ${fmt(r.achievedRate)} | ${fmt(r.delivered)} | ${r.errorPct.toFixed(1)}% |`);
process.stdout.write(JSON.stringify(results) + '\n');
