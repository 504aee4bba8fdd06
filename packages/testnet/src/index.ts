export { TestnetError, type TestnetErrorCode } from './errors.js';
export {
  resolveLabSpec,
  parsePortList,
  type LabSpec,
  type ResolvedLab,
  type HostSpec,
  type ServiceSpec,
  type BannerService,
  type RequestReplyService,
  type DnsService,
  type UdpEchoService,
  type PortRule,
  type PortAction,
  type IcmpMode,
  type Protocol,
  type LossFault,
  type RateFault,
  type DelayFault,
} from './spec.js';
export { labSpec, labNames, STANDARD_HIGH_PORTS, type LabOverrides } from './labs.js';
export { computeTruth, LabTruth, type PortState, type Reason, type Cause, type Elicitor, type PortExpectation, type PortTruth, type HostTruth, type HostRole, type TruthJSON } from './truth.js';
export { planLab, type LabPlan, type NamespacePlan, type NamespaceRole, type ServerConfig, type DelayLineConfig } from './plan.js';
export { topologyOf, type Topology, type PlacedHost } from './topology.js';
export { labNamesFor, parseLabNamespace, NAME_PREFIX, type LabNames } from './names.js';
export { routerRuleset, NFT_TABLE } from './nft.js';
export { icmpSysctls } from './icmp.js';
export { startLab, Lab, type StartLabOptions, type ExecOptions, type ExecResult } from './lab.js';
export { labStatuses, removeStaleLabs, removeLab, readLabState, STATE_DIR, type LabState, type LabStatus } from './registry.js';
export { listNamespaces, processesIn } from './namespaces.js';
export { LoopbackNamespace } from './loopback-namespace.js';
export type { ProbeRequest, ProbeResult, ProbeOutcome, ProbeOptions } from './probe-types.js';
export { canonicalAddress } from './address.js';
export { acquireLabLock, labSkipReason, LAB_LOCK } from './lab-lock.js';
export { compareScan, compareDiscovery, type ScanReport, type ScanScope, type ScanComparison, type ReportMismatch, type DiscoveryComparison } from './compare.js';
