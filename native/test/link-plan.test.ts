// planLink's decisions from kernel snapshots (no root, no packets): one interface for all
// targets, layer, sources, routes by longest prefix with gateway MACs, what is unresolved.
// The real netlink path runs against loopback here and against a namespace lab in
// test/lab/link-plan.lab.test.ts.
import { describe, expect, it } from 'vitest';
import { LinkPlanError, applyNeighbors, planLink, resolveNeighbors } from '../ts/index.js';
import { assemblePlan, parseTarget, type LinkSnapshot } from '../ts/link-plan.js';

const ETH = { ifindex: 4, name: 'eth0', type: 1, flags: 0x11043, mtu: 1500, mac: '02:00:00:00:00:02' };
const WLAN = { ifindex: 5, name: 'wlan0', type: 1, flags: 0x11043, mtu: 1500, mac: '02:00:00:00:00:05' };
const LO = { ifindex: 1, name: 'lo', type: 772, flags: 0x10049, mtu: 65536, mac: '00:00:00:00:00:00' };

function snapshot(over: Partial<LinkSnapshot> = {}): LinkSnapshot {
  return {
    missingInterface: false,
    lookups: [],
    links: [LO, ETH, WLAN],
    addresses: [
      { ifindex: 4, address: '10.0.0.2', prefixLen: 24, scope: 0, flags: 0x80 },
      { ifindex: 4, address: '10.0.0.9', prefixLen: 24, scope: 0, flags: 0x81 },  // secondary
      { ifindex: 4, address: '2001:db8::5', prefixLen: 64, scope: 0, flags: 0x40 },  // tentative
      { ifindex: 4, address: '2001:db8::2', prefixLen: 64, scope: 0, flags: 0x80 },
      { ifindex: 4, address: 'fe80::2', prefixLen: 64, scope: 253, flags: 0x80 },
    ],
    routes: [
      { family: 4, dst: '0.0.0.0', dstLen: 0, gateway: '10.0.0.1', oif: 4, table: 254, priority: 0, type: 1 },
      { family: 4, dst: '10.0.0.0', dstLen: 24, gateway: null, oif: 4, table: 254, priority: 0, type: 1 },
      { family: 4, dst: '172.16.0.0', dstLen: 16, gateway: '10.0.0.3', oif: 4, table: 254, priority: 0, type: 1 },
      { family: 4, dst: '10.0.0.2', dstLen: 32, gateway: null, oif: 4, table: 255, priority: 0, type: 2 },  // local: never sent out
      { family: 6, dst: '::', dstLen: 0, gateway: 'fe80::1', oif: 4, table: 254, priority: 1024, type: 1 },
      { family: 6, dst: '2001:db8::', dstLen: 64, gateway: null, oif: 4, table: 254, priority: 256, type: 1 },
      { family: 4, dst: '192.168.9.0', dstLen: 24, gateway: null, oif: 5, table: 254, priority: 0, type: 1 },  // other interface
    ],
    neighbors: [
      { ifindex: 4, address: '10.0.0.1', state: 0x02, mac: '02:00:00:00:00:01' },
      { ifindex: 4, address: '10.0.0.7', state: 0x20, mac: null },  // FAILED: no MAC
      { ifindex: 4, address: '10.0.0.8', state: 0x04, mac: '02:00:00:00:00:08' },
      { ifindex: 4, address: 'fe80::1', state: 0x01, mac: '02:00:00:00:00:01' },  // INCOMPLETE: not usable
    ],
    ...over,
  };
}

const lookup = (address: string, oif: number, gateway: string | null, prefsrc: string | null, type = 1) => ({ address, error: null, oif, type, table: 254, gateway, prefsrc });

