import { describe, expect, it } from 'vitest';
import { labNames, labSpec, parsePortList, resolveLabSpec, TestnetError, type LabSpec } from '../src/index.js';

function specWith(patch: (s: LabSpec) => LabSpec): LabSpec {
  return patch(labSpec('standard'));
}

function specError(spec: LabSpec): TestnetError {
  try {
    resolveLabSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(TestnetError);
    return err as TestnetError;
  }
  throw new Error('expected the spec to be rejected');
}

describe('parsePortList', () => {
  it('expands ranges and lists, sorted and unique', () => {
    expect(parsePortList('80,22-24,23,443')).toEqual([22, 23, 24, 80, 443]);
    expect(parsePortList('1-1024').length).toBe(1024);
  });

  it.each(['', '0', '65536', '10-5', 'http', '1-2-3', '22,,80'])('rejects %j with a typed error', (text) => {
    expect(() => parsePortList(text, 'scanPorts')).toThrowError(TestnetError);
    try {
      parsePortList(text, 'scanPorts');
    } catch (err) {
      expect((err as TestnetError).code).toBe('ERR_TESTNET_SPEC');
      expect((err as Error).message).toMatch(/^scanPorts: /);
    }
  });
});

describe('resolveLabSpec', () => {
  it('accepts every named lab', () => {
    for (const name of labNames()) {
      const r = resolveLabSpec(labSpec(name));
      expect(r.spec.name).toBe(name);
      expect(r.scanPorts.tcp.length).toBeGreaterThan(0);
    }
  });

  it('expands the standard scan range to 1,032 TCP ports', () => {
    expect(resolveLabSpec(labSpec('standard')).scanPorts.tcp.length).toBe(1032);
  });

  it('names the lab and the fix in every error', () => {
    const cases: [LabSpec, RegExp][] = [
      [specWith((s) => ({ ...s, name: 'Bad Name' })), /name must be/],
      [specWith((s) => ({ ...s, icmp: 'off' as never })), /icmp mode "off" must be "lifted" or "default"/],
      [specWith((s) => ({ ...s, nonLive: 'reject' as never })), /nonLive "reject"/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, ipv4: '192.168.1.0/24' } })), /inside 10\.0\.0\.0\/8/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, ipv4: '10.20.1.5/24' } })), /host bits set/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, ipv6: '2001:db8:21::/48' } })), /must be a \/64/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, ipv6: 'fd00::/64' } })), /documentation prefix/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, ipv4: '10.20.0.0/16' } })), /overlap/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, namespaces: 0 } })), /routed\.namespaces 0/],
      [specWith((s) => ({ ...s, routed: { ...s.routed, namespaces: 17 } })), /exceeds the number of routed hosts/],
      [specWith((s) => ({ ...s, loss: { percent: 0, direction: 'both' } })), /loss\.percent 0/],
      [specWith((s) => ({ ...s, loss: { percent: 1.005, direction: 'both' } })), /two decimals/],
      [specWith((s) => ({ ...s, loss: { percent: 5, direction: 'up' as never } })), /loss\.direction "up"/],
      [specWith((s) => ({ ...s, rate: { kbit: 1, direction: 'both' } })), /rate\.kbit 1/],
      [specWith((s) => ({ ...s, delay: { ms: 0, direction: 'both' } })), /delay\.ms 0 must be an integer from 1 to 60000/],
      [specWith((s) => ({ ...s, delay: { ms: 10, direction: 'both', queuePackets: 3 } })), /delay\.queuePackets 3/],
      [specWith((s) => ({ ...s, scanPorts: { tcp: '1-70000', udp: '53' } })), /scanPorts\.tcp/],
      [specWith((s) => ({ ...s, onLink: { ...s.onLink, scannerOffset: 20 } })), /offset 20 is used twice/],
    ];
    for (const [spec, pattern] of cases) {
      const err = specError(spec);
      expect(err.code).toBe('ERR_TESTNET_SPEC');
      expect(err.message).toMatch(/^lab "/);
      expect(err.message).toMatch(pattern);
      expect(err.message).not.toContain('\n');
    }
  });

  it('rejects broken hosts', () => {
    const host = (patch: object) =>
      specWith((s) => ({ ...s, routed: { ...s.routed, hosts: [{ ...s.routed.hosts[0], ...patch }, ...s.routed.hosts.slice(1)] } }));
    expect(specError(host({ offset: 1 })).message).toMatch(/offset 1 must be an integer from 2 to 254/);
    expect(specError(host({ offset: 255 })).message).toMatch(/offset 255/);
    expect(specError(host({ offset: 23 })).message).toMatch(/offset 23 is used twice/);
    expect(specError(host({ ipv4: false, ipv6: false })).message).toMatch(/neither an IPv4 nor an IPv6/);
    expect(specError(host({ services: [{ protocol: 'tcp', port: 22, kind: 'dns' }] })).message).toMatch(/kind "dns" does not exist for tcp/);
    expect(specError(host({ services: [{ protocol: 'tcp', port: 0, kind: 'banner', banner: 'x' }] })).message).toMatch(/port 0 must be an integer/);
    expect(specError(host({ services: [{ protocol: 'tcp', port: 22, kind: 'banner', banner: '' }] })).message).toMatch(/banner must be a non-empty string/);
    const dup = [
      { protocol: 'tcp', port: 22, kind: 'banner', banner: 'a' },
      { protocol: 'tcp', port: 22, kind: 'request-reply', reply: 'b' },
    ];
    expect(specError(host({ services: dup })).message).toMatch(/tcp\/22 is declared twice/);
    const clash = { services: [{ protocol: 'tcp', port: 22, kind: 'banner', banner: 'a' }], rules: [{ protocol: 'tcp', port: 22, action: 'drop' }] };
    expect(specError(host(clash)).message).toMatch(/both a service and a rule/);
    expect(specError(host({ services: [], rules: [{ protocol: 'udp', port: 53, action: 'tcp-reset' }] })).message).toMatch(/tcp-reset applies to tcp ports only/);
    expect(specError(host({ services: [], rules: [{ protocol: 'tcp', port: 53, action: 'reject' }] })).message).toMatch(/action "reject"/);
  });

  it('refuses router rules on on-link hosts', () => {
    const spec = specWith((s) => ({
      ...s,
      onLink: { ...s.onLink, hosts: [{ offset: 20, services: [], rules: [{ protocol: 'tcp', port: 1, action: 'drop' }] }] },
    }));
    expect(specError(spec).message).toMatch(/on-link hosts cannot have router rules/);
  });
});

describe('labSpec', () => {
  it('names the labs that exist when asked for one that does not', () => {
    try {
      labSpec('nope');
      throw new Error('unreachable');
    } catch (err) {
      expect((err as TestnetError).code).toBe('ERR_TESTNET_UNKNOWN_LAB');
      expect((err as Error).message).toMatch(/no lab named "nope"; the labs are: standard, /);
    }
  });

  it('rejects unknown options', () => {
    expect(() => labSpec('standard', { lose: 3 } as never)).toThrowError(/unknown lab option "lose"/);
  });

  it('applies overrides', () => {
    const s = labSpec('standard', { icmp: 'default', loss: { percent: 2.5, direction: 'to-targets' } });
    expect(s.icmp).toBe('default');
    expect(s.loss).toEqual({ percent: 2.5, direction: 'to-targets' });
    expect(labSpec('standard').loss).toBeUndefined();
  });
});
