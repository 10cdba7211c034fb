// `meshless get` table columns per kind: calicoctl's headings and cell rules (its resource
// managers' `tableHeadings`, `tableHeadingsWide` and `headingsMap`) for the kinds calicoctl has;
// our own, in the same style, for IPAMBlock, BlockAffinity and LearnedRoute, which calicoctl
// does not list. NAMESPACE is prepended for namespaced kinds when -n or -A was given.
import type { Kind, Resource, ResourceOf } from '../../shared/resources/index.js';

export interface ColumnContext {
  /**
   * The cluster AS number (BGPConfiguration `default`, else 64512), shown in brackets as a
   * Node's inherited ASN. Only read by `-o wide` for nodes; see `needsClusterAsNumber`.
   */
  clusterAsNumber?: string;
}

type Cell<K extends Kind> = (r: ResourceOf<K>, ctx: ColumnContext) => string;

interface KindColumns<K extends Kind> {
  ps: readonly string[];
  wide: readonly string[];
  cells: Record<string, Cell<K>>;
}

/** Go template `join`: lists joined by `sep`, maps as sorted `k=v`. */
function join(items: readonly unknown[] | Record<string, string> | undefined, sep = ','): string {
  if (items === undefined) return '';
  if (Array.isArray(items)) return items.map(String).join(sep);
  return Object.entries(items)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(sep);
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const name = (r: Resource) => r.metadata.name;
const namespace = (r: Resource) => r.metadata.namespace ?? '';

type PolicyKind = 'NetworkPolicy' | 'GlobalNetworkPolicy' | 'StagedNetworkPolicy' | 'StagedGlobalNetworkPolicy';

/** The four policy kinds share calicoctl's policy columns; namespaced ones also have NAMESPACE. */
function policyColumns<K extends PolicyKind>(scope: 'namespaced' | 'global'): KindColumns<K> {
  const cells: Record<string, (r: ResourceOf<PolicyKind>) => string> = {
    NAME: name,
    ORDER: (r) => str(r.spec.order),
    SELECTOR: (r) => str(r.spec.selector),
    TIER: (r) => r.spec.tier ?? 'default',
  };
  if (scope === 'namespaced') cells.NAMESPACE = namespace;
  // Every policy kind has these spec fields; TypeScript cannot relate ResourceOf<K> (a
  // conditional type) to the union it is drawn from, hence the cast.
  return { ps: ['NAME', 'TIER'], wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR'], cells: cells as Record<string, Cell<K>> };
}

const COLUMNS: { [K in Kind]: KindColumns<K> } = {
  Node: {
    ps: ['NAME'],
    wide: ['NAME', 'ASN', 'IPV4', 'IPV6'],
    cells: {
      NAME: name,
      ASN: (r, ctx) =>
        r.spec.bgp
          ? r.spec.bgp.asNumber !== undefined
            ? String(r.spec.bgp.asNumber)
            : `(${ctx.clusterAsNumber ?? '64512'})`
          : '',
      IPV4: (r) => str(r.spec.bgp?.ipv4Address),
      IPV6: (r) => str(r.spec.bgp?.ipv6Address),
    },
  },
  IPPool: {
    ps: ['NAME', 'CIDR', 'SELECTOR'],
    wide: [
      'NAME',
      'CIDR',
      'NAT',
      'IPIPMODE',
      'VXLANMODE',
      'DISABLED',
      'DISABLEBGPEXPORT',
      'SELECTOR',
      'ASSIGNMENTMODE',
    ],
    cells: {
      NAME: name,
      CIDR: (r) => r.spec.cidr,
      NAT: (r) => String(r.spec.natOutgoing ?? false),
      IPIPMODE: (r) => r.spec.ipipMode || 'Never',
      VXLANMODE: (r) => r.spec.vxlanMode || 'Never',
      DISABLED: (r) => String(r.spec.disabled ?? false),
      DISABLEBGPEXPORT: (r) => String(r.spec.disableBGPExport ?? false),
      SELECTOR: (r) => str(r.spec.nodeSelector),
      ASSIGNMENTMODE: (r) => str(r.spec.assignmentMode),
    },
  },
  IPAMBlock: {
    ps: ['NAME', 'CIDR', 'AFFINITY'],
    wide: ['NAME', 'CIDR', 'AFFINITY', 'STRICTAFFINITY', 'INUSE', 'FREE'],
    cells: {
      NAME: name,
      CIDR: (r) => r.spec.cidr,
      AFFINITY: (r) => str(r.spec.affinity),
      STRICTAFFINITY: (r) => String(r.spec.strictAffinity ?? false),
      INUSE: (r) => String((r.spec.allocations ?? []).filter((a) => a !== null).length),
      FREE: (r) => String((r.spec.allocations ?? []).filter((a) => a === null).length),
    },
  },
  BlockAffinity: {
    ps: ['NAME', 'NODE', 'CIDR', 'STATE'],
    wide: ['NAME', 'NODE', 'CIDR', 'STATE', 'DELETED', 'TYPE'],
    cells: {
      NAME: name,
      NODE: (r) => r.spec.node,
      CIDR: (r) => r.spec.cidr,
      STATE: (r) => str(r.spec.state),
      DELETED: (r) => String(r.spec.deleted ?? false),
      TYPE: (r) => r.spec.type ?? 'host',
    },
  },
  IPAMHandle: {
    ps: ['NAME', 'HANDLE', 'BLOCKS'],
    wide: ['NAME', 'HANDLE', 'BLOCKS', 'ADDRESSES'],
    cells: {
      NAME: name,
      HANDLE: (r) => r.spec.handleID,
      BLOCKS: (r) => Object.keys(r.spec.block ?? {}).join(','),
      ADDRESSES: (r) => String(Object.values(r.spec.block ?? {}).reduce((a, b) => a + b, 0)),
    },
  },
  WorkloadEndpoint: {
    ps: ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    wide: ['NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS'],
    cells: {
      NAME: name,
      NAMESPACE: namespace,
      NODE: (r) => str(r.spec.node),
      ORCHESTRATOR: (r) => str(r.spec.orchestrator),
      WORKLOAD: (r) => r.spec.workload || str(r.spec.pod),
      NETWORKS: (r) => join(r.spec.ipNetworks),
      NATS: (r) => join(r.spec.ipNATs?.map((n) => `${n.internalIP}:${n.externalIP}`)),
      PROFILES: (r) => join(r.spec.profiles),
      INTERFACE: (r) => str(r.spec.interfaceName),
    },
  },
  HostEndpoint: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES'],
    cells: {
      NAME: name,
      NODE: (r) => str(r.spec.node),
      INTERFACE: (r) => str(r.spec.interfaceName),
      IPS: (r) => join(r.spec.expectedIPs),
      PROFILES: (r) => join(r.spec.profiles),
    },
  },
  Profile: {
    ps: ['NAME'],
    wide: ['NAME', 'LABELS'],
    cells: { NAME: name, LABELS: (r) => join(r.spec.labelsToApply) },
  },
  NetworkPolicy: policyColumns('namespaced'),
  GlobalNetworkPolicy: policyColumns('global'),
  BGPPeer: {
    ps: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    wide: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    cells: {
      NAME: name,
      PEERIP: (r) => str(r.spec.peerIP),
      NODE: (r) => r.spec.node || r.spec.nodeSelector || '(global)',
      ASN: (r) => str(r.spec.asNumber),
    },
  },
  BGPConfiguration: {
    ps: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    wide: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    cells: {
      NAME: name,
      LOGSEVERITY: (r) => str(r.spec.logSeverityScreen),
      // calicoctl prints "-" for an unset (or false) mesh flag and AS number.
      MESHENABLED: (r) => (r.spec.nodeToNodeMeshEnabled ? 'true' : '-'),
      ASNUMBER: (r) => (r.spec.asNumber ? String(r.spec.asNumber) : '-'),
    },
  },
  BGPFilter: {
    ps: ['NAME'],
    wide: ['NAME', 'NUMEXPORTV4', 'NUMIMPORTV4', 'NUMEXPORTV6', 'NUMIMPORTV6'],
    cells: {
      NAME: name,
      NUMEXPORTV4: (r) => String(r.spec.exportV4?.length ?? 0),
      NUMIMPORTV4: (r) => String(r.spec.importV4?.length ?? 0),
      NUMEXPORTV6: (r) => String(r.spec.exportV6?.length ?? 0),
      NUMIMPORTV6: (r) => String(r.spec.importV6?.length ?? 0),
    },
  },
  FelixConfiguration: { ps: ['NAME'], wide: ['NAME'], cells: { NAME: name } },
  KubeControllersConfiguration: { ps: ['NAME'], wide: ['NAME'], cells: { NAME: name } },
  ClusterInformation: {
    ps: ['NAME'],
    wide: ['NAME', 'CLUSTERGUID', 'CLUSTERTYPE', 'CALICOVERSION', 'DATASTOREREADY'],
    cells: {
      NAME: name,
      CLUSTERGUID: (r) => str(r.spec.clusterGUID),
      CLUSTERTYPE: (r) => str(r.spec.clusterType),
      CALICOVERSION: (r) => str(r.spec.calicoVersion),
      DATASTOREREADY: (r) => str(r.spec.datastoreReady),
    },
  },
  IPAMConfiguration: {
    ps: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS'],
    wide: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS', 'MAXBLOCKSPERHOST'],
    cells: {
      NAME: name,
      STRICTAFFINITY: (r) => String(r.spec.strictAffinity),
      AUTOALLOCATEBLOCKS: (r) => String(r.spec.autoAllocateBlocks),
      MAXBLOCKSPERHOST: (r) => String(r.spec.maxBlocksPerHost ?? 0),
    },
  },
  IPReservation: {
    ps: ['NAME'],
    wide: ['NAME', 'CIDRS'],
    cells: { NAME: name, CIDRS: (r) => join(r.spec.reservedCIDRs) },
  },
  GlobalNetworkSet: { ps: ['NAME'], wide: ['NAME', 'NETS'], cells: { NAME: name, NETS: (r) => join(r.spec.nets) } },
  NetworkSet: {
    ps: ['NAME'],
    wide: ['NAME', 'NETS'],
    cells: { NAME: name, NAMESPACE: namespace, NETS: (r) => join(r.spec.nets) },
  },
  Tier: { ps: ['NAME', 'ORDER'], wide: ['NAME', 'ORDER'], cells: { NAME: name, ORDER: (r) => str(r.spec.order) } },
  StagedNetworkPolicy: policyColumns('namespaced'),
  StagedGlobalNetworkPolicy: policyColumns('global'),
  StagedKubernetesNetworkPolicy: {
    ps: ['NAME'],
    wide: ['NAME', 'PODSELECTOR'],
    cells: { NAME: name, NAMESPACE: namespace, PODSELECTOR: (r) => JSON.stringify(r.spec.podSelector ?? {}) },
  },
  CalicoNodeStatus: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'CLASSES'],
    cells: { NAME: name, NODE: (r) => r.spec.node, CLASSES: (r) => join(r.spec.classes) },
  },
  LearnedRoute: {
    ps: ['NAME', 'PREFIX', 'NEXTHOP', 'PEER'],
    wide: ['NAME', 'PREFIX', 'NEXTHOP', 'ASPATH', 'COMMUNITIES', 'PEER', 'LEARNEDBY'],
    cells: {
      NAME: name,
      PREFIX: (r) => r.spec.prefix,
      NEXTHOP: (r) => r.spec.nextHop,
      ASPATH: (r) => join(r.spec.asPath, ' '),
      COMMUNITIES: (r) => join(r.spec.communities),
      PEER: (r) => r.spec.peer,
      LEARNEDBY: (r) => r.spec.learnedBy,
    },
  },
};

