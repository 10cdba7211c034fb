// The test harness every service's tests import (and the benchmarks and the local cluster's switch):
// network namespaces (and their broker process, a build entry), real BIRD 2 / FRR / GoBGP peers,
// raw BGP peers for malformed input, route collection on a speaker, and the BGP interop and
// security suites. For tests and labs only: no service imports it outside its tests.
export { createNetns, netnsSkipReason } from './src/netns.js';
export type { Netns, NetnsTransport } from './src/netns.js';
export { startBird, parseBirdProtocol, parseBirdRoutes, BIRD_BIN, BIRDC_BIN } from './src/bird.js';
export type { BirdHandle, BirdOptions, BirdProtocol, BirdRoute, BirdChannel } from './src/bird.js';
export { startFrr, FRR_BGPD_BIN, VTYSH_BIN } from './src/frr.js';
export type { FrrHandle, FrrOptions, FrrPath, FrrNeighbor } from './src/frr.js';
export { startGobgp, GOBGPD_BIN, GOBGP_BIN } from './src/gobgp.js';
export type { GobgpHandle, GobgpOptions, GobgpPath, GobgpNeighbor } from './src/gobgp.js';
export { poll } from './src/daemon.js';
export type { DaemonProcess } from './src/daemon.js';
export { RouteCollector, announce, withdraw, originAttributes, waitForPeerState } from './src/routes.js';
export type { CollectedRoute } from './src/routes.js';
export { interopSuite } from './src/interop-suite.js';
export type { DaemonAdapter, DaemonRoute, InteropNeighbor, InteropPlan } from './src/interop-suite.js';
export { RawPeer, rawMessage, rawOpen } from './src/raw-peer.js';
export type { RawOpen } from './src/raw-peer.js';
export { securitySuite } from './src/security-suite.js';
export type { SecurityAdapter, SecurityNeighbor, SecurityPlan } from './src/security-suite.js';
