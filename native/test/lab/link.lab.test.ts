// planLink and resolveNeighbors inside the scanner namespace of a @portflow/testnet lab
// (the kernel tables and the ARP/NDP answers of hosts the lab creates; nothing is sent
// anywhere else). Each call runs in a child process (link-child.mjs) in that namespace.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLab, type Lab } from '@portflow/testnet';
import { fileURLToPath } from 'node:url';
import type { PlannedLink, ResolvedNeighbor } from '../../ts/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    labSkipReason: string;
  }
}

const skip = inject('labSkipReason');
const labIt = skip ? it.skip : it;
if (skip) console.log(`[native lab] skipped: ${skip}`);

const CHILD = fileURLToPath(new URL('./link-child.mjs', import.meta.url));

interface ChildError { error: { name: string; code: string; message: string; interfaces?: string[] } }
interface Resolved { plan: PlannedLink; addresses: string[]; resolved: ResolvedNeighbor[]; ms: number; applied: PlannedLink }

let lab: Lab;

async function child<T>(args: string[]): Promise<T> {
  const r = await lab.runInScannerNs(CHILD, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`link-child ${args[0]} exited with ${String(r.code ?? r.signal)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
const plan = (options: object) => child<PlannedLink & Partial<ChildError>>(['plan', JSON.stringify(options)]);
const resolve = (input: object) => child<Resolved & Partial<ChildError>>(['resolve', JSON.stringify(input)]);

async function sh(ns: string, cmd: string, args: string[]): Promise<string> {
  const r = await lab.execIn(ns, cmd, args, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns}: ${r.stderr}`);
  return r.stdout;
}

/** MAC of the interface holding `address` in namespace `ns`. */
async function macOf(ns: string, address: string): Promise<string> {
  const links = JSON.parse(await sh(ns, 'ip', ['-j', 'addr', 'show'])) as Array<{ address: string; addr_info: Array<{ local: string }> }>;
  const l = links.find((x) => x.addr_info.some((a) => a.local === address));
  if (!l) throw new Error(`${address} not found in ${ns}`);
  return l.address;
}

const flushNeighbours = () => sh(lab.scanner.namespace, 'ip', ['neigh', 'flush', 'all']);
/** The n-th address of an IPv4 /24 or IPv6 /64 prefix text. */
const nth = (prefix: string, n: number) => (prefix.includes(':') ? `${prefix.split('/')[0]}${n.toString(16)}` : `${prefix.split('/')[0].replace(/\.0$/, '')}.${n}`);

let routerMac: string;

beforeAll(async () => {
  if (skip) return;
  lab = await startLab('standard');
  routerMac = await macOf(lab.router.namespace, lab.router.onLink4!);
}, 120_000);

afterAll(async () => {
  await lab?.down();
});

