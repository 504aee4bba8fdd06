// Does compressing rotated logs delay dns.lookup or log writes, which share
// libuv's threadpool? Latency of dns.lookup('localhost') (resolved from
// /etc/hosts: no packet leaves the machine) and of 8 KiB fs.write calls,
// measured idle, while the logger's worker gzips a rotated file, and, for
// contrast, while zlib.createGzip() (threadpool) compresses the same file.
// Run: node bench/threadpool.mjs
import { createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, rmSync, write, writeFileSync, readFileSync } from 'node:fs';
import { lookup } from 'node:dns';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { EventBus, toJSON } from '@portflow/core';
import { EventLogger } from '../dist/index.js';
import { realisticScan } from './scan-log.mjs';

const dir = mkdtempSync(join(tmpdir(), 'pf-tp-'));
const REPEAT = Number(process.env.REPEAT ?? 8);
let text = '';
realisticScan((e) => {
  e.seq = 1;
  text += `${toJSON(e)}\n`;
});
const big = join(dir, 'big.jsonl');
writeFileSync(big, text.repeat(REPEAT));
const size = readFileSync(big).length;

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
function summary(name, lat) {
  lat.sort((a, b) => a - b);
  return { phase: name, n: lat.length, p50us: Math.round(pct(lat, 0.5)), p99us: Math.round(pct(lat, 0.99)), maxus: Math.round(lat.at(-1)) };
}

/** 4 concurrent dns.lookup loops and one 8 KiB write loop until `done()`. */
async function probe(done) {
  const dns = [], wr = [];
  const fd = openSync(join(dir, 'probe.log'), 'w');
  const chunk = Buffer.alloc(8192, 97);
  const dnsLoop = () =>
    new Promise((resolve) => {
      const one = () => {
        if (done()) return resolve();
        const t = process.hrtime.bigint();
        lookup('localhost', () => {
          dns.push(Number(process.hrtime.bigint() - t) / 1e3);
          one();
        });
      };
      one();
    });
  const writeLoop = () =>
    new Promise((resolve) => {
      const one = () => {
        if (done()) return resolve();
        const t = process.hrtime.bigint();
        write(fd, chunk, () => {
          wr.push(Number(process.hrtime.bigint() - t) / 1e3);
          setTimeout(one, 1);
        });
      };
      one();
    });
  await Promise.all([dnsLoop(), dnsLoop(), dnsLoop(), dnsLoop(), writeLoop()]);
  return { dns, wr };
}

const results = [];
// Idle, for as long as the worker phase takes (measured first, then reused).
const path = join(dir, 'scans.jsonl');
writeFileSync(`${path}.1`, readFileSync(big));
const t0 = Date.now();
const bus = new EventBus();
const log = new EventLogger(path, bus, { compress: true, handleExit: false }); // finds .1 uncompressed and gzips it in the worker
const w = await probe(() => !existsSync(`${path}.1`));
const workerMs = Date.now() - t0;
await log.close();

const t1 = Date.now();
const idle = await probe(() => Date.now() - t1 > workerMs);

const t2 = Date.now();
let finished = false;
createReadStream(big).pipe(createGzip()).pipe(createWriteStream(join(dir, 'big.jsonl.gz'))).on('finish', () => (finished = true));
const tp = await probe(() => finished);
const tpMs = Date.now() - t2;

results.push({ ...summary('idle dns.lookup', idle.dns) }, { ...summary('idle 8KiB write', idle.wr) });
results.push({ ...summary('worker gzip: dns.lookup', w.dns) }, { ...summary('worker gzip: 8KiB write', w.wr) });
results.push({ ...summary('threadpool zlib: dns.lookup', tp.dns) }, { ...summary('threadpool zlib: 8KiB write', tp.wr) });
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ fileMB: +(size / 1e6).toFixed(1), workerGzipMs: workerMs, threadpoolGzipMs: tpMs }));
console.table(results);
