// gzip ratio of a realistic scan log, compressed the way rotation does it
// (worker thread, level 6 by default, 4 MiB gzip members).
// Run: node bench/gzip-ratio.mjs
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '@portflow/core';
import { EventLogger } from '../dist/index.js';
import { realisticScan } from './scan-log.mjs';

const dir = mkdtempSync(join(tmpdir(), 'pf-gzip-'));
const path = join(dir, 'scans.jsonl');
const level = Number(process.env.LEVEL ?? 6);
const bus = new EventBus({ historySize: 0 });
const log = new EventLogger(path, bus, { compress: { level }, handleExit: false });
log.startScan('3b9d7c2e-5f4a-4e1b-9c8d-7a6b5c4d3e2f', { rate: 20000, ports: 'top-1000', targets: ['10.20.0.0/20'] });
const hosts = Number(process.env.HOSTS ?? 16384);
let n = 0;
const events = [];
realisticScan((e) => events.push(e), { hosts });
for (let i = 0; i < events.length; i += 5000) {
  for (const e of events.slice(i, i + 5000)) bus.publish(e);
  n += Math.min(5000, events.length - i);
  await new Promise((r) => setImmediate(r));
}
await log.flush();
const raw = statSync(path).size;
log.rotate();
const t0 = process.hrtime.bigint();
await log.close();
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const gz = statSync(`${path}.1.gz`).size;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ events: n, rawBytes: raw, gzBytes: gz, ratio: +(raw / gz).toFixed(1), level, compressMs: Math.round(ms) }));
