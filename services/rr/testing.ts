// Test fixtures of the reflector, for its tests and the chaos suite: in-process reflectors in a
// network namespace and BIRD/GoBGP client configurations. Services use ./index.ts.
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
