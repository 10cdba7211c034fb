// Feeding the dataplane from a SyncAgent: the agent's whole state once, then every commit's net
// changes. The dataplane starts programming only when the view is authoritative: at once when
// the agent opened its state at a revision (its LMDB copy is a complete view at that revision),
// else at its first commit (a snapshot or resume); before that an empty view means "not synced
// yet", and acting on it would delete every route the node has.
//
// Also the daemon's configuration for `meshless agent --dataplane linux`, declared here so the
// daemon only spreads it into its own spec.
import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { checks, type ConfigOf, type ParamSpec } from '../../../shared/config/index.js';
import { parseResourceKey } from '../../../shared/nats/index.js';
import { createLinuxDataplane, DEFAULT_ROUTE_PROTOCOL, type LinuxDataplane } from './linux-dataplane.js';
import type { ResourceChange } from './view.js';

/** What attach needs of a SyncAgent (its public surface). */
export interface AgentFeed {
  readonly revision: number;
  keys(): string[];
  get(key: string): { readonly value: Buffer } | undefined;
  on(event: 'commit', listener: (c: { revision: number; updates: readonly ResourceChange[] }) => void): unknown;
  off(event: 'commit', listener: (c: { revision: number; updates: readonly ResourceChange[] }) => void): unknown;
}

export interface AttachedDataplane {
  readonly dataplane: LinuxDataplane;
  /** Resolves after the first pass (once the view became authoritative). */
  readonly started: Promise<void>;
  /** Stops feeding and closes the dataplane; routes stay. */
  close(): Promise<void>;
}

/** Feeds `dataplane` from `agent` (already started: its state is open) and starts it when the view is authoritative. */
export function attachDataplane(agent: AgentFeed, dataplane: LinuxDataplane, log?: Logger): AttachedDataplane {
  const initial: ResourceChange[] = [];
  for (const key of agent.keys()) {
    const parsed = parseResourceKey(key);
    const entry = agent.get(key);
    if (parsed && entry) initial.push({ ...parsed, value: entry.value });
  }
  dataplane.replace(initial);
  let startedResolve!: () => void;
  const started = new Promise<void>((r) => (startedResolve = r));
  let starting = false;
  const begin = (): void => {
    if (starting) return;
    starting = true;
    dataplane.start().then(
      (r) => {
        log?.info(
          {
            desired: r.desired,
            programmed: r.programmed,
            added: r.added,
            removed: r.removed,
            waitingForInterface: r.waitingForInterface.length,
            conflicts: r.conflicts.length,
            ms: Math.round(r.durationMs),
          },
          'dataplane started',
        );
        startedResolve();
      },
      (err: Error) => {
        log?.error({ err: err.message }, 'first dataplane pass failed; retrying with the periodic reconcile');
        startedResolve();
      },
    );
  };
  const onCommit = (c: { revision: number; updates: readonly ResourceChange[] }): void => {
    dataplane.apply(c.updates);
    begin();
  };
  agent.on('commit', onCommit);
  if (agent.revision > 0) begin();
  return {
    dataplane,
    started,
    async close() {
      agent.off('commit', onCommit);
      await dataplane.close();
    },
  };
}

export const dataplaneConfigSpec = {
  dataplane: {
    type: 'string',
    default: 'none',
    check: checks.oneOf('none', 'linux'),
    description: "program this node's kernel: none, or linux (routes to local workloads, block routes, proxy ARP)",
  },
  routeProtocol: {
    type: 'int',
    default: DEFAULT_ROUTE_PROTOCOL,
    check: (v: number) =>
      Number.isInteger(v) && v >= 5 && v <= 255 ? undefined : "must be 5-255 (0-4 are the kernel's own)",
    description: 'the `proto` number of the routes the linux dataplane owns; it never touches others',
  },
  routeTable: {
    type: 'string',
    default: 'main',
    check: (v: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? undefined : 'must be a routing table name or number'),
    description: 'routing table the linux dataplane programs',
  },
  blockRoute: {
    type: 'string',
    default: 'blackhole',
    check: checks.oneOf('unreachable', 'blackhole'),
    description:
      "route type for this node's IPAM blocks: blackhole (Calico's, drops silently) or unreachable (senders get ICMP unreachable at once)",
  },
  remoteBlocks: {
    type: 'bool',
    default: false,
    description: "also route other nodes' blocks via their node address (nodes on one L2 segment)",
  },
  reconcileInterval: {
    type: 'duration',
    default: 30_000,
    check: checks.positive,
    description: 'period of the full kernel reconcile of the linux dataplane',
  },
  netns: {
    type: 'string',
    default: '',
    check: (v: string) =>
      v === '' || /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? undefined : 'must be a network namespace name (ip netns)',
    description: "network namespace (ip netns name) the linux dataplane programs; empty: this process's own",
  },
} satisfies Record<string, ParamSpec<any>>;

export type DataplaneConfig = ConfigOf<typeof dataplaneConfigSpec>;

/** Creates and attaches the dataplane the config asks for; undefined for `dataplane: none`. */
export function startDataplane(
  config: DataplaneConfig & { node: string },
  agent: AgentFeed,
  options: { log?: Logger; meter?: Meter } = {},
): AttachedDataplane | undefined {
  if (config.dataplane !== 'linux') return undefined;
  const dataplane = createLinuxDataplane({
    node: config.node,
    routeProtocol: config.routeProtocol,
    table: config.routeTable,
    blockRouteType: config.blockRoute as 'unreachable' | 'blackhole',
    remoteBlocks: config.remoteBlocks,
    reconcileIntervalMs: config.reconcileInterval,
    ...(config.netns ? { netns: config.netns } : {}),
    ...(options.log ? { log: options.log.child({ subsystem: 'dataplane' }) } : {}),
    ...(options.meter ? { meter: options.meter } : {}),
  });
  return attachDataplane(agent, dataplane, options.log);
}
