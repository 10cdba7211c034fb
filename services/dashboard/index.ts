// The live web dashboard (`meshless dashboard`): nodes and agents, sync servers, reflector sessions,
// IPAM usage and recent changes, read from the existing APIs and pushed to the page with
// server-sent events. See DESIGN.md.
export { runDashboard, dashboardConfigSpec } from './src/run.js';
export type { DashboardConfig, RunningDashboard } from './src/run.js';
export { parsePrometheusText, histogramQuantile, bucketsOf, sumOf } from './src/prom-text.js';
export type { Sample, Scrape } from './src/prom-text.js';
export type {
  DashboardState,
  NodeView,
  AgentView,
  SyncServerView,
  ReflectorView,
  PeerView,
  PoolView,
  ChangeView,
} from './src/state.js';
