import { describe, expect, it } from 'vitest';
import { addressAt, canonicalAddress, formatIPv6, parseIPv6, parsePrefix, prefixContains } from '../src/address.js';
import { TestnetError } from '../src/index.js';

describe('addresses', () => {
  it('formats IPv6 per RFC 5952', () => {
    expect(canonicalAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalAddress('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalAddress('::')).toBe('::');
    expect(canonicalAddress('::1')).toBe('::1');
    expect(formatIPv6(parseIPv6('2001:db8:1:0:1:0:0:1')!)).toBe('2001:db8:1:0:1::1');
  });

  it('rejects what is not an address', () => {
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4x', '10.0.0.010', ':::', '1::2::3', '2001:db8:1:2:3:4:5:6:7', 'g::1', '']) {
      expect(canonicalAddress(bad)).toBeUndefined();
    }
  });

  it('computes addresses inside prefixes', () => {
    const p = parsePrefix('10.20.1.0/24', 'test');
    expect(addressAt(p, 10, 'test')).toBe('10.20.1.10');
    expect(() => addressAt(p, 256, 'test')).toThrowError(TestnetError);
    const p6 = parsePrefix('2001:db8:20:1::/64', 'test');
    expect(addressAt(p6, 0xbeef, 'test')).toBe('2001:db8:20:1::beef');
    expect(prefixContains(p6, 6, parseIPv6('2001:db8:20:1:ffff::1')!)).toBe(true);
    expect(prefixContains(p6, 6, parseIPv6('2001:db8:20:2::1')!)).toBe(false);
    expect(prefixContains(p6, 4, 1n)).toBe(false);
  });

  it('rejects malformed prefixes with the input in the message', () => {
    expect(() => parsePrefix('10.0.0.0', 'x')).toThrowError(/x: "10.0.0.0" is not a prefix/);
    expect(() => parsePrefix('10.0.0.0/33', 'x')).toThrowError(/exceeds 32 bits/);
  });
});
