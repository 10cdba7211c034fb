// The Meshless run's container runtime: every pod is made the way containerd or CRI-O makes one.
// A new network namespace, then the CNI plugin's ADD, executed by name from CNI_PATH (the
// checkout's bin/: meshless-cni, meshless-ipam) inside the pod's node namespace, with the
// conflist's configuration on stdin and CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
// CNI_PATH and CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME) in the environment; on deletion DEL,
// then the namespace goes. The plugin assigns the address (IPAM over the datastore API), wires
// the veth and writes the WorkloadEndpoint: nothing else in the run writes endpoints or IPAM.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  addList,
  delList,
  REPO_BIN,
  type Attachment,
  type ConfList,
  type PluginRun,
  type Runtime,
} from '../../cni/testing.js';
import { handleIdFor, workloadEndpointName } from '../../cni/index.js';
import type { Pod, Topology } from './topology.js';

/** The network's name: Calico's, as kubelet's conflist has it (the IPAM handle's prefix). */
export const NETWORK = 'k8s-pod-network';
export const POD_NAMESPACE = 'default';

/** Wall-clock times (ms since the epoch) of one plugin command: when it started, when it returned. */
export interface CniTiming {
  readonly started: number;
  readonly returned: number;
}

interface Attached {
  readonly node: string;
  readonly attachment: Attachment;
  readonly result: Record<string, unknown>;
}

export class CniPods {
  private readonly attached = new Map<string, Attached>();
  private generation = 0;

  /** `datastore`: HOST:PORT as the plugin's `datastore` key; the plugin's logs go to `logDir`. */
  constructor(
    private readonly topo: Topology,
    private readonly datastore: string,
    private readonly logDir: string,
  ) {}

  /** The conflist the node's `meshless cni install` would have written (nodename: the node's). */
  conflist(node: string): ConfList {
    return {
      cniVersion: '1.0.0',
      name: NETWORK,
      plugins: [
        {
          type: 'meshless-cni',
          datastore: this.datastore,
          nodename: node,
          log_file: join(this.logDir, `cni-${node}.log`),
          log_level: 'info',
          // Generous: at a load of 10+ on two cores one Node.js start takes a second or more.
          timeout_seconds: 30,
          ipam: { type: 'meshless-ipam' },
        },
      ],
    };
  }

  /** Pods made by ADD and not deleted yet. */
  names(): string[] {
    return [...this.attached.keys()];
  }

  containerId(pod: string): string {
    const a = this.attached.get(pod);
    if (!a) throw new Error(`no pod ${pod} was added through CNI`);
    return a.attachment.containerId;
  }

  /** The IPAM handle of the pod's container (Calico's `<network>.<container id>`). */
  handleId(pod: string): string {
    return handleIdFor(NETWORK, this.containerId(pod));
  }

  /** The WorkloadEndpoint name the plugin gives the pod (Calico's, '-' doubled in each part). */
  endpointName(pod: Pod): string {
    return workloadEndpointName(pod.node, 'k8s', pod.name, 'eth0');
  }

  /** ADD: the pod in a new namespace on `node`; its address and host interface are the plugin's. */
  async add(node: string, name: string): Promise<{ pod: Pod } & CniTiming> {
    let started = 0;
    let returned = 0;
    const pod = await this.topo.addPodWith(node, name, async (ns) => {
      // A sandbox id as a runtime makes one: new for every sandbox, also of a pod name reused.
      const containerId = createHash('sha256')
        .update(`${name}/${process.pid}/${++this.generation}/${Date.now()}`)
        .digest('hex')
        .slice(0, 32);
      const attachment: Attachment = {
        containerId,
        netns: `/var/run/netns/${ns.name}`,
        ifname: 'eth0',
        args: {
          IgnoreUnknown: '1',
          K8S_POD_NAMESPACE: POD_NAMESPACE,
          K8S_POD_NAME: name,
          K8S_POD_INFRA_CONTAINER_ID: containerId,
        },
      };
      started = Date.now();
      const { result, runs } = await addList(this.runtime(node), this.conflist(node), attachment);
      returned = Date.now();
      if (!result) throw new Error(`CNI ADD of ${name} on ${node} failed: ${describeRuns(runs)}`);
      const ip = (result.ips as Array<{ address: string }> | undefined)?.[0]?.address.split('/')[0];
      const hostInterface = (result.interfaces as Array<{ name: string; sandbox?: string }> | undefined)?.find(
        (i) => !i.sandbox,
      )?.name;
      if (!ip || !hostInterface)
        throw new Error(`CNI ADD of ${name} returned no address or no host interface: ${JSON.stringify(result)}`);
      this.attached.set(name, { node, attachment, result });
      return { ip, hostInterface };
    });
    return { pod, started, returned };
  }

  /** DEL (with the ADD's result as prevResult, as libcni does), then the namespace goes. */
  async del(name: string): Promise<CniTiming> {
    const a = this.attached.get(name);
    if (!a) throw new Error(`no pod ${name} was added through CNI`);
    let started = 0;
    let returned = 0;
    await this.topo.removePod(name, async () => {
      started = Date.now();
      const runs = await delList(this.runtime(a.node), this.conflist(a.node), a.attachment, a.result);
      returned = Date.now();
      if (runs.some((r) => r.code !== 0))
        throw new Error(`CNI DEL of ${name} on ${a.node} failed: ${describeRuns(runs)}`);
    });
    this.attached.delete(name);
    return { started, returned };
  }

  private runtime(node: string): Runtime {
    return { path: [REPO_BIN], nodeNetns: this.topo.node(node).ns.name };
  }
}

function describeRuns(runs: readonly PluginRun[]): string {
  return runs.map((r) => `exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`.trim()).join(' | ');
}
