#!/usr/bin/env node
// Scan-job figures (issue 15): time to build a /8 x all-ports job, memory as
// the job grows, and indices mapped to (address, port) per second on one core.
// Run after `pnpm --filter @portflow/scanner build`:
//   node --expose-gc packages/scanner/scripts/bench-job.mjs [--json] [--large]
// --large adds a target file of 1M random IPv4 addresses (parse, set, job,
// and 5M probes pulled in random order across ~1M segments).
// Prints figures, never pass/fail: thresholds belong to the benchmark suite.
import { benchJobMap } from '@portflow/native';
import { buildTargetSet, createScanJob, parsePorts, parseTargetFile, parseTargets } from '../dist/index.js';

const json = process.argv.includes('--json');
const gc = globalThis.gc ?? (() => {});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function buildJob(targets, ports) {
  return createScanJob({ targets: buildTargetSet(parseTargets(targets)), ports: parsePorts(ports), seed: 1n });
}

function timeBuild(targets, ports, runs = 31) {
  const t0 = process.hrtime.bigint();
  buildJob(targets, ports);
  const first = Number(process.hrtime.bigint() - t0) / 1e6;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    buildJob(targets, ports);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return { firstMs: first, medianMs: median(times) };
}

const figures = {};
figures.build_slash8_all_ports = timeBuild('10.0.0.0/8', '-');
figures.build_octets_254x4_all_ports = timeBuild('1-254.1-254.1-254.1-254', '-');

// Memory: bytes per job held (JS heap + native, via RSS), for jobs of growing
// size, 2,000 of each so allocator noise averages out. A constant figure per
// job means memory does not grow with the size of the index space.
const sizes = [
  ['10.0.0.0/24', '1-1024'],
  ['10.0.0.0/8', '-'],
  ['0.0.0.0/0', '1-2047'],
  ['1-254.1-254.1-254.1-254', '-'],
];
const held = [];
figures.memory_per_job = [];
for (const [t, p] of sizes) buildJob(t, p); // warm up code paths and the port table
for (const [t, p] of sizes) {
  gc();
  const before = process.memoryUsage().rss;
  const jobs = [];
  for (let i = 0; i < 2000; i++) jobs.push(buildJob(t, p));
  gc();
  const after = process.memoryUsage().rss;
  held.push(jobs[0]);
  figures.memory_per_job.push({ targets: t, ports: p, count: jobs[0].count, rssBytesPerJob: Math.round((after - before) / 2000) });
}

// Mapping rate: native loops (no JS per index), then JS pulling batches.
const N = 50_000_000;
figures.native_map_random_ns = median([1, 2, 3, 4, 5].map(() => benchJobMap(N, false)));
figures.native_map_natural_ns = median([1, 2, 3, 4, 5].map(() => benchJobMap(N, true)));
const job = held[1];
figures.job_benchMap_random_ns = median([1, 2, 3].map(() => job.benchMap(N)));
{
  const j = buildJob('10.0.0.0/8', '-');
  const batch = j.createBatch(4096);
  const total = 20_000_000;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < total; done += batch.size) {
    j.nextBatch(batch);
    j.markDoneRange(batch.start, batch.size);
    for (let i = 0; i < batch.size; i++) sink += batch.port(i);
  }
  const ns = Number(process.hrtime.bigint() - t0) / total;
  figures.js_nextBatch_markDone_read_port_ns = ns;
  if (sink === -1) console.log(sink);
}

if (process.argv.includes('--large')) {
  const lines = [];
  let x = 12345;
  for (let i = 0; i < 1_000_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines.push(`${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`);
  }
  const text = lines.join('\n');
  const t0 = performance.now();
  const tokens = parseTargetFile(text, 'large.txt');
  const t1 = performance.now();
  const set = buildTargetSet(tokens, parseTargets('10.0.0.0/8 *.*.*.1'));
  const t2 = performance.now();
  const j = createScanJob({ targets: set, ports: parsePorts('fast'), seed: 1n });
  const t3 = performance.now();
  const batch = j.createBatch(4096);
  let pulled = 0;
  const t4 = performance.now();
  while (pulled < 5_000_000 && j.nextBatch(batch) > 0) pulled += batch.size;
  const t5 = performance.now();
  figures.large_file = { addresses: Number(set.size), segments: set.ipv4.length, parseMs: t1 - t0, buildSetMs: t2 - t1, buildJobMs: t3 - t2, pullNsPerProbe: ((t5 - t4) * 1e6) / pulled };
}

if (json) console.log(JSON.stringify(figures, null, 2));
else {
  const f = figures;
  console.log(`build /8 x 65535 ports (${(2 ** 24 * 65535).toLocaleString('en')} probes): first ${f.build_slash8_all_ports.firstMs.toFixed(3)} ms, median ${f.build_slash8_all_ports.medianMs.toFixed(3)} ms`);
  console.log(`build 1-254.1-254.1-254.1-254 x 65535 ports: first ${f.build_octets_254x4_all_ports.firstMs.toFixed(3)} ms, median ${f.build_octets_254x4_all_ports.medianMs.toFixed(3)} ms`);
  for (const h of f.memory_per_job) console.log(`memory per job held, ${h.targets} x ${h.ports} (${h.count.toLocaleString('en')} probes): ${h.rssBytesPerJob} bytes (RSS)`);
  console.log(`native map, random order: ${f.native_map_random_ns.toFixed(2)} ns/index (${(1000 / f.native_map_random_ns).toFixed(1)} M/s)`);
  console.log(`native map, natural order: ${f.native_map_natural_ns.toFixed(2)} ns/index (${(1000 / f.native_map_natural_ns).toFixed(1)} M/s)`);
  console.log(`job.benchMap (/8 x all, random): ${f.job_benchMap_random_ns.toFixed(2)} ns/index`);
  console.log(`JS nextBatch(4096) + markDoneRange + read port: ${f.js_nextBatch_markDone_read_port_ns.toFixed(2)} ns/probe (${(1000 / f.js_nextBatch_markDone_read_port_ns).toFixed(1)} M/s)`);
  const l = f.large_file;
  if (l) console.log(`1M-address file (${l.addresses} after exclusions, ${l.segments} segments) x fast ports: parse ${l.parseMs.toFixed(0)} ms, set ${l.buildSetMs.toFixed(0)} ms, job ${l.buildJobMs.toFixed(0)} ms, pull ${l.pullNsPerProbe.toFixed(0)} ns/probe`);
}
