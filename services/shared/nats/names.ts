// Every NATS name the services share, declared once. Services meet here and in proto/, never in
// each other's code.

/**
 * The datastore bucket: every resource, and the routes the reflectors learn, in one JetStream KV
 * bucket so that one stream sequence is the one global revision every consumer sees alike.
 */
export const RESOURCES_BUCKET = 'meshless-resources';

/** Small bookkeeping values of the datastore (e.g. the revision below which tombstones were purged). */
export const META_BUCKET = 'meshless-meta';
/** Key in META_BUCKET: the highest revision whose tombstones may have been purged (decimal text). */
export const META_COMPACTED_REVISION = 'compacted-revision';
/** Key in META_BUCKET the datastore's readiness probe writes and reads back (a timestamp). */
export const META_HEALTH_PROBE = 'health-probe';

export const Subjects = {
  /** Sync-server load heartbeats: JSON { id, address, connections, ready }. */
  syncHeartbeat: 'meshless.sync.heartbeat',
  /** A sync server announcing it is draining: JSON { id }. */
  syncDrain: 'meshless.sync.drain',
  /** Route-reflector peer state changes: JSON { rr, peer, state }. */
  rrPeerStatus: 'meshless.rr.peer-status',
} as const;

/**
 * The reply subjects (inboxes) of a client authenticated as role/name: `_INBOX.ROLE.NAME`, so
 * that its user may subscribe to its own replies only, never to another client's (a sync server
 * reading the datastore's JetStream replies). Characters a subject token cannot hold become `_`.
 */
export function inboxPrefix(identity: { role: string; name: string }): string {
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return `_INBOX.${token(identity.role)}.${token(identity.name)}`;
}

/**
 * Kind → key token in RESOURCES_BUCKET. Keys are `<token>.<namespace or _>.<name>`, with `.` in
 * names written as `_` (Kubernetes names never contain `_`, namespaces never contain `.` or `_`),
 * so one token per level and `nodes.>` style wildcards work.
 */
export const KIND_TOKENS = {
  Node: 'nodes',
  IPPool: 'ippools',
  IPAMBlock: 'ipamblocks',
  BlockAffinity: 'blockaffinities',
  IPAMHandle: 'ipamhandles',
  WorkloadEndpoint: 'workloadendpoints',
  HostEndpoint: 'hostendpoints',
  Profile: 'profiles',
  NetworkPolicy: 'networkpolicies',
  GlobalNetworkPolicy: 'globalnetworkpolicies',
  BGPPeer: 'bgppeers',
  BGPConfiguration: 'bgpconfigurations',
  BGPFilter: 'bgpfilters',
  FelixConfiguration: 'felixconfigurations',
  KubeControllersConfiguration: 'kubecontrollersconfigurations',
  ClusterInformation: 'clusterinformations',
  IPAMConfiguration: 'ipamconfigurations',
  IPReservation: 'ipreservations',
  GlobalNetworkSet: 'globalnetworksets',
  NetworkSet: 'networksets',
  Tier: 'tiers',
  StagedNetworkPolicy: 'stagednetworkpolicies',
  StagedGlobalNetworkPolicy: 'stagedglobalnetworkpolicies',
  StagedKubernetesNetworkPolicy: 'stagedkubernetesnetworkpolicies',
  CalicoNodeStatus: 'caliconodestatuses',
  /** Routes learned by the route reflectors from BGP peers (written by services/rr). */
  LearnedRoute: 'learnedroutes',
} as const;

export type StoredKind = keyof typeof KIND_TOKENS;

const TOKEN_KINDS = new Map<string, StoredKind>(Object.entries(KIND_TOKENS).map(([k, t]) => [t, k as StoredKind]));

const CLUSTER_SCOPE = '_';

export interface ResourceKey {
  kind: StoredKind;
  /** Empty for cluster-scoped kinds. */
  namespace: string;
  name: string;
}

export function resourceKey(kind: StoredKind, namespace: string, name: string): string {
  return `${KIND_TOKENS[kind]}.${namespace || CLUSTER_SCOPE}.${name.replaceAll('.', '_')}`;
}

/** The wildcard matching every key of a kind (optionally in one namespace). */
export function kindPrefix(kind: StoredKind, namespace?: string): string {
  return namespace ? `${KIND_TOKENS[kind]}.${namespace}.>` : `${KIND_TOKENS[kind]}.>`;
}

/** Inverse of resourceKey; undefined for keys that are not resource keys. */
export function parseResourceKey(key: string): ResourceKey | undefined {
  const parts = key.split('.');
  if (parts.length !== 3) return undefined;
  const kind = TOKEN_KINDS.get(parts[0]!);
  if (!kind) return undefined;
  return { kind, namespace: parts[1] === CLUSTER_SCOPE ? '' : parts[1]!, name: parts[2]!.replaceAll('_', '.') };
}