export interface TableOptions {
  wide: boolean;
  /** Prepend NAMESPACE for namespaced kinds (calicoctl does when -n or -A is given). */
  printNamespace: boolean;
  context?: ColumnContext;
}

/** The headings a `get` table of `kind` shows. */
export function headingsFor(kind: Kind, options: Pick<TableOptions, 'wide' | 'printNamespace'>): string[] {
  const cols = COLUMNS[kind] as KindColumns<Kind>;
  const headings = [...(options.wide ? cols.wide : cols.ps)];
  if (options.printNamespace && 'NAMESPACE' in cols.cells) headings.unshift('NAMESPACE');
  return headings;
}

/** Heading row then one row per resource, ready for `tabTable`. */
export function tableRows(kind: Kind, resources: readonly Resource[], options: TableOptions): string[][] {
  const cols = COLUMNS[kind] as KindColumns<Kind>;
  const headings = headingsFor(kind, options);
  const ctx = options.context ?? {};
  return [headings, ...resources.map((r) => headings.map((h) => cols.cells[h]!(r as ResourceOf<Kind>, ctx)))];
}

/** Whether rendering needs `ColumnContext.clusterAsNumber` (one extra datastore read). */
export function needsClusterAsNumber(kind: Kind, wide: boolean, resources: readonly Resource[]): boolean {
  return (
    kind === 'Node' &&
    wide &&
    resources.some((r) => r.kind === 'Node' && r.spec.bgp && r.spec.bgp.asNumber === undefined)
  );
}
