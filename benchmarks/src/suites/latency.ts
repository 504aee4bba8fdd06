import { eventType } from '@portflow/core';
import { consume } from '../harness.js';
import { makeBus, portFounds } from '../events-fixture.js';

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  count: number;
}

function summarize(lat: Float64Array): Percentiles {
  lat.sort();
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)];
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), count: lat.length };
}

const now = (): number => performance.now() * 1e6; // ns, a double: no BigInt per sample

/** publish → handler entry, per event, for a synchronous subscriber. */
export function syncLatency(count: number): Percentiles {
  const bus = makeBus();
  const evs = portFounds(1024);
  const lat = new Float64Array(count);
  let t0 = 0, k = 0;
  bus.on('PortFound', (e) => {
    lat[k++] = now() - t0;
    consume(e.port);
  });
  for (let i = 0; i < count; i++) {
    t0 = now();
    bus.publish(evs[i & 1023]);
  }
  return summarize(lat);
}

/** publish → for-await body, per event, for a stream consumer (producer yields every 256 events). */
export async function streamLatency(count: number): Promise<Percentiles> {
  const bus = makeBus();
  const evs = portFounds(256);
  const sent = new Float64Array(count + 1);
  const lat = new Float64Array(count);
  const s = bus.stream(eventType('PortFound'), { capacity: 4096 });
  const base = bus.lastSeq;
  const consumer = (async () => {
    let k = 0;
    for await (const e of s) {
      lat[k++] = now() - sent[e.seq - base];
      if (k >= count) break;
    }
  })();
  for (let i = 0; i < count; ) {
    for (let j = 0; j < 256 && i < count; j++, i++) {
      sent[i + 1] = now();
      bus.publish(evs[j]);
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  await consumer;
  return summarize(lat);
}
