export { Ipam, PoolExhaustedError } from './ipam.js';
export type {
  AllocateRequest,
  AllocateResult,
  ReleaseResult,
  PoolUsage,
  BlockUsage,
  IpamUsage,
  Normalize,
  IpamOptions,
} from './ipam.js';
export { IpamAddresses } from './addresses.js';
export type { AssignedAddress, AutoAssignRequest, AssignIpRequest } from './addresses.js';
