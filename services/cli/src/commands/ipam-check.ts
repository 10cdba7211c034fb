// What `meshless ipam check` finds, computed from the resources alone (a pure function, as
// calicoctl's check is a client-side scan): IPAM records that disagree with the endpoints and
// nodes they should describe.
//   leaked addresses     allocated in a block, but no WorkloadEndpoint has them (the CNI DEL that
//                        should have released them never ran). Allocations younger than
//                        `graceMs` are left out: their pod may be starting right now.
//   unallocated in use   a WorkloadEndpoint's address that no block allocates (it can be handed
//                        out again: two pods would share it).
//   blocks without node  a block affine to a node that does not exist.
//   leaked handles       an IPAMHandle that no allocation refers to.
// The --fix actions: release the leaked addresses, the blocks of missing nodes and the leaked
// handles. Addresses in use without allocation are only reported: only the operator knows which
// of the two pods is right.
import { addressAt, ipToString, tryParseCidr, type Resource } from '../../../shared/resources/index.js';

export interface IpamResources {
  blocks: Resource[];
  handles: Resource[];
  endpoints: Resource[];
  nodes: Resource[];
}

export interface LeakedAddress {
  address: string;
  block: string;
  handle: string;
  node: string;
  /** namespace/pod when recorded. */
  allocatedTo: string;
}

export interface IpamReport {
  blocks: number;
  addressesInUse: number;
  leaked: LeakedAddress[];
  /** address → endpoint (namespace/name). */
  unallocated: { address: string; endpoint: string }[];
  blocksWithoutNode: { block: string; node: string }[];
  leakedHandles: string[];
  /** Allocations left out because they are younger than the grace period. */
  young: number;
}

interface BlockSpecView {
  cidr: string;
  affinity?: string;
  allocations: (number | null)[];
  attributes: { handle_id?: string; secondary?: Record<string, string> }[];
}

export function checkIpam(r: IpamResources, now: number, graceMs: number): IpamReport {
  const endpointByAddress = new Map<string, string>();
  for (const e of r.endpoints) {
    const nets = ((e.spec as { ipNetworks?: string[] }).ipNetworks ?? []) as string[];
    for (const n of nets) {
      const c = tryParseCidr(n, { allowBareIp: true });
      if (typeof c !== 'string')
        endpointByAddress.set(c.text.replace(/\/\d+$/, ''), `${e.metadata.namespace ?? ''}/${e.metadata.name}`);
    }
  }
  const nodes = new Set(r.nodes.map((n) => n.metadata.name));
  const report: IpamReport = {
    blocks: r.blocks.length,
    addressesInUse: 0,
    leaked: [],
    unallocated: [],
    blocksWithoutNode: [],
    leakedHandles: [],
    young: 0,
  };
  const allocated = new Set<string>();
  const handlesInUse = new Set<string>();
  for (const b of r.blocks) {
    const spec = b.spec as unknown as BlockSpecView;
    const owner = spec.affinity?.startsWith('host:') ? spec.affinity.slice(5) : undefined;
    if (owner !== undefined && !nodes.has(owner)) report.blocksWithoutNode.push({ block: spec.cidr, node: owner });
    spec.allocations.forEach((index, ordinal) => {
      if (index === null) return;
      report.addressesInUse++;
      const address = ipToString(addressAt(spec.cidr, ordinal));
      allocated.add(address);
      const attr = spec.attributes[index] ?? {};
      if (attr.handle_id) handlesInUse.add(attr.handle_id);
      if (endpointByAddress.has(address)) return;
      const since = Date.parse(attr.secondary?.timestamp ?? '');
      if (Number.isFinite(since) && now - since < graceMs) {
        report.young++;
        return;
      }
      const sec = attr.secondary ?? {};
      report.leaked.push({
        address,
        block: spec.cidr,
        handle: attr.handle_id ?? '',
        node: sec.node ?? owner ?? '',
        allocatedTo: sec.pod ? `${sec.namespace ?? ''}/${sec.pod}` : '',
      });
    });
  }
  for (const [address, endpoint] of endpointByAddress) {
    if (!allocated.has(address)) report.unallocated.push({ address, endpoint });
  }
  for (const h of r.handles) {
    const id = (h.spec as { handleID: string }).handleID;
    if (!handlesInUse.has(id)) report.leakedHandles.push(id);
  }
  report.unallocated.sort((a, b) => a.address.localeCompare(b.address));
  report.leakedHandles.sort();
  return report;
}

export function problemCount(r: IpamReport): number {
  return r.leaked.length + r.unallocated.length + r.blocksWithoutNode.length + r.leakedHandles.length;
}

/** The report as text, calicoctl's check in spirit: one section per kind of problem. */
export function formatReport(r: IpamReport): string {
  const lines: string[] = [];
  lines.push(`Checked ${r.blocks} IPAM blocks holding ${r.addressesInUse} addresses.`);
  lines.push(`Found ${r.leaked.length} IPs that are allocated in IPAM but not used by any workload endpoint.`);
  for (const l of r.leaked)
    lines.push(
      `  ${l.address}  block ${l.block}  handle ${l.handle || '(none)'}  node ${l.node || '(none)'}${l.allocatedTo ? `  pod ${l.allocatedTo}` : ''}`,
    );
  if (r.young > 0)
    lines.push(`  (${r.young} allocations younger than the grace period were not counted: their pods may be starting)`);
  lines.push(`Found ${r.unallocated.length} in-use IPs that are not allocated in IPAM.`);
  for (const u of r.unallocated) lines.push(`  ${u.address}  workload endpoint ${u.endpoint}`);
  lines.push(`Found ${r.blocksWithoutNode.length} blocks affine to nodes that do not exist.`);
  for (const b of r.blocksWithoutNode) lines.push(`  ${b.block}  node ${b.node}`);
  lines.push(`Found ${r.leakedHandles.length} handles with no allocation.`);
  for (const h of r.leakedHandles) lines.push(`  ${h}`);
  const n = problemCount(r);
  lines.push(`Check complete; found ${n} problem${n === 1 ? '' : 's'}.`);
  return lines.join('\n') + '\n';
}
