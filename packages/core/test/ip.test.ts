import { describe, expect, it } from 'vitest';
import { canonicalIPv6, cidrContains, parseCidr, parseIPv4, parseIPv6, AddressError } from '../src/index.js';

describe('IP parsing', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['10.0.0', '10.0.0.1.2', '256.0.0.1', '01.0.0.1', '1..2.3', 'a.b.c.d', '', '10.0.0.1 ']) expect(parseIPv4(bad), bad).toBe(-1);
  });

  it('writes RFC 5952 canonical IPv6', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // leftmost longest run
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['::', '::'],
      ['::1', '::1'],
      ['FE80::ABCD', 'fe80::abcd'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:0:0:0:0:0:0', '1::'],
    ];
    for (const [input, want] of cases) expect(canonicalIPv6(input), input).toBe(want);
    for (const bad of ['1:2:3:4:5:6:7', '1::2::3', '12345::', 'g::1', '1.2.3.4::', ':1:2:3:4:5:6:7', 'fe80::1%eth0']) {
      expect(parseIPv6(bad), bad).toBeNull();
    }
    expect(() => canonicalIPv6('nope')).toThrow(AddressError);
  });

  it('matches CIDRs for both families', () => {
    const v4 = parseCidr('10.1.2.3/8');
    expect(v4.text).toBe('10.0.0.0/8');
    expect(cidrContains(v4, '10.255.0.1')).toBe(true);
    expect(cidrContains(v4, '11.0.0.1')).toBe(false);
    expect(cidrContains(v4, '2001:db8::1')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '1.2.3.4')).toBe(true);
    const v6 = parseCidr('2001:db8::/32');
    expect(cidrContains(v6, '2001:db8:ffff::1')).toBe(true);
    expect(cidrContains(v6, '2001:db9::1')).toBe(false);
    expect(cidrContains(v6, '10.0.0.1')).toBe(false);
    expect(cidrContains(parseCidr('2001:db8::1'), '2001:db8::1')).toBe(true);
    expect(cidrContains(parseCidr('2001:db8::1'), '2001:db8::2')).toBe(false);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseCidr('300.0.0.0/8')).toThrow(AddressError);
  });
});