describe('planLink in a lab', () => {
  labIt('plans routed IPv4 and IPv6 targets through the scanner interface with the router as gateway', async () => {
    // Let the kernel learn the router first (one ping each way inside the lab).
    await sh(lab.scanner.namespace, 'ping', ['-c', '1', '-W', '2', lab.router.onLink4!]);
    await sh(lab.scanner.namespace, 'ping', ['-6', '-c', '1', '-W', '2', lab.router.onLink6!]);
    const p = await plan({ targets: [lab.targets.ipv4!, lab.targets.ipv6!] });
    expect(p.error).toBeUndefined();
    expect(p).toMatchObject({ interface: lab.scanner.interface, layer: 'ethernet', srcV4: lab.scanner.ipv4, srcV6: lab.scanner.ipv6, unroutable: [] });
    expect(p.srcMac).toBe(await macOf(lab.scanner.namespace, lab.scanner.ipv4!));
    expect(p.mtu).toBeGreaterThanOrEqual(1280);
    // The routes the routed targets take (longest prefix first) lead to the router's MAC.
    const v4 = p.routes.filter((r) => !r.prefix.includes(':') && r.mac !== null);
    expect(v4.length).toBeGreaterThan(0);
    for (const r of v4) expect(r.mac).toBe(routerMac);
    const lens = p.routes.map((r) => Number(r.prefix.split('/')[1]));
    const byFamily = (six: boolean) => lens.filter((_, i) => p.routes[i].prefix.includes(':') === six);
    for (const l of [byFamily(false), byFamily(true)]) expect(l).toEqual([...l].sort((a, b) => b - a));
    const v6 = p.routes.filter((r) => r.prefix.includes(':') && r.gateway !== undefined);
    expect(v6.length).toBeGreaterThan(0);
    for (const r of v6) expect(r.mac).toBe(routerMac);
    expect(p.neighbors).toContainEqual({ address: lab.router.onLink4, mac: routerMac });
    expect(p.neighbors).toContainEqual({ address: lab.router.onLink6, mac: routerMac });
    expect(p.unresolved).toEqual([]);
  });

  labIt('plans on-link targets: an on-link route with no MAC, known neighbours by their own MAC', async () => {
    const p = await plan({ targets: [lab.onLink.ipv4!, lab.onLink.ipv6!] });
    expect(p).toMatchObject({ interface: lab.scanner.interface, layer: 'ethernet', unroutable: [] });
    expect(p.routes).toContainEqual({ prefix: lab.onLink.ipv4, mac: null });
    expect(p.routes).toContainEqual({ prefix: lab.onLink.ipv6, mac: null });
    // A host the kernel has just talked to is a neighbour with its own MAC; one it has
    // not is unresolved (single on-link addresses only; on-link CIDRs are left to discovery).
    await flushNeighbours();
    const [host4, host6] = [lab.onLink.live.find((a) => !a.includes(':') && a !== lab.router.onLink4)!, lab.onLink.live.find((a) => a.includes(':') && a !== lab.router.onLink6)!];
    await sh(lab.scanner.namespace, 'ping', ['-c', '1', '-W', '2', host4]);
    const hostNs = lab.namespaces.find((n) => /-o\d+$/.test(n))!;
    const hostMac = await macOf(hostNs, host4).catch(async () => {
      for (const ns of lab.namespaces.filter((n) => /-o\d+$/.test(n))) {
        const mac = await macOf(ns, host4).catch(() => undefined);
        if (mac) return mac;
      }
      throw new Error(`no namespace holds ${host4}`);
    });
    const q = await plan({ targets: [host4, host6] });
    expect(q.neighbors).toContainEqual({ address: host4, mac: hostMac });
    expect(q.unresolved).toEqual([host6]);
  });

  labIt('plans loopback as layer ip', async () => {
    const p = await plan({ targets: ['127.0.0.1', '::1'] });
    expect(p).toMatchObject({ interface: 'lo', layer: 'ip', srcMac: null, srcV4: '127.0.0.1', srcV6: '::1', unresolved: [], neighbors: [] });
  });

  labIt('refuses targets that need two interfaces, naming both', async () => {
    const p = await plan({ targets: ['127.0.0.1', lab.targets.ipv4!] });
    expect(p.error).toMatchObject({ name: 'LinkPlanError', code: 'ERR_LINK_PLAN' });
    expect(p.error!.interfaces!.sort()).toEqual(['lo', lab.scanner.interface].sort());
    // With interface given, everything goes through it.
    const forced = await plan({ targets: [lab.targets.ipv4!, lab.onLink.ipv4!], interface: lab.scanner.interface });
    expect(forced.interface).toBe(lab.scanner.interface);
  });

  labIt('reports targets without a usable route as unroutable, and refuses a plan with none', async () => {
    // The lab's default route would take anything; an unreachable route (in the lab's own
    // namespace, removed again) makes a prefix routeless. No packet is sent.
    const [a, b] = lab.targets.ipv4!.split('.');
    const prefix = `${a}.${b}.250.0/24`;
    const addr = `${a}.${b}.250.7`;
    await sh(lab.scanner.namespace, 'ip', ['route', 'add', 'unreachable', prefix]);
    try {
      const p = await plan({ targets: [lab.targets.ipv4!, addr] });
      expect(p.unroutable).toEqual([addr]);
      expect(p.interface).toBe(lab.scanner.interface);
      const none = await plan({ targets: [addr] });
      expect(none.error).toMatchObject({ code: 'ERR_LINK_PLAN' });
      expect(none.error!.message).toContain(`${addr}: EHOSTUNREACH`);
    } finally {
      await sh(lab.scanner.namespace, 'ip', ['route', 'del', 'unreachable', prefix]);
    }
  });
});

