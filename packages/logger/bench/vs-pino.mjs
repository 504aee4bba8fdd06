// Events per second from publish to bytes on disk: @portflow/logger against
// pino writing equivalent objects (pino.destination({ sync: false, minLength: 8192 })),
// same process, rounds interleaved. Both get the event loop every 10,000
// events, as a scan's batches do. Run: pnpm --filter @portflow/logger bench
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, portFound, toJSON } from '@portflow/core';
import pino from 'pino';
import { EventLogger } from '../dist/index.js';

const N = Number(process.env.EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const YIELD_EVERY = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'pf-logger-bench-'));
const tick = () => new Promise((r) => setImmediate(r));

// A pool of distinct events, as a scan of a /16 would produce.
const POOL = 4096;
function pool(ts) {
  return Array.from({ length: POOL }, (_, i) => portFound('7f0c6c1e-9f1b-4c55-8f0e-2d7b9c1a0e11', ts, `10.1.${(i >> 8) & 255}.${i & 255}`, 1 + ((i * 7919) % 65535), 'tcp', i % 5 === 0 ? 'closed' : 'open', 'syn-ack', 64));
}

async function runPortflow(round) {
  const path = join(dir, `portflow-${round}.jsonl`);
  const bus = new EventBus({ historySize: 0 });
  // sonic-boom buffers without a bound (maxLength 0): give ours room too, so neither drops.
  const log = new EventLogger(path, bus, { handleExit: false, maxBufferedBytes: 1024 * 1024 * 1024 });
  const events = pool(Date.now());
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; ) {
    const end = Math.min(N, i + YIELD_EVERY);
    for (; i < end; i++) bus.publish(events[i & (POOL - 1)]);
    await tick();
  }
  const stats = await log.close();
  const ns = Number(process.hrtime.bigint() - t0);
  const bytes = statSync(path).size;
  rmSync(path);
  if (stats.eventsDropped !== 0) throw new Error(`portflow dropped ${stats.eventsDropped} events: the figure would be invalid`);
  return { ns, bytes };
}

async function runPino(round) {
  const path = join(dir, `pino-${round}.jsonl`);
  const dest = pino.destination({ dest: path, sync: false, minLength: 8192 });
  // Like for like: no pid/hostname, an ISO time as the wire format has, the same fields.
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  const events = pool(Date.now());
  await new Promise((r) => dest.once('ready', r));
  const t0 = process.hrtime.bigint();
  let seq = 0;
  for (let i = 0; i < N; ) {
    const end = Math.min(N, i + YIELD_EVERY);
    for (; i < end; i++) {
      const e = events[i & (POOL - 1)];
      e.seq = ++seq; // what the bus does
      logger.info(e);
    }
    await tick();
  }
  await new Promise((resolve, reject) => {
    dest.once('close', resolve);
    dest.once('error', reject);
    dest.end();
  });
  const ns = Number(process.hrtime.bigint() - t0);
  const bytes = statSync(path).size;
  rmSync(path);
  return { ns, bytes };
}

/** core's toJSON alone, for scale: the floor under any writer of the wire format. */
async function runSerializeOnly() {
  const events = pool(Date.now());
  const t0 = process.hrtime.bigint();
  let chars = 0;
  for (let i = 0; i < N; i++) {
    const e = events[i & (POOL - 1)];
    e.seq = i + 1;
    chars += toJSON(e).length;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, bytes: chars };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const res = { portflow: [], pino: [], toJSONOnly: [] };
let bytes = { portflow: 0, pino: 0, toJSONOnly: 0 };
await runPortflow('warm');
await runPino('warm');
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of r % 2 === 0 ? [['portflow', runPortflow], ['pino', runPino]] : [['pino', runPino], ['portflow', runPortflow]]) {
    const { ns, bytes: b } = await fn(r);
    res[name].push((N / ns) * 1e9);
    bytes[name] = b;
  }
  const { ns } = await runSerializeOnly();
  res.toJSONOnly.push((N / ns) * 1e9);
}
rmSync(dir, { recursive: true, force: true });
const out = {};
for (const name of ['portflow', 'pino', 'toJSONOnly']) {
  out[name] = {
    eventsPerSec: Math.round(median(res[name])),
    runs: res[name].map((x) => Math.round(x)),
    bytesPerEvent: +(bytes[name] / N).toFixed(1),
  };
}
console.log(JSON.stringify({ node: process.version, events: N, rounds: ROUNDS, ...out, ratio: +(out.portflow.eventsPerSec / out.pino.eventsPerSec).toFixed(2) }, null, 2));
