// Text ↔ bytes for IP and MAC addresses, validated once at the API boundary.
import { isIP } from 'node:net';
import { PacketOptionError } from './errors.js';

/** IPv4 (4 bytes) or IPv6 (16 bytes) in network order. */
export function ipToBytes(field: string, text: string): Buffer {
  const family = typeof text === 'string' ? isIP(text) : 0;
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family === 6) {
    if (text.includes('%')) throw new PacketOptionError(field, `${field}: "${text}" has a zone index; give the address without %zone`);
    return ipv6ToBytes(text);
  }
  throw new PacketOptionError(field, `${field}: "${String(text)}" is not an IPv4 or IPv6 address (e.g. "192.0.2.1" or "2001:db8::1")`);
}

function ipv6ToBytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  let words: string[];
  const dbl = text.indexOf('::');
  let tailV4: number[] | undefined;
  const lastColon = text.lastIndexOf(':');
  let body = text;
  if (text.includes('.', lastColon)) {
    tailV4 = text.slice(lastColon + 1).split('.').map(Number);
    body = text.slice(0, lastColon + 1) + '0:0';
  }
  if (dbl >= 0) {
    const head = body.slice(0, body.indexOf('::')).split(':').filter((w) => w !== '');
    const tail = body.slice(body.indexOf('::') + 2).split(':').filter((w) => w !== '');
    words = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  } else {
    words = body.split(':');
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(words[i], 16), i * 2);
  if (tailV4) for (let i = 0; i < 4; i++) out[12 + i] = tailV4[i];
  return out;
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function macToBytes(field: string, text: string): Buffer {
  if (typeof text !== 'string' || !MAC_RE.test(text)) {
    throw new PacketOptionError(field, `${field}: "${String(text)}" is not a MAC address (e.g. "02:00:00:00:00:01")`);
  }
  return Buffer.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
}

/** Formats 4 or 16 address bytes at `offset` the way Node does (RFC 5952 for IPv6). */
export function bytesToIp(bytes: Uint8Array, offset: number, family: 4 | 6): string {
  if (family === 4) return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  // Longest run of ≥ 2 zero words becomes "::" (first one on ties).
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best === 0 && bestLen === 5 && w[5] === 0xffff) {
    return `::ffff:${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}
