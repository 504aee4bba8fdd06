/**
 * Latency of results from the native ring to the bus: how long after the capture
 * thread received a reply its PortFound reached subscribers (publish is synchronous, so
 * the flush's clock read is when subscribers get it, to within the publish loop).
 * Fixed 0.1 ms buckets up to 10 s (no allocation per sample); longer ones land in the last.
 */
const BUCKET_MS = 0.1;
const BUCKETS = 100_000;

export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #n = 0;
  #max = 0;

  get count(): number {
    return this.#n;
  }

  get maxMs(): number {
    return this.#max;
  }

  add(ms: number): void {
    if (!(ms >= 0)) ms = 0; // clock steps between threads: never a negative latency
    if (ms > this.#max) this.#max = ms;
    const b = Math.floor(ms / BUCKET_MS);
    this.#counts[b < BUCKETS ? b : BUCKETS - 1]++;
    this.#n++;
  }

  /** The q-quantile (0 < q ≤ 1) in ms, as the upper edge of its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.#n === 0) return 0;
    const rank = Math.ceil(q * this.#n);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.#counts[b];
      // The last bucket holds everything from 10 s up: its only honest edge is the largest sample.
      if (seen >= rank) return b === BUCKETS - 1 ? this.#max : Math.min(this.#max, (b + 1) * BUCKET_MS);
    }
    return this.#max;
  }
}
