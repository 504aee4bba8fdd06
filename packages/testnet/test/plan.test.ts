import { describe, expect, it } from 'vitest';
import { labNames, labNamesFor, labSpec, NFT_TABLE, parseLabNamespace, planLab, resolveLabSpec, icmpSysctls } from '../src/index.js';

const MAX_PID = 4_194_304; // /proc/sys/kernel/pid_max upper bound

describe('names', () => {
  it('fit interface names in 15 characters for any pid and many labs per process', () => {
    for (const [pid, seq] of [[1, 0], [MAX_PID, 0], [MAX_PID, 1295]]) {
      const n = labNamesFor(pid, seq, 64, 64);
      const all = [n.ifaces.scanner, n.ifaces.routerToScanner, n.ifaces.onLinkBridge, n.ifaces.targetBridge, ...n.ifaces.routerToTarget, ...n.ifaces.target, ...n.ifaces.routerToOnLink, ...n.ifaces.onLink];
      for (const name of all) expect(name.length).toBeLessThanOrEqual(15);
      expect(new Set(all).size).toBe(all.length);
    }
  });

  it('differ between processes and between labs of one process', () => {
    const a = labNamesFor(100, 0, 2, 1);
    const b = labNamesFor(100, 1, 2, 1);
    const c = labNamesFor(1000, 0, 2, 1);
    expect(new Set([a.scanner, b.scanner, c.scanner]).size).toBe(3);
    expect(new Set([a.ifaces.scanner, b.ifaces.scanner, c.ifaces.scanner]).size).toBe(3);
  });

  it('parse back to their owner, and ignore everyone else', () => {
    const n = labNamesFor(4242, 3, 2, 1);
    for (const ns of [n.scanner, n.router, ...n.targets, ...n.onLink]) {
      expect(parseLabNamespace(ns)).toMatchObject({ id: 'pftn4242-3', ownerPid: 4242, seq: 3 });
    }
    for (const other of ['pftn', 'pftn12-scan', 'xpftn1-0-scan', 'pftn1-0-scanner', 'blue', 'pftn1-0-t']) {
      expect(parseLabNamespace(other)).toBeUndefined();
    }
  });
});

