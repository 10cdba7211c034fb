// meshless-cni: the commands of the main plugin. ADD assigns addresses (meshless-ipam in-process,
// or the configured IPAM plugin by delegation), wires the veth (wiring.ts), records the
// WorkloadEndpoint and returns the result; any failure after the assignment undoes what was
// done, so a retried ADD leaks nothing. DEL undoes ADD and succeeds when the endpoint, the
// interface, the netns or the allocation are already gone. CHECK compares the container with
// prevResult. STATUS (CNI 1.1) says whether ADD can work now (the datastore answers); GC (1.1)
// removes this node's endpoints, interfaces and addresses of containers the runtime no longer has.
import { existsSync } from 'node:fs';
import { NotFoundError } from '../../shared/errors/index.js';
import type { ResourceObject } from '../../shared/datastore-client/index.js';
import type { CniEnv, NetConfig } from './config.js';
import { withDatastore } from './datastore.js';
import { delegate } from './delegate.js';
import { CniCode, CniError } from './errors.js';
import { ipamAdd, ipamCheck, ipamDel, kubernetesArgs } from './ipam.js';
import type { CniLog } from './log.js';
import { handleIdFor, hostVethName, randomMac, workloadEndpointName } from './names.js';
import { parseResult, type CniResult } from './result.js';
import { checkWiring, GATEWAY_V4, GATEWAY_V6, HOST_VETH_MAC, unwire, wire } from './wiring.js';

export const MESHLESS_IPAM = 'meshless-ipam';

/** The endpoint's identity, the same for ADD, DEL and CHECK of one container. */
export interface Workload {
  orchestrator: 'k8s' | 'cni';
  namespace: string;
  /** The pod (k8s) or the container id. */
  workload: string;
  hostVeth: string;
  endpointName: string;
}

export function workloadOf(conf: NetConfig, env: CniEnv): Workload {
  const k8s = kubernetesArgs(env);
  const orchestrator = k8s ? 'k8s' : 'cni';
  const namespace = k8s?.namespace ?? 'default';
  const workload = k8s?.pod ?? env.containerId;
  return {
    orchestrator,
    namespace,
    workload,
    hostVeth: hostVethName(k8s ? `${k8s.namespace}.${k8s.pod}` : env.containerId),
    endpointName: workloadEndpointName(conf.nodename, orchestrator, workload, env.ifname),
  };
}

async function assign(conf: NetConfig, env: CniEnv, processEnv: NodeJS.ProcessEnv): Promise<CniResult> {
  if (conf.ipam.type === MESHLESS_IPAM) return ipamAdd(conf, env);
  return (await delegate(conf.ipam.type, 'ADD', conf.raw, processEnv, env.path))!;
}

async function release(conf: NetConfig, env: CniEnv, processEnv: NodeJS.ProcessEnv): Promise<void> {
  if (conf.ipam.type === MESHLESS_IPAM) await ipamDel(conf, env);
  else await delegate(conf.ipam.type, 'DEL', conf.raw, processEnv, env.path);
}

