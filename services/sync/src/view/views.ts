// What each syncer type carries, decided on the server so a client never receives what it must
// not see (Typha sends every client every endpoint and lets it filter; we do not).
//
// A kind is in a view with one of three scopes:
//   'all'   every client of the syncer type receives it
//   'node'  only the clients whose node is the resource's spec.node (endpoints)
//   'none'  not part of the view
import type { StoredKind } from '../../../shared/nats/index.js';

export const SYNCER_TYPES = ['agent', 'bgp'] as const;
export type SyncerType = (typeof SYNCER_TYPES)[number];

export type Scope = 'all' | 'node' | 'none';

const SCOPES: Record<SyncerType, Record<StoredKind, Scope>> = {
  agent: {
    Node: 'all',
    IPPool: 'all',
    IPAMBlock: 'all',
    BlockAffinity: 'all',
    // Handles are IPAM bookkeeping (which blocks hold a handle's addresses): no agent needs them.
    IPAMHandle: 'none',
    WorkloadEndpoint: 'node',
    HostEndpoint: 'node',
    Profile: 'all',
    NetworkPolicy: 'all',
    GlobalNetworkPolicy: 'all',
    BGPPeer: 'none',
    BGPConfiguration: 'none',
    LearnedRoute: 'all',
    // Stored for Calico compatibility; agents receive them (Felix's view) though they act on few.
    FelixConfiguration: 'all',
    ClusterInformation: 'all',
    IPAMConfiguration: 'all',
    IPReservation: 'all',
    GlobalNetworkSet: 'all',
    NetworkSet: 'all',
    Tier: 'all',
    StagedNetworkPolicy: 'all',
    StagedGlobalNetworkPolicy: 'all',
    StagedKubernetesNetworkPolicy: 'all',
    CalicoNodeStatus: 'all',
    BGPFilter: 'none',
    KubeControllersConfiguration: 'none',
  },
  bgp: {
    Node: 'all',
    IPPool: 'all',
    IPAMBlock: 'all',
    BlockAffinity: 'all',
    IPAMHandle: 'none',
    WorkloadEndpoint: 'none',
    HostEndpoint: 'none',
    Profile: 'none',
    NetworkPolicy: 'none',
    GlobalNetworkPolicy: 'none',
    BGPPeer: 'all',
    BGPConfiguration: 'all',
    LearnedRoute: 'none',
    // confd's view: filters and the node status requests; the rest is Felix's.
    BGPFilter: 'all',
    CalicoNodeStatus: 'all',
    FelixConfiguration: 'none',
    ClusterInformation: 'none',
    IPAMConfiguration: 'none',
    IPReservation: 'none',
    GlobalNetworkSet: 'none',
    NetworkSet: 'none',
    Tier: 'none',
    StagedNetworkPolicy: 'none',
    StagedGlobalNetworkPolicy: 'none',
    StagedKubernetesNetworkPolicy: 'none',
    KubeControllersConfiguration: 'none',
  },
};

/** Kinds whose visibility depends on the client's node in some view. */
export const NODE_SCOPED_KINDS: ReadonlySet<StoredKind> = new Set(
  (Object.keys(SCOPES.agent) as StoredKind[]).filter((k) => SYNCER_TYPES.some((t) => SCOPES[t][k] === 'node')),
);

/** Syncer types with a node-scoped kind (computed once: asked on every hello). */
const NODE_SCOPED_SYNCERS: ReadonlySet<SyncerType> = new Set(
  SYNCER_TYPES.filter((t) => Object.values(SCOPES[t]).includes('node')),
);

export function isSyncerType(s: string): s is SyncerType {
  return (SYNCER_TYPES as readonly string[]).includes(s);
}

export function scopeOf(syncer: SyncerType, kind: StoredKind): Scope {
  return SCOPES[syncer][kind];
}

/** Whether `syncer` has any node-scoped kind (then each client also gets a per-node part). */
export function hasNodeScope(syncer: SyncerType): boolean {
  return NODE_SCOPED_SYNCERS.has(syncer);
}

/**
 * The node a node-scoped resource belongs to: its `spec.node`. Undefined when the JSON does not
 * parse or has no such string; such a resource is then in no node's view (and a node that had it
 * receives a deletion), which is safer than guessing.
 */
export function nodeOfResource(value: Uint8Array): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const spec = (doc as { spec?: unknown } | null)?.spec;
  const node = spec && typeof spec === 'object' ? (spec as { node?: unknown }).node : undefined;
  return typeof node === 'string' && node !== '' ? node : undefined;
}

/** Whether a live resource of `kind` with owner `node` is in the view of (syncer, clientNode). */
export function inView(syncer: SyncerType, clientNode: string, kind: StoredKind, node: string | undefined): boolean {
  const scope = SCOPES[syncer][kind];
  return scope === 'all' || (scope === 'node' && node !== undefined && node === clientNode);
}
