export { SyncServer } from './sync-server.js';
export { advertisedAddress } from './address.js';
export type { SyncServerOptions, SyncServerStats } from './options.js';
export { createSyncMetrics } from './metrics.js';
export type { SyncMetrics } from './metrics.js';
export { parseHeartbeat } from './balancer.js';
export type { Heartbeat } from './balancer.js';
export { ConnectionLedger, connectionCap, openFileLimit, RESERVED_FDS, socketRoom } from './fd-limit.js';
export type { LedgerStats } from './fd-limit.js';