describe('parseTarget', () => {
  it('looks up the first and last host of a CIDR or range, one address for a single host', () => {
    expect(parseTarget('10.0.0.0/24').representatives).toEqual(['10.0.0.1', '10.0.0.254']);
    expect(parseTarget('10.0.0.5/31').representatives).toEqual(['10.0.0.4', '10.0.0.5']);
    expect(parseTarget('10.0.0.5/32')).toMatchObject({ single: true, representatives: ['10.0.0.5'] });
    expect(parseTarget('2001:db8::/64').representatives).toEqual(['2001:db8::1', '2001:db8::ffff:ffff:ffff:fffe']);
    expect(parseTarget('10.0.0.3-10.0.0.9').representatives).toEqual(['10.0.0.3', '10.0.0.9']);
    expect(parseTarget('2001:DB8:0:0::7')).toMatchObject({ family: 6, single: true, representatives: ['2001:db8::7'] });
  });

  it('refuses what is not an address, CIDR or range, naming the input', () => {
    for (const bad of ['host.example', '10.0.0.0/33', '10.0.0.9-10.0.0.1', '10.0.0.1-2001:db8::1', 'fe80::1%eth0', '']) {
      expect(() => parseTarget(bad, 'targets[3]')).toThrowError(LinkPlanError);
      try {
        parseTarget(bad, 'targets[3]');
      } catch (err) {
        expect(err).toMatchObject({ code: 'ERR_LINK_OPTION', field: 'targets[3]' });
        expect((err as Error).message).toContain('targets[3]');
      }
    }
  });
});

