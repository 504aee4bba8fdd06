import { addressAt } from './address.js';
import type { HostSpec, ResolvedLab } from './spec.js';

/** Where each host of a resolved spec lives and which addresses it has. */
export interface PlacedHost {
  readonly kind: 'routed' | 'on-link';
  /** Index among the hosts of its kind, as in the spec. */
  readonly index: number;
  /** Index of its namespace among the target (routed) or on-link namespaces. */
  readonly namespaceIndex: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly spec: HostSpec;
}

export interface Topology {
  readonly lab: ResolvedLab;
  readonly routed: readonly PlacedHost[];
  readonly onLink: readonly PlacedHost[];
  readonly router: {
    readonly onLink4?: string;
    readonly onLink6?: string;
    readonly routed4?: string;
    readonly routed6?: string;
  };
  readonly scanner: { readonly ipv4?: string; readonly ipv6?: string };
}

export const ROUTER_OFFSET = 1;

export function topologyOf(lab: ResolvedLab): Topology {
  const name = lab.spec.name;
  const place = (kind: PlacedHost['kind'], h: HostSpec, index: number, nsCount: number): PlacedHost => {
    const p4 = kind === 'routed' ? lab.routed4 : lab.onLink4;
    const p6 = kind === 'routed' ? lab.routed6 : lab.onLink6;
    const v4 = h.ipv4 ?? p4 !== undefined;
    const v6 = h.ipv6 ?? p6 !== undefined;
    return {
      kind,
      index,
      namespaceIndex: index % nsCount,
      ...(v4 && p4 ? { ipv4: addressAt(p4, h.offset, `lab "${name}" host`) } : {}),
      ...(v6 && p6 ? { ipv6: addressAt(p6, h.offset, `lab "${name}" host`) } : {}),
      spec: h,
    };
  };
  const routed = lab.spec.routed.hosts.map((h, i) => place('routed', h, i, lab.spec.routed.namespaces));
  const onLink = lab.spec.onLink.hosts.map((h, i) => place('on-link', h, i, Math.max(1, lab.spec.onLink.hosts.length)));
  const at = (p: ResolvedLab['routed4'], off: number): string | undefined => (p ? addressAt(p, off, `lab "${name}"`) : undefined);
  const router = {
    onLink4: at(lab.onLink4, ROUTER_OFFSET),
    onLink6: at(lab.onLink6, ROUTER_OFFSET),
    routed4: at(lab.routed4, ROUTER_OFFSET),
    routed6: at(lab.routed6, ROUTER_OFFSET),
  };
  const scanner = { ipv4: at(lab.onLink4, lab.spec.onLink.scannerOffset), ipv6: at(lab.onLink6, lab.spec.onLink.scannerOffset) };
  return { lab, routed, onLink, router: dropUndefined(router), scanner: dropUndefined(scanner) };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
