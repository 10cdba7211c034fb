// Test fixtures of the sync service, for its tests and the chaos suite: a KV bucket to write,
// the expected view and its hash, random workloads, sync servers as processes, the raw Sync service
// definition. Services use ./index.ts.
export {
  silentLog,
  resourceDoc,
  openTestDatastore,
  viewOf,
  viewHash,
  testServerOptions,
  prng,
  RandomWorkload,
  watchAgent,
  waitConverged,
  spawnSyncServer,
} from './src/testing/fixtures.js';
export { insecureSyncArgs } from './src/testing/args.js';
/** The Sync method with identity (de)serializers, as the server registers it: a test server for raw frames. */
export { RAW_SYNC_SERVICE } from './src/protocol/index.js';
export type { TestDatastore, AgentWatch, SyncProcess } from './src/testing/fixtures.js';