describe('assemblePlan', () => {
  it('plans routed and on-link IPv4 and IPv6 targets through one Ethernet interface', () => {
    const targets = ['192.0.2.0/24', '10.0.0.8', '2001:db8::/120'].map((t) => parseTarget(t));
    const snap = snapshot({
      lookups: [
        lookup('192.0.2.1', 4, '10.0.0.1', '10.0.0.2'),
        lookup('192.0.2.254', 4, '10.0.0.1', '10.0.0.2'),
        lookup('10.0.0.8', 4, null, '10.0.0.2'),
        lookup('2001:db8::1', 4, null, '2001:db8::2'),
        lookup('2001:db8::fe', 4, null, '2001:db8::2'),
      ],
    });
    const plan = assemblePlan({ targets: [] }, targets, snap);
    expect(plan).toMatchObject({ interface: 'eth0', ifindex: 4, layer: 'ethernet', srcMac: '02:00:00:00:00:02', srcV4: '10.0.0.2', srcV6: '2001:db8::2', mtu: 1500, unroutable: [] });
    // Longest prefix first; local routes and other interfaces' routes left out.
    expect(plan.routes).toEqual([
      { prefix: '2001:db8::/64', mac: null },
      { prefix: '10.0.0.0/24', mac: null },
      { prefix: '172.16.0.0/16', mac: null, gateway: '10.0.0.3' },
      { prefix: '0.0.0.0/0', mac: '02:00:00:00:00:01', gateway: '10.0.0.1' },
      { prefix: '::/0', mac: null, gateway: 'fe80::1' },
    ]);
    expect(plan.neighbors).toEqual([
      { address: '10.0.0.1', mac: '02:00:00:00:00:01' },
      { address: '10.0.0.8', mac: '02:00:00:00:00:08' },
    ]);
    // 172.16.0.0/16 (via 10.0.0.3) and ::/0 (via fe80::1) carry no target: not needed.
    expect(plan.unresolved).toEqual([]);
    const wide = assemblePlan({ targets: [] }, [parseTarget('172.16.0.0/12'), parseTarget('2001:db8::/32')], {
      ...snap,
      lookups: [lookup('172.16.0.1', 4, '10.0.0.1', '10.0.0.2'), lookup('172.31.255.254', 4, '10.0.0.1', '10.0.0.2'), lookup('2001:db8::1', 4, null, '2001:db8::2'), lookup('2001:db8:ffff:ffff:ffff:ffff:ffff:fffe', 4, 'fe80::1', '2001:db8::2')],
    });
    // The /12 holds 172.16.0.0/16 (via 10.0.0.3) and more (the default route, known MAC);
    // the /32 is partly outside the on-link /64, so the default via fe80::1 is needed.
    expect(wide.unresolved.sort()).toEqual(['10.0.0.3', 'fe80::1']);
  });

  it('lists a single on-link target without a neighbour entry as unresolved', () => {
    const plan = assemblePlan({ targets: [] }, [parseTarget('10.0.0.50')], snapshot({ lookups: [lookup('10.0.0.50', 4, null, '10.0.0.2')] }));
    expect(plan.unresolved).toContain('10.0.0.50');
  });

  it('takes sources from the options first, then prefsrc, then a usable address of the interface', () => {
    const snap = snapshot({ lookups: [lookup('10.0.0.8', 4, null, null)] });
    const plan = assemblePlan({ targets: [] }, [parseTarget('10.0.0.8')], snap);
    expect(plan.srcV4).toBe('10.0.0.2');  // primary, not the secondary 10.0.0.9
    expect(plan.srcV6).toBe('2001:db8::2');  // global, not the tentative ::5 nor link-local
    const forced = assemblePlan({ targets: [], sourceV4: '10.0.0.9', sourceV6: '2001:DB8::9' }, [parseTarget('10.0.0.8')], snap);
    expect(forced).toMatchObject({ srcV4: '10.0.0.9', srcV6: '2001:db8::9' });
    expect(() => assemblePlan({ targets: [], sourceV4: '2001:db8::1' }, [parseTarget('10.0.0.8')], snap)).toThrowError(/sourceV4/);
  });

  it('refuses targets on two interfaces, naming both and the fix', () => {
    const snap = snapshot({ lookups: [lookup('10.0.0.8', 4, null, '10.0.0.2'), lookup('192.168.9.4', 5, null, '192.168.9.2')] });
    let err: unknown;
    try {
      assemblePlan({ targets: [] }, [parseTarget('10.0.0.8'), parseTarget('192.168.9.4')], snap);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LinkPlanError);
    expect(err).toMatchObject({ code: 'ERR_LINK_PLAN', interfaces: ['eth0', 'wlan0'] });
    expect((err as Error).message).toMatch(/10\.0\.0\.8 by eth0, 192\.168\.9\.4 by wlan0; scan them separately .* or pass interface/);
  });

  it('reports unroutable targets, and refuses a plan when nothing is routable', () => {
    const snap = snapshot({ lookups: [lookup('10.0.0.8', 4, null, '10.0.0.2'), { ...lookup('198.51.100.1', 0, null, null), error: 'ENETUNREACH' }] });
    expect(assemblePlan({ targets: [] }, [parseTarget('10.0.0.8'), parseTarget('198.51.100.1')], snap).unroutable).toEqual(['198.51.100.1']);
    const none = snapshot({ lookups: [{ ...lookup('198.51.100.1', 0, null, null), error: 'ENETUNREACH' }] });
    expect(() => assemblePlan({ targets: [] }, [parseTarget('198.51.100.1')], none)).toThrowError(/no route to any target \(198\.51\.100\.1: ENETUNREACH\)/);
  });

  it('names the interfaces that exist when the one asked for does not', () => {
    expect(() => assemblePlan({ targets: [], interface: 'eth9' }, [parseTarget('10.0.0.8')], snapshot({ missingInterface: true }))).toThrowError(
      /interface: "eth9" does not exist .*interfaces: lo, eth0, wlan0/,
    );
  });

  it('uses layer ip, no MACs and nothing unresolved on loopback', () => {
    const snap = snapshot({
      lookups: [lookup('127.0.0.1', 1, null, '127.0.0.1', 2)],
      addresses: [{ ifindex: 1, address: '127.0.0.1', prefixLen: 8, scope: 254, flags: 0x80 }],
      routes: [{ family: 4, dst: '127.0.0.0', dstLen: 8, gateway: null, oif: 1, table: 255, priority: 0, type: 2 }],
      neighbors: [],
    });
    const plan = assemblePlan({ targets: [] }, [parseTarget('127.0.0.1')], { ...snap, lookups: snap.lookups.map((l) => ({ ...l, table: 255 })) });
    expect(plan).toMatchObject({ interface: 'lo', layer: 'ip', srcMac: null, srcV4: '127.0.0.1', srcV6: null, mtu: 65536, unresolved: [], neighbors: [] });
    expect(plan.routes).toEqual([{ prefix: '127.0.0.0/8', mac: null }]);
  });
});

