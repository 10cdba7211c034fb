// Names derived from a workload, as Calico derives them, so they are stable across ADD/DEL/CHECK
// and computable without any stored state.
import { createHash } from 'node:crypto';

/** Calico's host-side veth prefix; the agent and Felix-style tooling recognise `cali+`. */
export const HOST_VETH_PREFIX = 'cali';

/**
 * Host-side veth name: `cali` + the first 11 hex characters of SHA-1 of the workload id
 * (`<namespace>.<pod>` for Kubernetes, as Calico's VethNameForWorkload; the container id
 * otherwise): 15 characters, Linux's IFNAMSIZ - 1.
 */
export function hostVethName(workloadId: string): string {
  return HOST_VETH_PREFIX + createHash('sha1').update(workloadId).digest('hex').slice(0, 11);
}

/** Calico's name escaping: every '-' of a part doubled, parts joined with '-'. */
function escape(part: string): string {
  return part.replaceAll('-', '--');
}

/** `<node>-<orchestrator>-<workload>-<endpoint>` (Calico's WorkloadEndpoint name). */
export function workloadEndpointName(node: string, orchestrator: string, workload: string, endpoint: string): string {
  return [node, orchestrator, workload, endpoint].map(escape).join('-');
}

/** The IPAM handle of a container: `<network name>.<container id>` (Calico's). */
export function handleIdFor(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}

/** A random locally administered unicast MAC (RFC 7042 §2.1: U/L bit set, I/G bit clear). */
export function randomMac(): string {
  const b = createHash('sha1')
    .update(`${process.pid}.${process.hrtime.bigint()}.${Math.random()}`)
    .digest()
    .subarray(0, 6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
