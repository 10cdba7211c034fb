export { SyncAgent, AGENT_VERSION } from './agent.js';
export type { SyncAgentOptions, AgentStatus, AgentStatusEvent, AgentCommit, AgentEvent, AgentStats } from './agent.js';
export { AgentState } from './state.js';
export type { AgentUpdate, StateEntry } from './state.js';
export { ContentHash, hashEntries, entryDigest } from './content-hash.js';
export { failoverIndex, nextBackoff, reconnectSpread, RESUMES_PER_SECOND, WARM_RESUMES_PER_SECOND } from './backoff.js';
export { Standby, STANDBY_BACKOFF_INITIAL_MS, STANDBY_BACKOFF_MAX_MS } from './standby.js';
export { FLOW_CONTROL_WINDOW_BYTES, STANDBY_KEEPALIVE_MS } from './stream.js';