describe('applyNeighbors', () => {
  it('fills gateway MACs, adds neighbours and shrinks unresolved', () => {
    const targets = [parseTarget('192.0.2.0/24'), parseTarget('10.0.0.50')];
    const snap = snapshot({ lookups: [lookup('192.0.2.1', 4, '10.0.0.3', '10.0.0.2'), lookup('192.0.2.254', 4, '10.0.0.3', '10.0.0.2'), lookup('10.0.0.50', 4, null, '10.0.0.2')] });
    const plan = assemblePlan({ targets: [] }, targets, snap);
    expect(plan.unresolved.sort()).toEqual(['10.0.0.3', '10.0.0.50']);
    const next = applyNeighbors(plan, [{ address: '10.0.0.3', mac: '02:00:00:00:00:03' }, { address: '10.0.0.50', mac: '02:00:00:00:00:50' }]);
    expect(next.routes.find((r) => r.prefix === '172.16.0.0/16')).toEqual({ prefix: '172.16.0.0/16', mac: '02:00:00:00:00:03', gateway: '10.0.0.3' });
    expect(next.neighbors).toContainEqual({ address: '10.0.0.50', mac: '02:00:00:00:00:50' });
    expect(next.unresolved).toEqual([]);
    expect(plan.unresolved).toHaveLength(2);  // the input plan is unchanged
  });
});

describe('planLink and resolveNeighbors (no packets)', () => {
  it('plans loopback through the kernel: lo, layer ip', async () => {
    const plan = await planLink({ targets: ['127.0.0.1'] });
    expect(plan).toMatchObject({ interface: 'lo', layer: 'ip', srcMac: null, srcV4: '127.0.0.1', unresolved: [] });
    expect(plan.mtu).toBeGreaterThan(0);
  });

  it('rejects bad options with typed errors naming them', async () => {
    await expect(planLink({ targets: [] })).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'targets' });
    await expect(planLink({ targets: ['nope'] })).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'targets[0]' });
    await expect(planLink({ targets: ['127.0.0.1'], interface: 'a b' })).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'interface' });
    await expect(planLink({ targets: ['127.0.0.1'], interface: 'pfnosuch0' })).rejects.toMatchObject({ code: 'ERR_LINK_PLAN', field: 'interface' });
    await expect(planLink({ targets: ['127.0.0.1'], sourceV6: '10.0.0.1' })).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'sourceV6' });
  });

  it('refuses to resolve neighbours on a link without Ethernet, or with bad addresses or options', async () => {
    const lo = await planLink({ targets: ['127.0.0.1'] });
    await expect(resolveNeighbors(lo, ['127.0.0.2'])).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'plan' });
    const eth = { ...lo, layer: 'ethernet' as const, srcMac: '02:00:00:00:00:02', srcV6: null };
    await expect(resolveNeighbors(eth, ['10.0.0.0/24'])).rejects.toMatchObject({ code: 'ERR_LINK_OPTION', field: 'addresses[0]' });
    await expect(resolveNeighbors(eth, ['2001:db8::1'])).rejects.toThrowError(/no IPv6 source .* pass sourceV6/);
    await expect(resolveNeighbors(eth, ['127.0.0.2'], { rate: 0 })).rejects.toMatchObject({ field: 'rate' });
    await expect(resolveNeighbors(eth, ['127.0.0.2'], { retries: 1.5 })).rejects.toMatchObject({ field: 'retries' });
    await expect(resolveNeighbors(eth, [])).resolves.toEqual([]);
  });
});
