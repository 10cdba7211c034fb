export { SyncAgent, AGENT_VERSION } from './agent.js';
export type { SyncAgentOptions, AgentStatus, AgentStatusEvent, AgentCommit, AgentEvent, AgentStats } from './agent.js';
export { AgentState } from './state.js';
export type { AgentUpdate, StateEntry } from './state.js';
export { ContentHash, hashEntries, entryDigest } from './content-hash.js';
export { failoverIndex, nextBackoff, reconnectSpread } from './backoff.js';
export { FLOW_CONTROL_WINDOW_BYTES } from './stream.js';
