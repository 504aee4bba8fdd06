import { TestnetError } from './errors.js';

/**
 * Minimal IPv4/IPv6 arithmetic for lab plans: prefixes, the n-th address of a
 * prefix, membership. IPv4 values are numbers, IPv6 values bigints, so both
 * families stay exact without a dependency.
 */
export type Family = 4 | 6;

export interface Prefix {
  readonly family: Family;
  readonly text: string;
  readonly length: number;
  /** The network address as a number (IPv4) or bigint (IPv6). */
  readonly network: bigint;
}

const V4_MAX = 0xffffffffn;
const V6_MAX = (1n << 128n) - 1n;

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: inet_aton reads them as octal, so "010" is ambiguous.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

export function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.length < 2) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

export function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** RFC 5952 text: lower case, longest run of zero groups compressed. */
export function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((value >> s) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

/** Canonical text of an address, so truth lookups match whatever spelling a scanner reports. */
export function canonicalAddress(text: string): string | undefined {
  const a = parseAddress(text);
  if (!a) return undefined;
  return a.family === 4 ? formatIPv4(a.value) : formatIPv6(a.value);
}

export function parsePrefix(text: string, what: string): Prefix {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? undefined : parseAddress(text.slice(0, slash));
  const lenText = slash < 0 ? '' : text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(lenText)) {
    throw new TestnetError('ERR_TESTNET_ADDRESS', `${what}: "${text}" is not a prefix; write it as 10.20.1.0/24 or 2001:db8::/64`);
  }
  const length = Number(lenText);
  const bits = addr.family === 4 ? 32 : 128;
  if (length > bits) {
    throw new TestnetError('ERR_TESTNET_ADDRESS', `${what}: prefix length ${length} exceeds ${bits} bits in "${text}"`);
  }
  const max = addr.family === 4 ? V4_MAX : V6_MAX;
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    throw new TestnetError('ERR_TESTNET_ADDRESS', `${what}: "${text}" has host bits set; use its network address`);
  }
  const canonical = `${addr.family === 4 ? formatIPv4(addr.value) : formatIPv6(addr.value)}/${length}`;
  return { family: addr.family, text: canonical, length, network: addr.value & (max ^ hostMask) };
}

export function prefixSize(prefix: Prefix): bigint {
  return 1n << BigInt((prefix.family === 4 ? 32 : 128) - prefix.length);
}

/** The address at `offset` inside the prefix, as text. */
export function addressAt(prefix: Prefix, offset: number | bigint, what: string): string {
  const off = BigInt(offset);
  if (off < 0n || off >= prefixSize(prefix)) {
    throw new TestnetError('ERR_TESTNET_ADDRESS', `${what}: offset ${off} lies outside ${prefix.text}`);
  }
  const value = prefix.network + off;
  return prefix.family === 4 ? formatIPv4(value) : formatIPv6(value);
}

export function prefixContains(prefix: Prefix, family: Family, value: bigint): boolean {
  if (family !== prefix.family) return false;
  const bits = BigInt((prefix.family === 4 ? 32 : 128) - prefix.length);
  return value >> bits === prefix.network >> bits;
}
