// What this node's kernel should hold, computed from the synced view (a pure function).
//
// Calico's model, as Felix and BIRD program it on a node:
// - every local WorkloadEndpoint address: `ADDR/32 dev <host veth> scope link` (IPv6: `/128 dev`),
//   and proxy ARP on the host veth so the workload's gateway can be 169.254.1.1 (IPv6: the
//   workload's gateway is the host veth's own link-local address, which the host answers for by
//   plain NDP: no proxy NDP and no neighbour entry needed);
// - every block affine to this node: `blackhole CIDR` (or unreachable), so traffic for an unused
//   address of the block stops here instead of bouncing back to the switch;
// - an address of one of our blocks that is in use on another node (borrowed: the IPAM block's
//   allocation attributes name that node, `secondary.node`, as Calico's CNI records it): a /32
//   (/128) through the node's upstream (its default route's gateway), so our block route does
//   not swallow it; the switch then routes it to the borrowing node, whose /32 the reflectors
//   originate;
// - optionally (`remoteBlocks`, nodes sharing an L2 segment): other nodes' blocks and borrowed
//   addresses straight via the owning node's address (Node spec.bgp.ipv4Address/ipv6Address).
//
// Which node owns a block: the IPAMBlock's `affinity: host:NODE` when the block exists, else a
// confirmed, not deleted BlockAffinity. When two sources want the same slot, the more specific
// intent wins: workload > borrowed address > own block > other node's block.
import {
  addressAt,
  ipToString,
  tryParseCidr,
  tryParseInterfaceAddress,
  type IpFamily,
} from '../../../shared/resources/index.js';
import { defaultMetric, routeKey, type Route, type RouteReason } from './routes.js';
import type { DataplaneView } from './view.js';

export interface Upstream {
  readonly via: string;
  readonly dev?: string;
}

export interface DesiredOptions {
  /** This node's name (its Node resource). */
  readonly node: string;
  /** Route type for this node's blocks. */
  readonly blockRouteType: 'unreachable' | 'blackhole';
  /** Also route other nodes' blocks and borrowed addresses via their node address (shared L2). */
  readonly remoteBlocks: boolean;
  /** Where borrowed addresses of our blocks go when not routed to their node directly. */
  readonly upstream?: { readonly 4?: Upstream; readonly 6?: Upstream };
}

export interface DesiredState {
  /** routeKey → route. */
  readonly routes: Map<string, Route>;
  /** Host-side interfaces of local IPv4 workloads: they need proxy ARP. */
  readonly proxyArpInterfaces: Set<string>;
  /** Families that have routes through workload interfaces (forwarding must be on). */
  readonly families: Set<IpFamily>;
  /** Why some resource gave no route (or lost a slot to another): for status and logs. */
  readonly problems: string[];
  /** Families with borrowed addresses of our blocks that need `upstream` and did not have it. */
  readonly needsUpstream: Set<IpFamily>;
}

const PRIORITY: Record<RouteReason, number> = {
  workload: 4,
  'borrowed-hole': 3,
  'remote-borrowed': 3,
  'local-block': 2,
  'remote-block': 1,
};

