#!/usr/bin/env node
// The native package's figures (issues 13 §6 and 14 §5), printed as JSON lines with the
// median, best and worst of --rounds runs and the load average around them:
//   packet.craftSyn       IPv4 SYNs crafted per second on one core
//   packet.parse          frames parsed per second (checksums verified)
//   ring.nativeToNative   records/s through a ring between two native threads
//   ring.toJs             records/s drained into JS (polling drain, two fields read per record)
//   handoff.bus.p1 / .p2  main-thread CPU ns per record delivered to an EventBus subscriber,
//                         one producer at R/s vs two producers at R/2 each (doorbell-driven)
// Usage: node scripts/bench.mjs [--rate 1000000] [--seconds 3] [--rounds 5]
// Needs native built (pnpm --filter @portflow/native build) and packages/core built.
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '5' } } });
const rate = Number(values.rate), seconds = Number(values.seconds), rounds = Number(values.rounds);
const { bench, RECORD_SIZE } = await import('../dist/index.js');
const core = await import(new URL('../../packages/core/dist/index.js', import.meta.url).href);

import { readFileSync } from 'node:fs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const emit = (name, figures) => console.log(JSON.stringify({ name, ...figures, load: load() }));
const spread = (unit, xs) => ({ [unit]: Math.round(median(xs)), best: Math.round(Math.max(...xs)), worst: Math.round(Math.min(...xs)) });

const syn = [], parse = [], n2n = [], toJs = [];
for (let i = 0; i < rounds; i++) {
  syn.push(1e9 / bench.craftSyn(5e7));
  parse.push(1e9 / bench.parse(2e7));
  n2n.push(bench.ringNativeToNative(3e7));
  toJs.push(bench.ringToJs(2e7).recordsPerSecond);
}
emit('packet.craftSyn', spread('packetsPerSecond', syn));
emit('packet.parse', spread('packetsPerSecond', parse));
emit('ring.nativeToNative', spread('recordsPerSecond', n2n));
emit('ring.toJs', spread('recordsPerSecond', toJs));

// The consumer a scan will have: decode each record in place into a PortFound and publish it.
const bus = new core.EventBus({ historySize: 1024 });
let seen = 0;
bus.on('PortFound', () => { seen++; });
const deliver = (b) => {
  const bytes = b.bytes, v = b.view;
  const end = (b.start + b.count) * RECORD_SIZE;
  const ts = Math.trunc(v.getFloat64(b.start * RECORD_SIZE + 8, true)); // clock read once per batch
  for (let off = b.start * RECORD_SIZE; off < end; off += RECORD_SIZE) {
    const target = `${bytes[off + 16]}.${bytes[off + 17]}.${bytes[off + 18]}.${bytes[off + 19]}`;
    bus.publish(core.portFound('bench', ts, target, v.getUint16(off + 4, true), 'tcp', 'open', 'syn-ack', bytes[off + 48]));
  }
};
// One and two producers alternate round by round, so drift on a shared machine hits both alike.
const runs = { 1: [], 2: [] };
for (let i = 0; i < rounds; i++) {
  for (const producers of [1, 2]) runs[producers].push(await bench.handoff({ producers, rate: rate / producers, seconds, deliver }));
}
const perRecord = {};
for (const producers of [1, 2]) {
  const ns = runs[producers].map((r) => r.mainThreadNsPerRecord);
  const mid = runs[producers][ns.indexOf(median(ns))];
  perRecord[producers] = median(ns);
  emit(`handoff.bus.p${producers}`, { totalRate: rate, nsPerRecord: Math.round(median(ns) * 10) / 10, worst: Math.round(Math.max(...ns) * 10) / 10, best: Math.round(Math.min(...ns) * 10) / 10, delivered: mid.delivered, overflow: mid.overflow, wakeups: mid.wakeups });
}
emit('handoff.bus.ratio', { twoOverOne: Math.round((perRecord[2] / perRecord[1]) * 100) / 100 });
if (seen === 0) throw new Error('no events reached the subscriber');