export async function cmdAdd(
  conf: NetConfig,
  env: CniEnv,
  processEnv: NodeJS.ProcessEnv,
  log: CniLog,
): Promise<CniResult> {
  const w = workloadOf(conf, env);
  // Before any address is taken: a container that is gone gets nothing.
  if (!existsSync(env.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${env.netns} does not exist`);
  const assigned = await assign(conf, env, processEnv);
  const ipv4 = assigned.ips.filter((ip) => !ip.address.includes(':')).map((ip) => ip.address.replace(/\/\d+$/, ''));
  const ipv6 = assigned.ips.filter((ip) => ip.address.includes(':')).map((ip) => ip.address.replace(/\/\d+$/, ''));
  const mac = randomMac();
  try {
    await wire({
      netns: env.netns,
      ifname: env.ifname,
      hostVeth: w.hostVeth,
      mtu: conf.mtu,
      routeProtocol: conf.routeProtocol,
      containerMac: mac,
      ipv4,
      ipv6,
    });
    const k8s = w.orchestrator === 'k8s';
    const endpoint = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: w.endpointName,
        namespace: w.namespace,
        labels: { 'projectcalico.org/namespace': w.namespace, 'projectcalico.org/orchestrator': w.orchestrator },
      },
      spec: {
        node: conf.nodename,
        orchestrator: w.orchestrator,
        ...(k8s ? { pod: w.workload } : { workload: w.workload }),
        endpoint: env.ifname,
        containerID: env.containerId,
        interfaceName: w.hostVeth,
        mac,
        ipNetworks: [...ipv4.map((a) => `${a}/32`), ...ipv6.map((a) => `${a}/128`)],
        // The Kubernetes controller adds ksa.<namespace>.<serviceaccount> and the pod's labels:
        // CNI_ARGS carries neither, and asking the API server here would cost every pod start.
        profiles: k8s ? [`kns.${w.namespace}`] : [conf.name],
      },
    };
    await withDatastore(conf, (c) => c.apply(endpoint));
  } catch (err) {
    log.warn('ADD failed; undoing it', { error: (err as Error).message });
    await unwire(w.hostVeth).catch((e: unknown) =>
      log.warn('cleanup: deleting the veth failed', { error: (e as Error).message }),
    );
    await release(conf, env, processEnv).catch((e: unknown) =>
      log.warn('cleanup: releasing the addresses failed (DEL will retry)', { error: (e as Error).message }),
    );
    throw err;
  }
  log.info('ADD done', { endpoint: w.endpointName, ips: assigned.ips.map((i) => i.address), hostVeth: w.hostVeth });
  return {
    interfaces: [
      { name: w.hostVeth, mac: HOST_VETH_MAC },
      { name: env.ifname, mac, sandbox: env.netns },
    ],
    ips: assigned.ips.map((ip) => ({ address: ip.address, interface: 1 })),
    routes: [
      ...(ipv4.length > 0 ? [{ dst: '0.0.0.0/0', gw: GATEWAY_V4 }] : []),
      ...(ipv6.length > 0 ? [{ dst: '::/0', gw: GATEWAY_V6 }] : []),
    ],
    dns: assigned.dns ?? {},
  };
}

export async function cmdDel(conf: NetConfig, env: CniEnv, processEnv: NodeJS.ProcessEnv, log: CniLog): Promise<void> {
  const w = workloadOf(conf, env);
  // The endpoint first, so agents stop routing to the address before it can be handed out again.
  await withDatastore(conf, async (c) => {
    try {
      const existing = await c.get('WorkloadEndpoint', w.endpointName, w.namespace);
      // A newer ADD of the same pod under another container id owns the endpoint now: keep it.
      const owner = (existing.spec as { containerID?: string }).containerID;
      if (owner && owner !== env.containerId) {
        log.info('DEL: the endpoint belongs to another container; leaving it', { endpoint: w.endpointName, owner });
        return;
      }
      await c.delete('WorkloadEndpoint', w.endpointName, { namespace: w.namespace });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  });
  await unwire(w.hostVeth);
  await release(conf, env, processEnv);
  log.info('DEL done', { endpoint: w.endpointName, handle: handleIdFor(conf.name, env.containerId) });
}

export async function cmdCheck(conf: NetConfig, env: CniEnv, processEnv: NodeJS.ProcessEnv): Promise<void> {
  if (conf.prevResult === undefined)
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration: prevResult: is required for CHECK');
  const prev = parseResult(conf.prevResult, 'prevResult');
  const w = workloadOf(conf, env);
  const addrs = prev.ips.map((ip) => ip.address.replace(/\/\d+$/, ''));
  await checkWiring({
    netns: env.netns,
    ifname: env.ifname,
    hostVeth: w.hostVeth,
    ipv4: addrs.filter((a) => !a.includes(':')),
    ipv6: addrs.filter((a) => a.includes(':')),
  });
  if (conf.ipam.type === MESHLESS_IPAM) await ipamCheck(conf, env, prev);
  else await delegate(conf.ipam.type, 'CHECK', conf.raw, processEnv, env.path);
  const endpoint: ResourceObject = await withDatastore(conf, async (c) => {
    try {
      return await c.get('WorkloadEndpoint', w.endpointName, w.namespace);
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new CniError(CniCode.CheckFailed, `WorkloadEndpoint ${w.namespace}/${w.endpointName} does not exist`);
      throw err;
    }
  });
  const nets = new Set(
    ((endpoint.spec as { ipNetworks?: string[] }).ipNetworks ?? []).map((n) => n.replace(/\/\d+$/, '')),
  );
  for (const a of addrs)
    if (!nets.has(a)) throw new CniError(CniCode.CheckFailed, `WorkloadEndpoint ${w.endpointName} does not list ${a}`);
}

/** CNI 1.1 STATUS: ready when the datastore answers. Code 50: "the plugin is not available". */
export async function cmdStatus(conf: NetConfig): Promise<void> {
  try {
    await withDatastore(conf, (c) => c.list('IPPool'));
  } catch (err) {
    throw new CniError(50, `not available: ${(err as Error).message}`, err instanceof CniError ? err.details : '');
  }
}

/**
 * CNI 1.1 GC: `cni.dev/valid-attachments` lists the attachments the runtime still has; every
 * endpoint of this node and network whose container is not among them is deleted with its
 * interface and addresses.
 */
export async function cmdGc(conf: NetConfig, log: CniLog): Promise<string[]> {
  const valid = conf.raw['cni.dev/valid-attachments'];
  if (!Array.isArray(valid))
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'network configuration: cni.dev/valid-attachments: is required for GC (a list of {containerID, ifname})',
    );
  const keep = new Set(
    valid.map((v) => `${(v as { containerID?: string }).containerID}/${(v as { ifname?: string }).ifname}`),
  );
  const removed: string[] = [];
  await withDatastore(conf, async (c) => {
    const { items } = await c.list('WorkloadEndpoint');
    for (const e of items) {
      const s = e.spec as {
        node?: string;
        containerID?: string;
        endpoint?: string;
        interfaceName?: string;
        profiles?: string[];
      };
      if (s.node !== conf.nodename || !s.containerID || keep.has(`${s.containerID}/${s.endpoint}`)) continue;
      await c
        .delete('WorkloadEndpoint', e.metadata.name, { namespace: e.metadata.namespace ?? 'default' })
        .catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
      if (s.interfaceName?.startsWith('cali')) await unwire(s.interfaceName);
      await c.releaseHandle(handleIdFor(conf.name, s.containerID));
      removed.push(`${e.metadata.namespace}/${e.metadata.name}`);
    }
  });
  if (removed.length > 0) log.info('GC removed stale endpoints', { removed });
  return removed;
}