describe('planLab', () => {
  const plan = planLab(resolveLabSpec(labSpec('standard')), 4242, 0);

  it('has a scanner, a router, 4 target and 3 on-link namespaces', () => {
    expect(plan.namespaces.map((n) => n.role)).toEqual(['scanner', 'router', 'target', 'target', 'target', 'target', 'on-link', 'on-link', 'on-link']);
    expect(plan.veths).toHaveLength(8);
    for (const v of plan.veths) expect(v).toMatch(/^link add name \S+ index 10\d\d netns pftn4242-0-rtr type veth peer name \S+ index 20\d\d netns pftn4242-0-\S+$/);
  });

  it('adds every IPv6 address with nodad, and routes through the router', () => {
    const ip = plan.namespaces.flatMap((n) => n.ip);
    for (const line of ip.filter((l) => l.startsWith('addr add 2001:'))) expect(line).toMatch(/ nodad$/);
    const t0 = plan.namespaces.find((n) => n.role === 'target')!;
    expect(t0.ip).toContain('route add default via 10.20.1.1');
    expect(t0.ip).toContain('route add ::/0 via 2001:db8:20:1::1');
    expect(plan.namespaces[0].ip).toContain('addr add 10.20.0.2/24 dev pf39u0s');
  });

  it('starts listeners for every service, in the namespace of its host', () => {
    const servers = plan.namespaces.filter((n) => n.server).map((n) => n.server!);
    const services = servers.flatMap((s) => s.hosts.flatMap((h) => h.services.map(() => h.addresses.length))).reduce((a, b) => a + b, 0);
    const truth = plan.topology;
    const expected = [...truth.routed, ...truth.onLink].reduce((n, h) => n + h.spec.services.length * ((h.ipv4 ? 1 : 0) + (h.ipv6 ? 1 : 0)), 0);
    expect(services).toBe(expected);
    for (const s of servers) expect(plan.namespaces.find((n) => n.name === s.namespace)?.server).toBe(s);
  });

  it('writes explicit ICMP limits in every namespace', () => {
    for (const n of plan.namespaces) expect(n.sysctls).toMatchObject(icmpSysctls('lifted'));
    const limited = planLab(resolveLabSpec(labSpec('standard', { icmp: { router: 'default', targets: 'lifted' } })), 1, 0);
    expect(limited.namespaces.find((n) => n.role === 'router')!.sysctls['net.ipv4.icmp_ratelimit']).toBe('1000');
    expect(limited.namespaces.find((n) => n.role === 'target')!.sysctls['net.ipv4.icmp_ratelimit']).toBe('0');
  });

  it('puts the router addresses on veths, never on the bridges', () => {
    const router = plan.namespaces.find((n) => n.role === 'router')!;
    const { onLinkBridge, targetBridge, routerOnLink, routerTargets } = plan.names.ifaces;
    expect(router.layer2Only).toEqual([onLinkBridge, targetBridge]);
    // bridged frames must not cross the router's IP rules (br_netfilter)
    expect(router.optionalSysctls).toEqual({
      'net.bridge.bridge-nf-call-iptables': '0',
      'net.bridge.bridge-nf-call-ip6tables': '0',
      'net.bridge.bridge-nf-call-arptables': '0',
    });
    const addrs = router.ip.filter((l) => l.startsWith('addr add'));
    expect(addrs).toEqual([
      `addr add 10.20.0.1/24 dev ${routerOnLink}`,
      `addr add 2001:db8:20::1/64 dev ${routerOnLink} nodad`,
      `addr add 10.20.1.1/24 dev ${routerTargets}`,
      `addr add 2001:db8:20:1::1/64 dev ${routerTargets} nodad`,
    ]);
  });

  it('gives the router a stateless ruleset with every host rule', () => {
    const nft = plan.namespaces.find((n) => n.role === 'router')!.nft!;
    expect(nft).toContain(`table inet ${NFT_TABLE} {`);
    expect(nft).not.toMatch(/\bct\b/);
    expect(nft).toContain('ip daddr { 10.20.1.0/24 } ip daddr != @live4 drop');
    expect(nft).toContain('10.20.1.10 . tcp . 113');
    expect(nft).toContain('2001:db8:20:1::a . tcp . 119');
    expect(nft).toMatch(/set reset4 \{\n\s+type ipv4_addr . inet_proto . inet_service\n\s+elements = \{ 10\.20\.1\.23 \. tcp \. 1024/);
    expect(nft).not.toContain('numgen');
    // nothing is answered on the layer-2-only bridges
    const { onLinkBridge, targetBridge } = plan.names.ifaces;
    expect(nft).toMatch(new RegExp(`table arp ${NFT_TABLE} \\{\\n  chain input \\{\\n.*\\n    iifname \\{ "${onLinkBridge}", "${targetBridge}" \\} drop`));
    expect(nft.match(/iifname \{ "\S+bo", "\S+bt" \} drop/g)).toHaveLength(2);
  });

  it('adds loss, shaping, host-unreachable and silent routes when asked', () => {
    const p = planLab(resolveLabSpec(labSpec('silent-range', { loss: { percent: 2.5, direction: 'to-targets' }, rate: { kbit: 1000, direction: 'both' }, nonLive: 'host-unreachable' })), 7, 0);
    const router = p.namespaces.find((n) => n.role === 'router')!;
    expect(router.nft).toContain(`iifname "${p.names.ifaces.routerOnLink}" numgen random mod 10000 < 250 drop`);
    expect(router.nft).toContain('ip daddr { 10.50.0.0/16, 10.51.0.0/16 } ip daddr != @live4 reject with icmpx type host-unreachable');
    expect(router.ip).toContain(`route add 10.51.0.0/16 dev ${p.names.ifaces.routerTargets}`);
    expect(router.tc).toEqual([
      `qdisc add dev ${p.names.ifaces.routerTargets} root tbf rate 1000kbit burst 32768 latency 50ms`,
      `qdisc add dev ${p.names.ifaces.routerOnLink} root tbf rate 1000kbit burst 32768 latency 50ms`,
    ]);
  });

  it('routes forwarded traffic through the delay line only when asked, and counts loss once', () => {
    expect(plan.namespaces.find((n) => n.role === 'router')!.delayLine).toBeUndefined();
    const p = planLab(resolveLabSpec(labSpec('standard', { delay: { ms: 40, direction: 'to-targets' }, loss: { percent: 1, direction: 'both' } })), 7, 0);
    const router = p.namespaces.find((n) => n.role === 'router')!;
    const { delayTun, routerOnLink: onLinkBridge, routerTargets: targetBridge } = p.names.ifaces;
    expect(router.delayLine).toEqual({ tun: delayTun, ms: 40, queuePackets: 16_384 });
    expect(router.ip).toContain(`tuntap add dev ${delayTun} mode tun`);
    expect(router.ip).toContain(`route add default dev ${delayTun} table 100`);
    expect(router.ip).toContain(`route add ::/0 dev ${delayTun} table 100`);
    expect(router.ip).toContain(`rule add iif ${onLinkBridge} lookup 100 pref 100`);
    expect(router.ip6).toEqual([`rule add iif ${onLinkBridge} lookup 100 pref 100`]);
    expect(router.ip.join('\n')).not.toContain(`rule add iif ${targetBridge}`);
    // a delayed packet crosses the forward hook twice; loss matches the bridges only
    expect(router.nft).toContain(`iifname { "${onLinkBridge}", "${targetBridge}" } numgen random mod 10000 < 100 drop`);
    expect(delayTun.length).toBeLessThanOrEqual(15);
  });

  it('plans every named lab', () => {
    for (const name of labNames()) {
      const p = planLab(resolveLabSpec(labSpec(name)), 99, 0);
      expect(p.namespaces.length).toBeGreaterThanOrEqual(3);
    }
  });
});
