import { TestnetError } from './errors.js';

/**
 * Names of everything a lab creates. A lab id is the prefix, the owning
 * process id and a per-process sequence number, so concurrent runs never
 * collide and `down --all-stale` can tell a dead owner from a live one by the
 * name alone.
 */
export const NAME_PREFIX = 'pftn';
const IFNAMSIZ = 15;

export interface LabNames {
  readonly id: string;
  readonly ownerPid: number;
  readonly seq: number;
  readonly scanner: string;
  readonly router: string;
  readonly targets: readonly string[];
  readonly onLink: readonly string[];
  /** Interface names, each at most 15 characters (IFNAMSIZ - 1). */
  readonly ifaces: {
    readonly scanner: string;
    readonly routerToScanner: string;
    /** Bridges of the two segments: layer 2 only, they carry no address. */
    readonly onLinkBridge: string;
    readonly targetBridge: string;
    /**
     * The router's layer-3 ports on the two segments, veths whose peers
     * (`…Port`) sit in the bridges. A veth gets its carrier at once, a bridge
     * only through the kernel's link watch up to a second later, and IPv6
     * addresses stay tentative until then: addresses live on these veths.
     */
    readonly routerOnLink: string;
    readonly routerOnLinkPort: string;
    readonly routerTargets: string;
    readonly routerTargetsPort: string;
    /** The delay line's tun device on the router. */
    readonly delayTun: string;
    readonly routerToTarget: readonly string[];
    readonly target: readonly string[];
    readonly routerToOnLink: readonly string[];
    readonly onLink: readonly string[];
  };
}

const LAB_NS = new RegExp(`^${NAME_PREFIX}(\\d+)-(\\d+)-(scan|rtr|t\\d+|o\\d+)$`);

export function labId(pid: number, seq: number): string {
  return `${NAME_PREFIX}${pid}-${seq}`;
}

export function labNamesFor(pid: number, seq: number, targetCount: number, onLinkCount: number): LabNames {
  if (!Number.isInteger(pid) || pid < 1 || !Number.isInteger(seq) || seq < 0) {
    throw new TestnetError('ERR_TESTNET_OPTIONS', `lab names need a positive pid and a sequence >= 0 (got ${pid}, ${seq})`);
  }
  const id = labId(pid, seq);
  // Interfaces live only inside the lab's namespaces, but carry the owner in
  // base 36 anyway so a leaked one (in `ip link` of any namespace) says whose it is.
  const tag = `pf${pid.toString(36)}${seq.toString(36)}`;
  const iface = (role: string): string => {
    const name = `${tag}${role}`;
    if (name.length > IFNAMSIZ) throw new TestnetError('ERR_TESTNET_OPTIONS', `interface name "${name}" exceeds ${IFNAMSIZ} characters`);
    return name;
  };
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  return {
    id,
    ownerPid: pid,
    seq,
    scanner: `${id}-scan`,
    router: `${id}-rtr`,
    targets: range(targetCount).map((i) => `${id}-t${i}`),
    onLink: range(onLinkCount).map((i) => `${id}-o${i}`),
    ifaces: {
      scanner: iface('s'),
      routerToScanner: iface('rs'),
      onLinkBridge: iface('bo'),
      targetBridge: iface('bt'),
      routerOnLink: iface('go'),
      routerOnLinkPort: iface('gob'),
      routerTargets: iface('gt'),
      routerTargetsPort: iface('gtb'),
      delayTun: iface('dl'),
      routerToTarget: range(targetCount).map((i) => iface(`rt${i}`)),
      target: range(targetCount).map((i) => iface(`t${i}`)),
      routerToOnLink: range(onLinkCount).map((i) => iface(`ro${i}`)),
      onLink: range(onLinkCount).map((i) => iface(`o${i}`)),
    },
  };
}

/** Parse a namespace name this package made; undefined for anyone else's. */
export function parseLabNamespace(name: string): { id: string; ownerPid: number; seq: number; role: string } | undefined {
  const m = LAB_NS.exec(name);
  if (!m) return undefined;
  const ownerPid = Number(m[1]);
  const seq = Number(m[2]);
  return { id: labId(ownerPid, seq), ownerPid, seq, role: m[3] };
}
