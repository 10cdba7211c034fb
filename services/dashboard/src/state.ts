// What the dashboard shows, as the JSON the page receives (GET /api/state and each server-sent
// `state` event). One document with everything: the page re-renders from it, so a browser that
// reconnects or opens late needs no history.

export interface AgentView {
  /** The metrics endpoint it was read from. */
  endpoint: string;
  inSync: boolean;
  revision: number;
  /** Datastore revision minus the agent's: how many changes it has not applied yet. */
  lag: number | null;
  entries: number;
  /** Set when the last scrape failed. */
  error?: string;
}

export interface NodeView {
  name: string;
  role: 'node' | 'reflector';
  address: string;
  asNumber: string;
  /** IPAM blocks affine to the node. */
  blocks: string[];
  agent?: AgentView;
}

export interface SyncServerView {
  name: string;
  endpoint: string;
  streams: number;
  agents: number;
  reflectors: number;
  revision: number;
  cacheEntries: number;
  /** Fan-out time of change batches (seconds), null when none happened. */
  fanoutP50: number | null;
  fanoutP99: number | null;
  /** Change batches fanned out in the recent window. */
  fanoutBatches: number;
  /** What the percentiles cover: the recent window (when changes flowed in it) or the server's life. */
  fanoutWindow: 'recent' | 'since start';
  /** Connections refused since start (full, bad hello, draining...). */
  rejected: number;
  error?: string;
}

export interface PeerView {
  address: string;
  asNumber: number;
  type: string;
  state: string;
  info: string;
  description: string;
  /** When the session came up (ms since the epoch), 0 when it is not Established. */
  establishedAtMs: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesSent: number;
  flaps: number;
}

export interface ReflectorView {
  admin: string;
  routerId: string;
  asNumber: number;
  clusterId: string;
  prefixes: number;
  paths: number;
  restarting: boolean;
  peers: PeerView[];
  error?: string;
}

export interface PoolView {
  name: string;
  cidr: string;
  blockSize: number;
  disabled: boolean;
  blocksTotal: number;
  blocksAllocated: number;
  addressesTotal: number;
  addressesInUse: number;
}

export interface ChangeView {
  /** When the dashboard saw it (ms since the epoch). */
  at: number;
  revision: number;
  type: 'put' | 'delete';
  kind: string;
  namespace: string;
  name: string;
}

export interface DatastoreView {
  address: string;
  /** True while the watch is open and past its snapshot. */
  watching: boolean;
  revision: number;
  /** Resources by kind, from the watch. */
  kinds: Record<string, number>;
  requests: number | null;
  errors: number | null;
  error?: string;
}

export interface DashboardState {
  generatedAt: number;
  datastore: DatastoreView;
  nodes: NodeView[];
  syncServers: SyncServerView[];
  reflectors: ReflectorView[];
  pools: PoolView[];
  changes: ChangeView[];
}
