// Test fixtures of the reflector, for its tests, the chaos suite and the benchmarks: in-process
// reflectors in a network namespace, BIRD/GoBGP client configurations, and the RIB, policy and
// exporter on their own (bench:rr-core drives them without sockets). Services use ./index.ts.
export {
  birdSkipReason,
  reflectorSettings,
  peer,
  startReflector,
  birdConfig,
  gobgpClientConfig,
  blocks,
} from './src/testing/lab.js';
export type { BirdNeighbor } from './src/testing/lab.js';
export { Rib } from './src/rib/index.js';
export { Exporter, type ExportSink } from './src/export/exporter.js';
export { PeerPolicy } from './src/policy/peer-policy.js';
