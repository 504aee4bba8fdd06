// The contract between @portflow/native's probe engine (src/io/: sender and capture
// threads) and the engines of @portflow/scanner (SYN, UDP, discovery). Types only: the
// implementation is ts/probe-engine.ts; docs/ARCHITECTURE.md ("Probe engine") says the same
// in prose. A change here is a change of that section, in the same commit.
import type { JobLayout } from './job.js';
import type { RecordRing } from './ring.js';

/** What a probe engine sends for each position of its job. */
export type ProbeMode = 'tcp-syn' | 'udp' | 'discovery';

/**
 * Host discovery probes. In `discovery` mode the job's ports are method numbers: port p
 * (TCP kind, 1-based) of a host means `methods[p - 1]`; the method's own port (443 for
 * `tcp-syn`, 80 for `tcp-ack`) comes from `DiscoveryProbe.port`.
 */
export type DiscoveryMethod = 'arp' | 'ndp' | 'icmp-echo' | 'icmp-timestamp' | 'tcp-syn' | 'tcp-ack';
export interface DiscoveryProbe {
  method: DiscoveryMethod;
  /** Destination port for tcp-syn / tcp-ack (defaults 443 / 80). */
  port?: number;
}

/**
 * How packets leave: the interface, our addresses, and the next hop of every target.
 * Built by `planLink()` (src/io/netlink): routes and neighbours from the kernel over
 * netlink. On-link neighbours the kernel does not know yet are resolved by a discovery run
 * (ARP / NDP) before the port scan, then passed here in `neighbors`.
 */
export interface LinkPlan {
  /** Interface name and index the sender binds to. */
  interface: string;
  ifindex: number;
  /** `ethernet`: AF_PACKET, own Ethernet header. `ip`: raw IP sockets (loopback, tun, or forced). */
  layer: 'ethernet' | 'ip';
  /** Our MAC (ethernet only). */
  srcMac: string | null;
  /** Our source addresses per family (null: that family cannot be scanned from here). */
  srcV4: string | null;
  srcV6: string | null;
  /**
   * Routes by longest prefix: a gateway MAC for routed prefixes (the default route is
   * `0.0.0.0/0` / `::/0`), `null` for on-link prefixes (the neighbour's own MAC is used).
   * `gateway` (optional) names a routed prefix's next hop; with `mac: null` its MAC is not
   * known yet (planLink lists it in `unresolved`): the prefix has no next hop until
   * resolveNeighbors + applyNeighbors fill it in.
   */
  routes: Array<{ prefix: string; mac: string | null; gateway?: string }>;
  /** Resolved on-link neighbours (exact addresses). */
  neighbors: Array<{ address: string; mac: string }>;
  /** MTU of the interface. */
  mtu: number;
}

/** Our source ports: probes use `first … first + count − 1` (see cookie.h). */
export interface SourcePorts {
  first: number;
  count: number;
}

export interface ProbeEngineOptions {
  mode: ProbeMode;
  /** The scan job's layout, `position` = first position to send (a resume's lowWater). */
  job: JobLayout;
  /** Stop before this position (default: the shard's length). */
  end?: number;
  link: LinkPlan;
  sourcePorts: SourcePorts;
  /** Packets per second (all sends, retries included); Infinity: as fast as the link takes. */
  rate: number;
  /** Resends after the first try before a probe is reported as NoAnswer. */
  maxRetries: number;
  /** Timeout before a resend: max(minRttMs, srtt + 4·rttvar), capped at maxRttMs; initialRttMs before the first answer. */
  initialRttMs: number;
  minRttMs: number;
  maxRttMs: number;
  /** Probes in flight at most (memory is bounded by this, not by the scan). */
  window: number;
  /** UDP payloads by destination port (empty datagram elsewhere). */
  udpPayloads?: Map<number, Uint8Array>;
  /** Discovery methods, in job-port order. */
  discovery?: DiscoveryProbe[];
  /** 128-bit cookie key as 32 hex digits (random per scan when omitted). */
  cookieKey?: string;
  /** Capacity (records, power of two) of each output ring. Default 65,536. */
  ringCapacity?: number;
  /** TTL / hop limit of probes. Default 64. */
  ttl?: number;
  /** After the last position is final, capture keeps reading this long for late replies. Default 250. */
  lingerMs?: number;
}

/** Counters read from native atomics without locks; monotonic over the engine's life. */
export interface ProbeEngineCounters {
  /** Packets sent (first tries + retries). */
  sent: number;
  /** First tries sent = positions handed out. */
  probes: number;
  retries: number;
  /** Packets the capture thread read from its ring (after the BPF filter). */
  received: number;
  /** Replies whose cookie matched a probe. */
  matched: number;
  /** Matched replies to a probe already answered (retransmitted SYN-ACKs, ...): dropped. */
  duplicates: number;
  /** Packets that passed the filter but matched no probe (wrong cookie, unrelated). */
  strays: number;
  /** Records dropped because an output ring was full. */
  ringOverflows: number;
  /** PACKET_STATISTICS tp_drops, accumulated (the kernel resets it on read). */
  kernelDrops: number;
  /** Growth of /proc/net/softnet_stat drops since the engine started. */
  softnetDrops: number;
  /** Sends the kernel refused with ENOBUFS/EAGAIN (retried, counted here). */
  sendBackpressure: number;
  /** Window marks, positions of the job's sequence: below lowWater every probe is final. */
  lowWater: number;
  highWater: number;
  /** Probes currently in flight. */
  inFlight: number;
  /** Achieved send rate over the last second, packets/s. */
  achievedRate: number;
  /** Positions made final without a probe (or without a further resend) because their host was skipped (`skipHosts`). */
  skipped?: number;
  /** Packets the kernel refused for a reason other than ENOBUFS/EAGAIN (the probe ends as NoAnswer after its retries). */
  sendErrors?: number;
  /** Positions made final at once for want of a next hop or a source address. */
  noRoute?: number;
  /** Errors the capture socket reported (ENETDOWN: the interface went down or away); replies may have been missed. */
  captureErrors?: number;
}

export type ProbeEngineState = 'created' | 'running' | 'paused' | 'done' | 'stopped';

/**
 * The probe engine as the scanner sees it. `replies` carries TcpReply, UdpReply, IcmpError,
 * IcmpReply and NeighborReply records from the capture thread; `outcomes` carries NoAnswer
 * (after the last retry), RetriesSent and Counters records from the sender thread. Both are
 * ordinary RecordRings (doorbell, zero-copy batches).
 */
export interface ProbeEngineLike {
  readonly replies: RecordRing;
  readonly outcomes: RecordRing;
  readonly state: ProbeEngineState;
  /** Starts both threads. */
  start(): void;
  /** The sender stops sending (first tries and retries) until resume(); capture keeps reading. */
  pause(): void;
  resume(): void;
  /** Changes the pacing rate at once (rate control). */
  setRate(pps: number): void;
  /**
   * Hosts given up on (the scanner's host timeout): from the sender's next batch (~1 ms) on,
   * no first try and no resend goes to them, and their positions become final without a
   * record (the caller reports them). Also valid before start(). Counted in `skipped`.
   */
  skipHosts(addresses: readonly string[]): void;
  counters(): ProbeEngineCounters;
  /**
   * Resolves when every position up to `end` is final (answered or NoAnswer written) and
   * capture has lingered `lingerMs` for late replies; both threads are then joined.
   */
  readonly done: Promise<void>;
  /** Stops both threads, joins them, closes sockets and restores sysctls. Idempotent. */
  stop(): Promise<void>;
}
