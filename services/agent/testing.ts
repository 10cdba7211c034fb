// Test fixtures of the agent, for tests and the end-to-end lab only: Calico v3 resources as the
// dataplane receives them. Services use ./index.ts.
export { workloadEndpoint, ipamBlock, blockAffinity, nodeResource, deletion } from './src/dataplane/index.js';