describe('resolveNeighbors in a lab', () => {
  labIt('resolves the router after the neighbour table is flushed, and applyNeighbors completes the plan', async () => {
    await flushNeighbours();
    const r = await resolve({ planOptions: { targets: [lab.targets.ipv4!, lab.targets.ipv6!] }, options: { timeoutMs: 500, retries: 2 } });
    expect(r.error).toBeUndefined();
    expect(r.plan.unresolved).toContain(lab.router.onLink4);
    expect(r.plan.routes.filter((x) => !x.prefix.includes(':') && x.gateway !== undefined).every((x) => x.mac === null)).toBe(true);
    const router4 = r.resolved.find((x) => x.address === lab.router.onLink4);
    expect(router4).toMatchObject({ mac: routerMac });
    expect(router4!.latencyMs).toBeGreaterThan(0);
    expect(router4!.latencyMs).toBeLessThan(500 * 3);  // answered within its round's wait
    // Every unresolved next hop (IPv4 and IPv6 gateways) answered: the applied plan is complete.
    expect(r.resolved.map((x) => x.address).sort()).toEqual([...r.plan.unresolved].sort());
    for (const x of r.resolved) expect(x.mac).toBe(routerMac);
    expect(r.applied.unresolved).toEqual([]);
    for (const route of r.applied.routes) if (route.gateway !== undefined) expect(route.mac).toBe(routerMac);
  });

  labIt('resolves the live on-link hosts over ARP and NDP with their own MACs', async () => {
    await flushNeighbours();
    const p = await plan({ targets: [lab.onLink.ipv4!, lab.onLink.ipv6!] });
    const live = lab.onLink.live;
    const r = await resolve({ plan: p, addresses: live, options: { timeoutMs: 500, retries: 2, rate: 1000 } });
    expect(r.error).toBeUndefined();
    expect(r.resolved.map((x) => x.address).sort()).toEqual([...live].sort());
    for (const x of r.resolved) expect(x.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    // Each host's MAC is the one its own namespace reports for that address.
    for (const ns of lab.namespaces.filter((n) => /-o\d+$/.test(n))) {
      const addrs = JSON.parse(await sh(ns, 'ip', ['-j', 'addr', 'show'])) as Array<{ address: string; addr_info: Array<{ local: string }> }>;
      for (const l of addrs) for (const a of l.addr_info) {
        const hit = r.resolved.find((x) => x.address === a.local);
        if (hit) expect(hit.mac).toBe(l.address);
      }
    }
  });

  labIt('reports an on-link address nobody holds as unresolved, without hanging', async () => {
    await flushNeighbours();
    const ghost4 = nth(lab.onLink.ipv4!, 200);
    const ghost6 = nth(lab.onLink.ipv6!, 0xc8);
    const p = await plan({ targets: [ghost4, ghost6] });
    expect(p.unresolved).toEqual(expect.arrayContaining([ghost4, ghost6]));
    const r = await resolve({ plan: p, addresses: [ghost4, ghost6, lab.router.onLink4], options: { timeoutMs: 300, retries: 1 } });
    expect(r.resolved.map((x) => x.address)).toEqual([lab.router.onLink4]);
    expect(r.applied.unresolved).toEqual(expect.arrayContaining([ghost4, ghost6]));
    // Two rounds of 300 ms waited for the silent ones, then it returned.
    expect(r.ms).toBeGreaterThanOrEqual(600);
  });
});
