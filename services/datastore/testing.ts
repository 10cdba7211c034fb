// Test fixtures of the datastore, for other services' tests: a real nats-server and a datastore on
// free loopback ports, its configuration, one valid document of every kind. Services use ./index.ts.
export { testConfig, startTestDatastore, FIXTURES } from './src/testing/index.js';
export type { TestDatastore } from './src/testing/index.js';
