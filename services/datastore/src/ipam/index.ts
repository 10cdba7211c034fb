export { Ipam } from './ipam.js';
export type { AllocateRequest, AllocateResult, ReleaseResult, PoolUsage, BlockUsage, IpamUsage, Normalize } from './ipam.js';
