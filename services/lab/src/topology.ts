// The end-to-end topology, built from network namespaces this process creates and deletes:
//
//        pod ns ─veth─┐                                   ┌─ control ns (NATS, datastore, sync,
//        pod ns ─veth─┤ node-1 ns ─┐                      │   reflectors: one address each)
//        pod ns ─veth─┐            │                      │
//        pod ns ─veth─┤ node-2 ns ─┼── fabric ns: bridge ─┼─ switch ns (BIRD 2: the ToR,
//        pod ns ─veth─┐            │                      │   protocol kernel, ip_forward=1)
//        pod ns ─veth─┤ node-3 ns ─┘
//
// Every member of the fabric has `fab0` on 198.18.0.0/24 (RFC 2544 benchmarking range): switch
// .1, control .2 (+ .3, .4 ... for the reflectors), node-N .10+N. Nodes route everything they do
// not hold through the switch (default via .1), so traffic between pods of different nodes
// crosses it, and the reply TTL shows it (64 - 3 hops = 61).
//
// In the Meshless run the CNI plugin (services/cni) plumbs the pods (addPodWith). In the classic
// run the harness plumbs them (addPod) as Calico's CNI plugin does: `eth0` with IP/32, routes `169.254.1.1 dev eth0`
// and `default via 169.254.1.1`; the host side is a `cali…` veth in the node namespace with proxy
// ARP on (and proxy_delay 0) from the start, so the pod's first ARP for its gateway is answered
// (a failed one is retried only a second later, which would be measured as route convergence).
// The harness never adds the /32 route to the pod: the dataplane does (the CNI plugin adds one
// too, which the agent takes over with its own protocol number, so its routes stay its proof).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { createNetns, type Netns } from '../../testing/index.js';

const execFileAsync = promisify(execFile);

export const FABRIC_PREFIX = '198.18.0';
export const SWITCH_ADDRESS = `${FABRIC_PREFIX}.1`;
export const CONTROL_ADDRESS = `${FABRIC_PREFIX}.2`;

export interface Pod {
  readonly name: string;
  readonly node: string;
  readonly ns: Netns;
  readonly ip: string;
  /** Host-side interface in the node namespace (the WorkloadEndpoint's interfaceName). */
  readonly hostInterface: string;
}

export interface TopoNode {
  readonly name: string;
  readonly ns: Netns;
  /** Fabric address (the Node's spec.bgp.ipv4Address without the prefix length). */
  readonly address: string;
}

export interface Topology {
  readonly fabric: Netns;
  readonly switchNs: Netns;
  readonly control: Netns;
  readonly nodes: readonly TopoNode[];
  readonly pods: ReadonlyMap<string, Pod>;
  /** Adds another address to the control namespace's fabric interface (one per reflector). */
  addControlAddress(): Promise<string>;
  node(name: string): TopoNode;
  /** A pod plumbed by the harness itself (the Calico-classic run). */
  addPod(node: string, name: string, ip: string): Promise<Pod>;
  /**
   * A pod plumbed by someone else, as a container runtime does: a new namespace is handed to
   * `attach` (the CNI plugin's ADD), which says what it made; the namespace goes if it fails.
   */
  addPodWith(
    node: string,
    name: string,
    attach: (ns: Netns) => Promise<{ ip: string; hostInterface: string }>,
  ): Promise<Pod>;
  /** Deletes the pod's namespace, after `detach` (the CNI plugin's DEL) when given. */
  removePod(name: string, detach?: (pod: Pod) => Promise<void>): Promise<void>;
  /** Deletes every namespace (processes in them must be stopped first). Never throws. */
  destroy(): Promise<void>;
}

async function ip(ns: Netns, ...args: string[]): Promise<void> {
  try {
    await execFileAsync('ip', ['-n', ns.name, ...args]);
  } catch (err) {
    throw new Error(
      `ip -n ${ns.name} ${args.join(' ')}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`,
    );
  }
}

async function sysctl(ns: Netns, ...settings: string[]): Promise<void> {
  await ns.exec('sysctl', ['-q', '-w', ...settings]);
}

/** Calico's host-side name: "cali" + 11 hex digits of a hash of the workload. */
export function caliName(workload: string): string {
  return `cali${createHash('sha1').update(workload).digest('hex').slice(0, 11)}`;
}

