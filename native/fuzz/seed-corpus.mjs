#!/usr/bin/env node
// Seeds fuzz/corpus from the pcap fixtures: one file per distinct frame, prefixed with the
// selector byte parser_fuzz.cc reads (link type in the low 2 bits). Names are content hashes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const fixtures = join(dir, '..', 'test', 'fixtures');
const corpus = join(dir, 'corpus');
mkdirSync(corpus, { recursive: true });
const SELECTOR = { 1: 0, 113: 1, 276: 2, 101: 3 };
let n = 0;
for (const name of readdirSync(fixtures).filter((f) => f.endsWith('.pcap'))) {
  const b = readFileSync(join(fixtures, name));
  const sel = SELECTOR[b.readUInt32LE(20)];
  for (let off = 24; off + 16 <= b.length; ) {
    const len = b.readUInt32LE(off + 8);
    const unit = Buffer.concat([Buffer.from([sel]), b.subarray(off + 16, off + 16 + len)]);
    writeFileSync(join(corpus, createHash('sha1').update(unit).digest('hex')), unit);
    off += 16 + len;
    n++;
  }
}
console.log(`seeded ${n} frames (${readdirSync(corpus).length} distinct) into ${corpus}`);
