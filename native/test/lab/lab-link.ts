// A LinkPlan for a lab's scanner namespace, read with iproute2 (`ip -j`): the interface,
// our addresses, routes with their gateways' MACs and the on-link neighbours' MACs (the
// kernel learns them from one ping each). planLink() does the same over netlink; the
// tests build it by hand so the engine is tested on its own.
import type { Lab } from '@portflow/testnet';
import type { LinkPlan } from '../../ts/index.js';

async function json<T>(lab: Lab, args: string[]): Promise<T> {
  const r = await lab.exec('ip', ['-j', ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]') as T;
}

export async function labLinkPlan(lab: Lab, onLinkHosts: readonly string[] = []): Promise<LinkPlan> {
  const iface = lab.scanner.interface;
  const [link] = await json<Array<{ ifindex: number; address: string; mtu: number }>>(lab, ['link', 'show', 'dev', iface]);
  const routes4 = await json<Array<{ dst: string; gateway?: string }>>(lab, ['-4', 'route', 'show', 'dev', iface]);
  const routes6 = await json<Array<{ dst: string; gateway?: string }>>(lab, ['-6', 'route', 'show', 'dev', iface]);
  const gateways = [...new Set([...routes4, ...routes6].map((r) => r.gateway).filter((g): g is string => !!g))];
  // One ping each fills the kernel's neighbour table (ARP / NDP).
  await Promise.all([...gateways, ...onLinkHosts].map((a) => lab.exec('ping', ['-c', '1', '-W', '2', a])));
  const neigh = await json<Array<{ dst: string; lladdr?: string; state?: string[] }>>(lab, ['neigh', 'show', 'dev', iface]);
  const macOf = new Map(neigh.filter((n) => n.lladdr).map((n) => [n.dst, n.lladdr!]));
  const prefix = (dst: string, v6: boolean) => (dst === 'default' ? (v6 ? '::/0' : '0.0.0.0/0') : dst.includes('/') ? dst : `${dst}/${v6 ? 128 : 32}`);
  const routes: LinkPlan['routes'] = [];
  for (const [list, v6] of [[routes4, false], [routes6, true]] as const) {
    for (const r of list) {
      if (v6 && r.dst.startsWith('fe80')) continue;
      const mac = r.gateway ? macOf.get(r.gateway) : null;
      if (r.gateway && !mac) throw new Error(`no MAC for gateway ${r.gateway}`);
      routes.push({ prefix: prefix(r.dst, v6), mac: mac ?? null });
    }
  }
  const neighbors = onLinkHosts.map((a) => {
    const mac = macOf.get(a);
    if (!mac) throw new Error(`no MAC for on-link host ${a}`);
    return { address: a, mac };
  });
  return {
    interface: iface,
    ifindex: link.ifindex,
    layer: 'ethernet',
    srcMac: link.address,
    srcV4: lab.scanner.ipv4 ?? null,
    srcV6: lab.scanner.ipv6 ?? null,
    routes,
    neighbors,
    mtu: link.mtu,
  };
}
