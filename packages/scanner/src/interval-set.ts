// Sorted, disjoint, inclusive ranges of bigints: the set algebra behind
// deduplication and exclusion, with memory in ranges, never in members.

export type Range = readonly [lo: bigint, hi: bigint];

/** Sorts and merges overlapping or adjacent ranges. */
export function normalizeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** a minus b; both normalized. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [alo, ahi] of a) {
    let lo = alo;
    while (j < b.length && b[j][1] < lo) j++;
    let k = j;
    while (k < b.length && b[k][0] <= ahi && lo <= ahi) {
      const [blo, bhi] = b[k];
      if (blo > lo) out.push([lo, blo - 1n]);
      if (bhi >= ahi) {
        lo = ahi + 1n;
        break;
      }
      lo = bhi + 1n;
      k++;
    }
    if (lo <= ahi) out.push([lo, ahi]);
  }
  return out;
}

export function rangesSize(ranges: readonly Range[]): bigint {
  let n = 0n;
  for (const [lo, hi] of ranges) n += hi - lo + 1n;
  return n;
}

/** Binary search: does the normalized set contain v? */
export function rangesHas(ranges: readonly Range[], v: bigint): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (v < ranges[mid][0]) hi = mid - 1;
    else if (v > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** IPv4-sized ranges as plain numbers (exact below 2^53): the common path, many times faster to sort than bigints. */
export type NumberRange = [lo: number, hi: number];

// Sorting keys lo * 2^21 + i stay exact below 2^53 for lo < 2^32 and up to
// 2^21 ranges; a Float64Array sorts them natively, far faster than a comparator.
const KEY_SLOTS = 2 ** 21;

function sortByLo(ranges: readonly NumberRange[]): readonly NumberRange[] {
  const n = ranges.length;
  let fits = n <= KEY_SLOTS;
  for (let i = 0; fits && i < n; i++) fits = ranges[i][0] < 2 ** 32;
  if (!fits) return [...ranges].sort((a, b) => a[0] - b[0]);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ranges[i][0] * KEY_SLOTS + i;
  keys.sort();
  const out = new Array<NumberRange>(n);
  for (let i = 0; i < n; i++) out[i] = ranges[keys[i] % KEY_SLOTS];
  return out;
}

export function normalizeNumberRanges(ranges: readonly NumberRange[]): NumberRange[] {
  const out: NumberRange[] = [];
  for (const [lo, hi] of sortByLo(ranges)) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** a minus b; both normalized. */
export function subtractNumberRanges(a: readonly NumberRange[], b: readonly NumberRange[]): NumberRange[] {
  const out: NumberRange[] = [];
  let j = 0;
  for (const [alo, ahi] of a) {
    let lo = alo;
    while (j < b.length && b[j][1] < lo) j++;
    for (let k = j; k < b.length && b[k][0] <= ahi && lo <= ahi; k++) {
      const [blo, bhi] = b[k];
      if (blo > lo) out.push([lo, blo - 1]);
      lo = bhi + 1;
    }
    if (lo <= ahi) out.push([lo, ahi]);
  }
  return out;
}
