// Address text <-> integers: IPv4 as a number (0 .. 2^32 - 1), IPv6 as a
// bigint (0 .. 2^128 - 1). Spec parsing and set algebra work on these.
import { isIPv4, isIPv6 } from 'node:net';

export const IPV4_MAX = 0xffffffff;
export const IPV6_MAX = (1n << 128n) - 1n;

/** Strict dotted quad (no leading zeros, which some parsers read as octal); undefined if not one. */
export function parseIPv4(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  const parts = text.split('.');
  let v = 0;
  for (const p of parts) {
    if (p.length > 1 && p[0] === '0') return undefined;
    v = v * 256 + Number(p);
  }
  return v;
}

/** IPv6 text (with an optional embedded IPv4 tail); undefined if not an address. */
export function parseIPv6(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let body = text;
  let tail: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = BigInt(v4);
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  let words: string[];
  const dbl = body.indexOf('::');
  if (dbl >= 0) {
    const head = body.slice(0, dbl).split(':').filter((w) => w !== '');
    const rest = body.slice(dbl + 2).split(':').filter((w) => w !== '');
    words = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    words = body.split(':');
  }
  let v = 0n;
  for (const w of words) v = (v << 16n) | BigInt(parseInt(w, 16));
  if (tail !== undefined) v = (v & ~0xffffffffn) | tail;
  return v;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** RFC 5952 text: lowercase, longest zero run (of at least two words) as "::". */
export function formatIPv6(v: bigint): string {
  const w: number[] = [];
  for (let i = 7; i >= 0; i--) w.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** 4 or 16 network-order bytes of an address given as text; undefined if not an address. */
export function addressBytes(text: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    return { family: 4, bytes: new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]) };
  }
  const v6 = parseIPv6(text);
  if (v6 === undefined) return undefined;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((v6 >> BigInt((15 - i) * 8)) & 0xffn);
  return { family: 6, bytes };
}
