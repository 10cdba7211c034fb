// The Calico-classic reference in the end-to-end topology: every node runs BIRD and peers with
// the switch itself; the kernel side of every node is the same Linux dataplane the Meshless agent
// uses (standing in for Felix), fed directly with what the node would have synced. So the only
// difference from the Meshless run is who tells the switch about the blocks: each node over its
// own session here, two route reflectors there.
import { startBird, type BirdHandle } from '../../testing/index.js';
import { calicoNodeConfig, CLUSTER_AS } from './bird-configs.js';
import { createLinuxDataplane, type LinuxDataplane, type ResourceChange } from '../../agent/index.js';
import { deletion, ipamBlock, nodeResource, workloadEndpoint } from '../../agent/testing.js';
import { BLOCK_SIZE, POOL } from './scenario.js';
import { SWITCH_ADDRESS, type Pod, type Topology } from './topology.js';
import { runEvery } from '../../shared/testing/index.js';

interface BlockState {
  cidr: string;
  owner: string;
  /** ordinal → node using the address */
  used: Record<number, string>;
}

export class ClassicCluster {
  private readonly dataplanes = new Map<string, LinuxDataplane>();
  private readonly birds = new Map<string, BirdHandle>();
  private readonly blocks: BlockState[];
  private readonly weps = new Map<string, ResourceChange>();

  constructor(
    private readonly topo: Topology,
    blocks: ReadonlyMap<string, string>,
  ) {
    this.blocks = [...blocks].map(([node, cidr]) => ({ cidr, owner: node, used: {} }));
  }

  /** Starts the dataplane (as Felix would be) and BIRD on every node, all at once. */
  async start(): Promise<void> {
    await Promise.all(
      this.topo.nodes.map(async (n) => {
        const dp = createLinuxDataplane({ node: n.name, netns: n.ns.name, reconcileIntervalMs: 30_000 });
        this.dataplanes.set(n.name, dp);
        dp.replace(this.viewOf(n.name));
        const blocks = this.blocks.filter((b) => b.owner === n.name).map((b) => b.cidr);
        const [bird] = await Promise.all([
          startBird({
            netns: n.ns,
            address: n.address,
            config: calicoNodeConfig({ routerId: n.address, switchAddress: SWITCH_ADDRESS, blocks, pool: POOL }),
          }),
          dp.start(),
        ]);
        this.birds.set(n.name, bird);
      }),
    );
  }

  /** The workload's endpoint reaches its node (Felix programs it). */
  addWorkload(pod: Pod): void {
    const wep = workloadEndpoint(pod.name, pod.node, pod.hostInterface, [`${pod.ip}/32`]);
    this.weps.set(pod.name, wep);
    const block = this.blocks.find((b) => inBlock(b.cidr, pod.ip));
    if (block) block.used[ordinalIn(block.cidr, pod.ip)] = pod.node;
    this.push(block ? [pod.node, block.owner] : [pod.node]);
  }

  removeWorkload(pod: Pod): void {
    this.weps.delete(pod.name);
    const block = this.blocks.find((b) => inBlock(b.cidr, pod.ip));
    if (block) delete block.used[ordinalIn(block.cidr, pod.ip)];
    this.dataplanes.get(pod.node)?.apply([deletion(workloadEndpoint(pod.name, pod.node, pod.hostInterface, []))]);
    if (block) this.push([block.owner]);
  }

  bird(node: string): BirdHandle {
    const b = this.birds.get(node);
    if (!b) throw new Error(`no BIRD on ${node}`);
    return b;
  }

  async stop(): Promise<void> {
    const dataplanes = [...this.dataplanes.values()];
    const birds = [...this.birds.values()];
    this.dataplanes.clear();
    this.birds.clear();
    await runEvery('stopping the classic cluster', [
      ...dataplanes.map((d) => () => d.close()),
      ...birds.map((b) => () => b.stop()),
    ]);
  }

  private push(nodes: readonly string[]): void {
    for (const n of new Set(nodes)) this.dataplanes.get(n)?.replace(this.viewOf(n));
  }

  private viewOf(node: string): ResourceChange[] {
    const view: ResourceChange[] = this.topo.nodes.map((n) => nodeResource(n.name, `${n.address}/24`));
    for (const b of this.blocks) view.push(ipamBlock(b.cidr, b.owner, { size: 2 ** (32 - BLOCK_SIZE), used: b.used }));
    for (const [, wep] of this.weps) if ((wep.value as { spec: { node: string } }).spec.node === node) view.push(wep);
    return view;
  }
}

export { CLUSTER_AS };

function toNumber(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function inBlock(cidr: string, ip: string): boolean {
  const [base, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  const start = toNumber(base!);
  const n = toNumber(ip);
  return n >= start && n < start + size;
}

export function ordinalIn(cidr: string, ip: string): number {
  return toNumber(ip) - toNumber(cidr.split('/')[0]!);
}
