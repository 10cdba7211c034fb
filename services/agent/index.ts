// The node agent: the daemon behind `meshless agent` (runAgent), which follows the sync servers as
// one node through sync's client (SyncAgent, services/sync) and programs the node's dataplane.
export { runAgent, agentConfigSpec } from './src/daemon.js';
export type { AgentConfig, RunningAgent } from './src/daemon.js';
export {
  createLinuxDataplane,
  LinuxDataplane,
  attachDataplane,
  startDataplane,
  dataplaneConfigSpec,
  DEFAULT_ROUTE_PROTOCOL,
} from './src/dataplane/index.js';
export type {
  LinuxDataplaneOptions,
  ReconcileResult,
  DataplaneStatus,
  ResourceChange,
  AttachedDataplane,
  DataplaneConfig,
} from './src/dataplane/index.js';
