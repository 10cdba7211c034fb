// The node agent's Linux dataplane: Calico-style kernel programming from the agent's synced view
// (routes to local workloads, block routes, proxy ARP), reconciled against the kernel, owning
// only routes of its own protocol. See linux-dataplane.ts for the reconcile model.
export { createLinuxDataplane, LinuxDataplane, DEFAULT_ROUTE_PROTOCOL } from './linux-dataplane.js';
export type { LinuxDataplaneOptions, ReconcileResult, DataplaneStatus } from './linux-dataplane.js';
export { attachDataplane, startDataplane, dataplaneConfigSpec } from './attach.js';
export type { AgentFeed, AttachedDataplane, DataplaneConfig } from './attach.js';
export { DataplaneView } from './view.js';
export type { ResourceChange } from './view.js';
export { computeDesired, blockOwners, nodeAddress } from './desired.js';
export type { DesiredOptions, DesiredState, Upstream } from './desired.js';
export {
  diffRoutes,
  batchLines,
  parseKernelRoutes,
  parseBatchErrors,
  routeKey,
  sameRoute,
  defaultMetric,
} from './routes.js';
export type {
  Route,
  RouteType,
  RouteReason,
  KernelRoute,
  RouteDiff,
  BatchLine,
  BatchError,
  BatchErrorKind,
} from './routes.js';
export { Kernel, interfaceSysctl } from './kernel.js';
export type { KernelOptions, CommandResult } from './kernel.js';
export { workloadEndpoint, ipamBlock, blockAffinity, nodeResource, deletion } from './fixtures.js';
export { changeLatency, secondsSince, CHANGE_LATENCY_BUCKETS } from './change-marks.js';
export type { ChangeLatency, LatencyStage, MarkedChange } from './change-marks.js';
