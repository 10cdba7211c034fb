// meshless-ipam: the IPAM plugin (CNI spec 1.0.0 "IP Allocation"), Calico's calico-ipam over the
// datastore's IPAM API. ADD assigns the configured addresses for the container's handle
// (`<network name>.<container id>`) on this node; DEL releases the handle (nothing to release
// is success); CHECK verifies the handle still holds prevResult's addresses.
// meshless-cni calls these functions in-process when its ipam.type is meshless-ipam (one
// process start less per pod); any other main plugin runs the meshless-ipam executable.
import type { CniEnv, NetConfig } from './config.js';
import { withDatastore } from './datastore.js';
import { badConfig, CniCode, CniError } from './errors.js';
import { handleIdFor } from './names.js';
import type { CniResult } from './result.js';

/** Kubernetes identity from CNI_ARGS, when the runtime is a kubelet (CRI). */
export function kubernetesArgs(env: CniEnv): { namespace: string; pod: string } | undefined {
  const namespace = env.args.K8S_POD_NAMESPACE;
  const pod = env.args.K8S_POD_NAME;
  return namespace && pod ? { namespace, pod } : undefined;
}

export async function ipamAdd(conf: NetConfig, env: CniEnv): Promise<CniResult> {
  if (!conf.ipam.assignIpv4 && !conf.ipam.assignIpv6)
    throw badConfig('ipam.assign_ipv4', 'assign_ipv4 and assign_ipv6 are both false: nothing to assign');
  const k8s = kubernetesArgs(env);
  const attributes: Record<string, string> = k8s
    ? { namespace: k8s.namespace, pod: k8s.pod }
    : { containerID: env.containerId };
  const r = await withDatastore(conf, (c) =>
    c.autoAssign({
      node: conf.nodename,
      handleId: handleIdFor(conf.name, env.containerId),
      numIpv4: conf.ipam.assignIpv4 ? 1 : 0,
      numIpv6: conf.ipam.assignIpv6 ? 1 : 0,
      ipv4Pools: conf.ipam.ipv4Pools,
      ipv6Pools: conf.ipam.ipv6Pools,
      attributes,
    }),
  );
  return {
    ips: [
      ...r.ipv4.map((a) => ({ address: `${a.address}/32` })),
      ...r.ipv6.map((a) => ({ address: `${a.address}/128` })),
    ],
  };
}

export async function ipamDel(conf: NetConfig, env: CniEnv): Promise<string[]> {
  return withDatastore(conf, (c) => c.releaseHandle(handleIdFor(conf.name, env.containerId)));
}

export async function ipamCheck(conf: NetConfig, env: CniEnv, prev: CniResult): Promise<void> {
  const held = await withDatastore(conf, (c) => c.handleAddresses(handleIdFor(conf.name, env.containerId)));
  const have = new Set(held.map((a) => a.address));
  for (const ip of prev.ips) {
    const address = ip.address.replace(/\/\d+$/, '');
    if (!have.has(address))
      throw new CniError(
        CniCode.CheckFailed,
        `IPAM: ${address} is not allocated to ${handleIdFor(conf.name, env.containerId)}`,
      );
  }
}
