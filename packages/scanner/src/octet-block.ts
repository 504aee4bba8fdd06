// IPv4 per-octet blocks such as 10.0-3.1,5.1-254: a product of four octet
// value sets, stored as four 256-entry membership tables and never expanded.
// The difference of two blocks is at most four blocks and a contiguous range
// is at most seven, so exclusions and deduplication stay exact and small.

/** Four octets, each a 256-entry table: 1 where the value is in the set. */
export type OctetBlock = readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];

export function octetCount(o: Uint8Array): number {
  let n = 0;
  for (let v = 0; v < 256; v++) n += o[v];
  return n;
}

export function blockSize(b: OctetBlock): number {
  return octetCount(b[0]) * octetCount(b[1]) * octetCount(b[2]) * octetCount(b[3]);
}

function isFull(o: Uint8Array): boolean {
  return octetCount(o) === 256;
}

function intervals(o: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let v = 0; v < 256; v++) {
    if (!o[v]) continue;
    let e = v;
    while (e + 1 < 256 && o[e + 1]) e++;
    out.push([v, e]);
    v = e;
  }
  return out;
}

/** How many contiguous address runs the block covers. */
export function blockRuns(b: OctetBlock): number {
  let last = 3;
  while (last > 0 && isFull(b[last])) last--;
  let runs = intervals(b[last]).length;
  for (let i = 0; i < last; i++) runs *= octetCount(b[i]);
  return runs;
}

/** The block's contiguous runs as [lo, hi] address pairs, ascending. */
export function blockToRanges(b: OctetBlock): [number, number][] {
  let last = 3;
  while (last > 0 && isFull(b[last])) last--;
  const span = 256 ** (3 - last);
  const ivs = intervals(b[last]);
  let prefixes: number[] = [0];
  for (let i = 0; i < last; i++) {
    const next: number[] = [];
    for (const p of prefixes) for (let v = 0; v < 256; v++) if (b[i][v]) next.push(p * 256 + v);
    prefixes = next;
  }
  const out: [number, number][] = [];
  for (const p of prefixes) {
    const base = p * 256 ** (4 - last);
    for (const [lo, hi] of ivs) out.push([base + lo * span, base + (hi + 1) * span - 1]);
  }
  return out;
}

function octet(lo: number, hi: number): Uint8Array {
  const o = new Uint8Array(256);
  o.fill(1, lo, hi + 1);
  return o;
}

/** A contiguous range [lo, hi] as at most seven disjoint blocks. */
export function rangeToBlocks(lo: number, hi: number): OctetBlock[] {
  const out: OctetBlock[] = [];
  let cur = lo;
  while (cur <= hi) {
    // Largest t (trailing full octets) with cur aligned and one unit fitting.
    let t = 3;
    while (t > 0 && (cur % 256 ** t !== 0 || cur + 256 ** t - 1 > hi)) t--;
    const unit = 256 ** t;
    const pos = 3 - t; // the octet that carries the interval
    const first = Math.floor(cur / unit) % 256;
    const maxUnits = Math.min(256 - first, Math.floor((hi - cur + 1) / unit));
    const last = first + maxUnits - 1;
    const octets: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      if (i < pos) {
        const v = Math.floor(cur / 256 ** (3 - i)) % 256;
        octets.push(octet(v, v));
      } else if (i === pos) octets.push(octet(first, last));
      else octets.push(octet(0, 255));
    }
    out.push(octets as unknown as OctetBlock);
    cur += maxUnits * unit;
  }
  return out;
}

function and(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(256);
  for (let v = 0; v < 256; v++) o[v] = a[v] & b[v];
  return o;
}

function andNot(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(256);
  for (let v = 0; v < 256; v++) o[v] = a[v] & (b[v] ^ 1);
  return o;
}

export function blocksIntersect(a: OctetBlock, b: OctetBlock): boolean {
  for (let i = 0; i < 4; i++) {
    let any = 0;
    for (let v = 0; v < 256 && any === 0; v++) any = a[i][v] & b[i][v];
    if (any === 0) return false;
  }
  return true;
}

/** a minus b as at most four disjoint blocks. */
export function blockMinus(a: OctetBlock, b: OctetBlock): OctetBlock[] {
  if (!blocksIntersect(a, b)) return [a];
  const out: OctetBlock[] = [];
  for (let i = 0; i < 4; i++) {
    const diff = andNot(a[i], b[i]);
    if (octetCount(diff) === 0) continue;
    const piece: Uint8Array[] = [];
    for (let j = 0; j < 4; j++) piece.push(j < i ? and(a[j], b[j]) : j === i ? diff : a[j]);
    out.push(piece as unknown as OctetBlock);
  }
  return out;
}

export function blockMin(b: OctetBlock): number {
  return ((b[0].indexOf(1) * 256 + b[1].indexOf(1)) * 256 + b[2].indexOf(1)) * 256 + b[3].indexOf(1);
}

export function blockMax(b: OctetBlock): number {
  return ((b[0].lastIndexOf(1) * 256 + b[1].lastIndexOf(1)) * 256 + b[2].lastIndexOf(1)) * 256 + b[3].lastIndexOf(1);
}

export function blockHas(b: OctetBlock, addr: number): boolean {
  return b[0][addr >>> 24] === 1 && b[1][(addr >>> 16) & 255] === 1 && b[2][(addr >>> 8) & 255] === 1 && b[3][addr & 255] === 1;
}

/** nmap-style text: "*" for a full octet, else "a,b-c" lists. */
export function formatBlock(b: OctetBlock): string {
  return b
    .map((o) => (isFull(o) ? '*' : intervals(o).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',')))
    .join('.');
}

/** The native layout's four 256-bit bitmaps (32 words, octet-major). */
export function blockBits(b: OctetBlock, out: Uint32Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    for (let v = 0; v < 256; v++) if (b[i][v]) out[offset + i * 8 + (v >>> 5)] |= 1 << (v & 31);
  }
}

export function makeOctet(intervalsList: readonly (readonly [number, number])[]): Uint8Array {
  const o = new Uint8Array(256);
  for (const [lo, hi] of intervalsList) o.fill(1, lo, hi + 1);
  return o;
}