export async function createTopology(options: { nodes?: number; prefix?: string } = {}): Promise<Topology> {
  const count = options.nodes ?? 3;
  const prefix = options.prefix ?? 'e2e';
  const all: Netns[] = [];
  const track = async (name: string): Promise<Netns> => {
    const ns = await createNetns(`${prefix}${name}`);
    all.push(ns);
    return ns;
  };
  const pods = new Map<string, Pod>();
  let nextPort = 0;
  let nextControl = 3;

  const destroy = async (): Promise<void> => {
    for (const pod of pods.values()) await pod.ns.destroy().catch(() => undefined);
    pods.clear();
    for (const ns of all.reverse()) await ns.destroy().catch(() => undefined);
    all.length = 0;
  };

  try {
    const fabric = await track('fab');
    await ip(fabric, 'link', 'add', 'br0', 'type', 'bridge');
    await ip(fabric, 'link', 'set', 'br0', 'up');
    const attach = async (member: Netns, address: string): Promise<void> => {
      const port = `p${nextPort++}`;
      await ip(fabric, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'fab0', 'netns', member.name);
      await ip(fabric, 'link', 'set', port, 'master', 'br0');
      await ip(fabric, 'link', 'set', port, 'up');
      await ip(member, 'addr', 'add', `${address}/24`, 'dev', 'fab0');
      await ip(member, 'link', 'set', 'fab0', 'up');
    };

    const switchNs = await track('sw');
    await attach(switchNs, SWITCH_ADDRESS);
    await sysctl(switchNs, 'net.ipv4.ip_forward=1');

    const control = await track('ctl');
    await attach(control, CONTROL_ADDRESS);

    const nodes: TopoNode[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = await track(`n${i}`);
      const address = `${FABRIC_PREFIX}.${10 + i}`;
      await attach(ns, address);
      await ip(ns, 'route', 'add', 'default', 'via', SWITCH_ADDRESS, 'dev', 'fab0');
      nodes.push({ name: `node-${i}`, ns, address });
    }

    const topology: Topology = {
      fabric,
      switchNs,
      control,
      nodes,
      pods,
      async addControlAddress() {
        const address = `${FABRIC_PREFIX}.${nextControl++}`;
        await ip(control, 'addr', 'add', `${address}/24`, 'dev', 'fab0');
        return address;
      },
      node(name) {
        const n = nodes.find((x) => x.name === name);
        if (!n) throw new Error(`no node ${name} in the topology (${nodes.map((x) => x.name).join(', ')})`);
        return n;
      },
      async addPod(nodeName, name, podIp) {
        if (pods.has(name)) throw new Error(`pod ${name} exists already`);
        const node = topology.node(nodeName);
        const ns = await createNetns(`${prefix}p`);
        const hostInterface = caliName(`${nodeName}/${name}`);
        try {
          await ip(node.ns, 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
          await sysctl(
            node.ns,
            `net.ipv4.conf.${hostInterface}.proxy_arp=1`,
            `net.ipv4.neigh.${hostInterface}.proxy_delay=0`,
          );
          await ip(node.ns, 'link', 'set', hostInterface, 'up');
          await ip(ns, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0');
          await ip(ns, 'link', 'set', 'eth0', 'up');
          await ip(ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
          await ip(ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
        } catch (err) {
          await ns.destroy();
          throw err;
        }
        const pod: Pod = { name, node: nodeName, ns, ip: podIp, hostInterface };
        pods.set(name, pod);
        return pod;
      },
      async addPodWith(nodeName, name, attach) {
        if (pods.has(name)) throw new Error(`pod ${name} exists already`);
        topology.node(nodeName);
        const ns = await createNetns(`${prefix}p`);
        let made: { ip: string; hostInterface: string };
        try {
          made = await attach(ns);
        } catch (err) {
          await ns.destroy();
          throw err;
        }
        const pod: Pod = { name, node: nodeName, ns, ...made };
        pods.set(name, pod);
        return pod;
      },
      async removePod(name, detach) {
        const pod = pods.get(name);
        if (!pod) return;
        if (detach) await detach(pod);
        pods.delete(name);
        // Deleting the namespace deletes eth0 and with it the host side of the pair.
        await pod.ns.destroy();
      },
      destroy,
    };
    return topology;
  } catch (err) {
    await destroy();
    throw err;
  }
}
