// The sync service: Typha-style fan-out of the datastore to node agents and route reflectors
// over gRPC (proto/meshless/v1/sync.proto), and the protocol's client. See DESIGN.md.
export { runSync } from './src/daemon.js';
export type { RunningSync, RunSyncOptions } from './src/daemon.js';
export { syncConfigSpec } from './src/config.js';
export type { SyncConfig } from './src/config.js';
export {
  SyncServer,
  createSyncMetrics,
  parseHeartbeat,
  openFileLimit,
  RESERVED_FDS,
  ConnectionLedger,
} from './src/server/index.js';
export type { SyncServerOptions, SyncServerStats, SyncMetrics, Heartbeat } from './src/server/index.js';
export { SYNCER_TYPES, NODE_SCOPED_KINDS, isSyncerType, scopeOf, inView, nodeOfResource } from './src/view/index.js';
export type { SyncerType, Scope } from './src/view/index.js';
export {
  SyncAgent,
  AGENT_VERSION,
  AgentState,
  ContentHash,
  hashEntries,
  entryDigest,
  nextBackoff,
  reconnectSpread,
  failoverIndex,
  WARM_RESUMES_PER_SECOND,
  STANDBY_BACKOFF_INITIAL_MS,
  STANDBY_BACKOFF_MAX_MS,
  FLOW_CONTROL_WINDOW_BYTES,
} from './src/client/index.js';
export type {
  SyncAgentOptions,
  AgentStatus,
  AgentStatusEvent,
  AgentCommit,
  AgentEvent,
  AgentStats,
  AgentUpdate,
  StateEntry,
} from './src/client/index.js';
