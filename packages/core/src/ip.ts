import { AddressError } from './errors.js';

/**
 * IPv4 as an unsigned 32-bit number, or -1 when `s` is not a dotted quad.
 * Hand-rolled: filters evaluate it per event, so no regex and no allocation.
 */
export function parseIPv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      acc = acc * 256 + part;
      part = 0; digits = 0; dots++;
      if (dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // no leading zeros ("010" is ambiguous: octal to some tools)
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + part;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * IPv6 as eight 16-bit groups, or null. Accepts `::` compression and an
 * embedded dotted IPv4 tail; rejects zone ids (`%eth0`) and brackets.
 */
export function parseIPv6(s: string): Uint16Array | null {
  if (s.length < 2 || s.length > 45) return null;
  const out = new Uint16Array(8);
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return null;
  const head = dbl === -1 ? s : s.slice(0, dbl);
  const tail = dbl === -1 ? '' : s.slice(dbl + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const groups: number[] = [];
  const all = [...headParts, ...tailParts];
  let v4tail = -1;
  for (let i = 0; i < all.length; i++) {
    const p = all[i];
    if (i === all.length - 1 && p.includes('.')) {
      if (dbl !== -1 && tailParts.length === 0) return null; // "1.2.3.4::": the dotted quad must end the address
      v4tail = parseIPv4(p);
      if (v4tail < 0) return null;
      continue;
    }
    if (p.length === 0 || p.length > 4 || !/^[0-9a-fA-F]+$/.test(p)) return null;
    groups.push(parseInt(p, 16));
  }
  const needed = v4tail >= 0 ? 6 : 8;
  if (dbl === -1) {
    if (groups.length !== needed) return null;
  } else if (groups.length > needed - 1) return null;
  const headCount = v4tail >= 0 && tailParts.length === 0 ? headParts.length - 1 : headParts.length;
  for (let i = 0; i < headCount; i++) out[i] = groups[i];
  const tailGroups = groups.slice(headCount);
  const tailStart = needed - tailGroups.length;
  for (let i = 0; i < tailGroups.length; i++) out[tailStart + i] = tailGroups[i];
  if (v4tail >= 0) {
    out[6] = v4tail >>> 16;
    out[7] = v4tail & 0xffff;
  }
  return out;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`, leftmost on ties. */
export function formatIPv6(g: ArrayLike<number>): string {
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail.
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${g[6] >>> 8}.${g[6] & 255}.${g[7] >>> 8}.${g[7] & 255}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += g[i].toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

/** The RFC 5952 form of an IPv6 address; throws AddressError if it is not one. */
export function canonicalIPv6(s: string): string {
  const g = parseIPv6(s);
  if (g === null) throw new AddressError(s, `"${s}" is not an IPv6 address (e.g. 2001:db8::1)`);
  return formatIPv6(g);
}

/** The canonical text of an IPv4 or IPv6 address; throws AddressError otherwise. */
export function canonicalIP(s: string): string {
  if (s.indexOf(':') === -1) {
    const v4 = parseIPv4(s);
    if (v4 < 0) throw new AddressError(s, `"${s}" is not an IP address (e.g. 192.0.2.1 or 2001:db8::1)`);
    return s;
  }
  return canonicalIPv6(s);
}

export function isIP(s: string): boolean {
  return s.indexOf(':') === -1 ? parseIPv4(s) >= 0 : parseIPv6(s) !== null;
}

/** A parsed CIDR (or single address), matched against address strings without allocation for IPv4. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly text: string;
  readonly prefix: number;
  /** IPv4: network address. */
  readonly v4: number;
  /** IPv4: mask as unsigned number. */
  readonly v4mask: number;
  /** IPv6: network groups. */
  readonly v6: Uint16Array | null;
}

export function parseCidr(input: string): Cidr {
  const slash = input.indexOf('/');
  const addr = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? '' : input.slice(slash + 1);
  const isV6 = addr.indexOf(':') !== -1;
  const max = isV6 ? 128 : 32;
  let prefix = max;
  if (slash !== -1) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new AddressError(input, `"${input}": prefix length must be 0–${max} (e.g. ${isV6 ? '2001:db8::/64' : '10.0.0.0/24'})`);
    }
    prefix = Number(prefixText);
  }
  if (!isV6) {
    const v = parseIPv4(addr);
    if (v < 0) throw new AddressError(input, `"${input}" is not an IPv4 address or CIDR (e.g. 10.0.0.0/24)`);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const net = (v & mask) >>> 0;
    return { family: 4, text: `${formatIPv4(net)}/${prefix}`, prefix, v4: net, v4mask: mask, v6: null };
  }
  const g = parseIPv6(addr);
  if (g === null) throw new AddressError(input, `"${input}" is not an IPv6 address or CIDR (e.g. 2001:db8::/64)`);
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    g[i] &= bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  }
  return { family: 6, text: `${formatIPv6(g)}/${prefix}`, prefix, v4: 0, v4mask: 0, v6: g };
}

export function cidrContains(c: Cidr, address: string): boolean {
  if (c.family === 4) {
    const v = parseIPv4(address);
    return v >= 0 && ((v & c.v4mask) >>> 0) === c.v4;
  }
  if (address.indexOf(':') === -1) return false;
  const g = parseIPv6(address);
  if (g === null) return false;
  const net = c.v6 as Uint16Array;
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, c.prefix - i * 16));
    if (bits === 0) return true;
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((g[i] & mask) !== net[i]) return false;
  }
  return true;
}