/** The node a block belongs to, by CIDR text, from IPAMBlocks first and confirmed affinities second. */
export function blockOwners(view: DataplaneView): Map<string, { owner: string; family: IpFamily; blockId?: string }> {
  const owners = new Map<string, { owner: string; family: IpFamily; blockId?: string }>();
  for (const [id, b] of [...view.blocks].sort(byKey)) {
    const cidr = tryParseCidr(b.spec.cidr);
    if (typeof cidr === 'string' || b.spec.deleted === true) continue;
    const aff = b.spec.affinity;
    if (!aff?.startsWith('host:')) continue;
    owners.set(cidr.text, { owner: aff.slice(5), family: cidr.family, blockId: id });
  }
  for (const [, a] of [...view.affinities].sort(byKey)) {
    if (
      a.spec.state !== 'confirmed' ||
      a.spec.deleted === true ||
      (a.spec.type !== undefined && a.spec.type !== 'host')
    )
      continue;
    const cidr = tryParseCidr(a.spec.cidr);
    if (typeof cidr === 'string' || owners.has(cidr.text)) continue;
    owners.set(cidr.text, { owner: a.spec.node, family: cidr.family });
  }
  return owners;
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The node's address of a family (Node spec.bgp.ipv4Address / ipv6Address, prefix dropped). */
export function nodeAddress(view: DataplaneView, node: string, family: IpFamily): string | undefined {
  const bgp = view.nodes.get(node)?.spec?.bgp;
  const text = family === 4 ? bgp?.ipv4Address : bgp?.ipv6Address;
  if (!text) return undefined;
  const parsed = tryParseInterfaceAddress(text.includes('/') ? text : `${text}/${family === 4 ? 32 : 128}`);
  return typeof parsed === 'string' ? undefined : ipToString(parsed.ip);
}

export function computeDesired(view: DataplaneView, options: DesiredOptions): DesiredState {
  const routes = new Map<string, Route>();
  const proxyArpInterfaces = new Set<string>();
  const families = new Set<IpFamily>();
  const problems: string[] = [];
  const needsUpstream = new Set<IpFamily>();
  const me = options.node;

  const put = (r: Route): void => {
    const key = routeKey(r);
    const prev = routes.get(key);
    if (prev) {
      const keep = PRIORITY[prev.reason!] >= PRIORITY[r.reason!] ? prev : r;
      const lost = keep === prev ? r : prev;
      if (lost.reason === 'workload' && keep.reason === 'workload')
        problems.push(`${lost.owner}: ${r.dst} is also claimed by ${keep.owner}; keeping ${keep.owner}`);
      routes.set(key, keep);
      return;
    }
    routes.set(key, r);
  };

  // Local workloads.
  for (const [id, wep] of [...view.workloadEndpoints].sort(byKey)) {
    const owner = `WorkloadEndpoint ${id}`;
    if (wep.spec.node !== me) {
      problems.push(`${owner}: spec.node is '${wep.spec.node}', not this node: ignored`);
      continue;
    }
    for (const net of wep.spec.ipNetworks ?? []) {
      const cidr = tryParseCidr(net, { allowBareIp: true });
      if (typeof cidr === 'string') {
        problems.push(`${owner}: spec.ipNetworks: ${cidr}`);
        continue;
      }
      put({
        family: cidr.family,
        dst: cidr.text,
        type: 'unicast',
        dev: wep.spec.interfaceName,
        scope: cidr.family === 4 ? 'link' : 'global',
        metric: defaultMetric(cidr.family),
        reason: 'workload',
        owner,
      });
      families.add(cidr.family);
      if (cidr.family === 4) proxyArpInterfaces.add(wep.spec.interfaceName);
    }
  }

  // Blocks: ours get an unreachable route, others' (optionally) a route via their node.
  const owners = blockOwners(view);
  for (const [cidr, { owner, family }] of owners) {
    if (owner === me) {
      put({
        family,
        dst: cidr,
        type: options.blockRouteType,
        scope: 'global',
        metric: defaultMetric(family),
        reason: 'local-block',
        owner: `block ${cidr}`,
      });
    } else if (options.remoteBlocks) {
      const via = nodeAddress(view, owner, family);
      if (via)
        put({
          family,
          dst: cidr,
          type: 'unicast',
          via,
          scope: 'global',
          metric: defaultMetric(family),
          reason: 'remote-block',
          owner: `block ${cidr} of ${owner}`,
        });
      else problems.push(`block ${cidr}: node ${owner} has no IPv${family} address (spec.bgp): not routed directly`);
    }
  }

  // Borrowed addresses: in use on a node other than the block's owner.
  for (const [id, b] of [...view.blocks].sort(byKey)) {
    const cidr = tryParseCidr(b.spec.cidr);
    if (typeof cidr === 'string' || b.spec.deleted === true) continue;
    const blockOwner = owners.get(cidr.text)?.owner;
    const local = blockOwner === me;
    if (!local && !options.remoteBlocks) continue;
    const attributes = b.spec.attributes ?? [];
    const allocations = b.spec.allocations ?? [];
    for (let ordinal = 0; ordinal < allocations.length; ordinal++) {
      const a = allocations[ordinal];
      if (typeof a !== 'number') continue;
      const user = attributes[a]?.secondary?.node;
      if (!user || user === blockOwner || user === me) continue;
      let address: string;
      try {
        address = ipToString(addressAt(cidr, ordinal));
      } catch {
        problems.push(`IPAMBlock ${id}: allocation ${ordinal} is outside ${cidr.text}`);
        continue;
      }
      const dst = `${address}/${cidr.family === 4 ? 32 : 128}`;
      const owner = `address ${address} (block ${cidr.text}) on ${user}`;
      const direct = options.remoteBlocks ? nodeAddress(view, user, cidr.family) : undefined;
      if (direct) {
        put({
          family: cidr.family,
          dst,
          type: 'unicast',
          via: direct,
          scope: 'global',
          metric: defaultMetric(cidr.family),
          reason: 'remote-borrowed',
          owner,
        });
      } else if (local) {
        const up = options.upstream?.[cidr.family];
        if (up)
          put({
            family: cidr.family,
            dst,
            type: 'unicast',
            via: up.via,
            ...(up.dev ? { dev: up.dev } : {}),
            scope: 'global',
            metric: defaultMetric(cidr.family),
            reason: 'borrowed-hole',
            owner,
          });
        else {
          needsUpstream.add(cidr.family);
          problems.push(`${owner}: no IPv${cidr.family} default route to send it to; our block route would swallow it`);
        }
      }
    }
  }
  return { routes, proxyArpInterfaces, families, problems, needsUpstream };
}
