// The node agent: a library that follows the sync servers as one node (SyncAgent) and the daemon
// behind `meshless agent` (runAgent).
export { SyncAgent, AGENT_VERSION } from './src/agent.js';
export type { SyncAgentOptions, AgentStatus, AgentStatusEvent, AgentCommit, AgentEvent, AgentStats } from './src/agent.js';
export type { AgentUpdate, StateEntry } from './src/state.js';
export { ContentHash, hashEntries, entryDigest } from './src/content-hash.js';
export { nextBackoff } from './src/backoff.js';
export { runAgent, agentConfigSpec } from './src/daemon.js';
export type { AgentConfig, RunningAgent } from './src/daemon.js';
export { createLinuxDataplane, LinuxDataplane, attachDataplane, startDataplane, dataplaneConfigSpec, DEFAULT_ROUTE_PROTOCOL } from './src/dataplane/index.js';
export type { LinuxDataplaneOptions, ReconcileResult, DataplaneStatus, ResourceChange, AttachedDataplane, DataplaneConfig } from './src/dataplane/index.js';
export { runDemo } from './src/e2e/index.js';
export type { DemoOptions } from './src/e2e/index.js';
