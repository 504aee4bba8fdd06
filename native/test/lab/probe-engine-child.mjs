// Runs one ProbeEngine inside a lab's scanner namespace (spawned there by the lab tests and
// bench-send.mjs) and prints one JSON object on stdout: every reply and outcome record
// (decoded), the counters, and what the optional pause step measured.
// Input (JSON on stdin): { targets: { v4: [addr], v6: [addr], v4Range?: [first, last] }, ports: [[kind, first, last]],
//   options: ProbeEngineOptions without job (link, rate, ...), natural?, seed?,
//   pause?: { afterMs, forMs, counter: [cmd, ...args] } }
//   countOnly?, rateSamples?: [{ setRate?, waitMs }], stopAfterMs?
// stderr gets "READY" once the engine has started (the test may then forge packets).
import { execFileSync } from 'node:child_process';
import { ProbeEngine, RECORD_SIZE, RecordKind, decodeRecord, ipToBytes } from '../../dist/index.js';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (s += d));
  process.stdin.on('end', () => resolve(s));
}));

// Job layout: one range segment per address (sorted, IPv4 first), as index_space.h reads them.
// v4Range: one [first, last] IPv4 range instead of single addresses (benchmarks).
function segments(v4, v6, v4Range) {
  const words = [];
  if (v4Range) {
    const [a, b] = v4Range.map((x) => ipToBytes('v4Range', x).readUInt32BE(0));
    words.push(4, 0, 0, 0, 0, a, 0, 0, 0, b);
  }
  const v4n = [...new Set(v4)].map((a) => ipToBytes('v4', a).readUInt32BE(0)).sort((a, b) => a - b);
  for (const n of v4n) words.push(4, 0, 0, 0, 0, n, 0, 0, 0, n);
  const v6b = [...new Set(v6)].map((a) => ipToBytes('v6', a)).sort(Buffer.compare);
  for (const b of v6b) {
    const w = [0, 1, 2, 3].map((i) => b.readUInt32BE(i * 4));
    words.push(6, 0, ...w, ...w);
  }
  return new Uint32Array(words);
}

const job = {
  segments: segments(input.targets.v4 ?? [], input.targets.v6 ?? [], input.targets.v4Range),
  blockBits: new Uint32Array(0),
  ports: new Uint32Array(input.ports.flat()),
  seed: BigInt(input.seed ?? 7),
  natural: input.natural ?? false,
  shardIndex: 0,
  shardCount: 1,
  position: 0,
};

const replies = [];
const outcomes = [];
// countOnly (benchmarks): count records by kind, decode nothing.
const kinds = {};
const countAll = (b) => {
  for (let k = 0; k < b.count; k++) {
    const kind = b.bytes[(b.start + k) * RECORD_SIZE + 1];
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
};
let retriesSent = 0;
let countersRecords = 0;
const decodeAll = (list) => (b) => {
  for (let k = 0; k < b.count; k++) {
    const off = (b.start + k) * RECORD_SIZE;
    const kind = b.bytes[off + 1];
    if (kind === RecordKind.RetriesSent) {
      retriesSent += b.view.getUint32(off + 32, true);
      continue;
    }
    if (kind === RecordKind.Counters) {
      countersRecords++;
      continue;
    }
    const r = decodeRecord(b.view, off);
    list.push({ kind: r.kind, addr: r.addr, port: r.port, localPort: r.localPort, proto: r.proto,
      tcpFlags: r.tcp?.flags, icmpType: r.icmp?.type, icmpCode: r.icmp?.code, reporter: r.icmp?.reporter,
      count: kind === RecordKind.NoAnswer ? b.view.getUint32(off + 32, true) : undefined, echoedSend: r.echoedSend,
      mac: r.mac, typeByte: b.bytes[off + 49] });
  }
};

const opts = input.options;
if (opts.udpPayloads) opts.udpPayloads = new Map(opts.udpPayloads.map(([p, hex]) => [p, Buffer.from(hex, 'hex')]));
const engine = new ProbeEngine({ ...opts, job, onReplies: input.countOnly ? countAll : decodeAll(replies), onOutcomes: input.countOnly ? countAll : decodeAll(outcomes) });
const t0 = performance.now();
engine.start();
process.stderr.write('READY\n');

let pause;
if (input.pause) {
  const { afterMs, forMs, counter } = input.pause;
  const read = () => execFileSync(counter[0], counter.slice(1), { encoding: 'utf8' });
  await new Promise((r) => setTimeout(r, afterMs));
  engine.pause();
  const stateWhilePaused = engine.state;
  await new Promise((r) => setTimeout(r, 100));  // a sendmmsg batch in progress lands
  const sentAtPause = engine.counters().sent;
  const before = read();
  await new Promise((r) => setTimeout(r, forMs));
  const after = read();
  const sentAfterPause = engine.counters().sent;
  engine.resume();
  pause = { before, after, sentAtPause, sentAfterPause, stateWhilePaused };
}

const rates = [];
if (input.rateSamples) {
  for (const { setRate, waitMs } of input.rateSamples) {
    if (setRate) engine.setRate(setRate);
    await new Promise((r) => setTimeout(r, waitMs));
    rates.push({ setRate, achieved: engine.counters().achievedRate });
  }
}

if (input.stopAfterMs !== undefined) {
  await new Promise((r) => setTimeout(r, input.stopAfterMs));
  await engine.stop();
}
await engine.done;
const wallMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ replies, outcomes, kinds, retriesSent, countersRecords, counters: engine.counters(), state: engine.state, pause, rates, wallMs }) + '\n');
