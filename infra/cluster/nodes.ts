// The local cluster's nodes, with or without reflectors: a Node for each agent (the sync server
// serves an agent only once its Node exists) with a loopback BGP address, the IPPool
// `local-ipv4-ippool` and one IPAM block per agent node (as a CNI plugin would on the node's first
// pod). Applied through the datastore API on every start, idempotent: it creates what is absent
// and adds a missing BGP address, never overwriting what an operator applied (examples/ move
// node-a1 to 10.0.1.11). Reflector resources are reflectors.ts's, applied only when there are some.
import { AlreadyExistsError } from '../../services/shared/errors/index.js';
import type { DatastoreClient, ResourceObject } from '../../services/shared/datastore-client/index.js';

export const LOCAL_POOL = { name: 'local-ipv4-ippool', cidr: '10.240.0.0/16', blockSize: 26 };

export function agentAddress(i: number): string {
  return `127.0.1.${1 + i}`;
}

export function res(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): ResourceObject {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec };
}

export async function createIfAbsent(client: DatastoreClient, r: ResourceObject): Promise<boolean> {
  try {
    await client.create(r);
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}

/**
 * Registers every agent node (name → loopback address for a Node that has none) and gives each a
 * block. Returns the blocks (CIDR → node); a problem with one node is reported, not fatal.
 */
export async function registerNodes(
  client: DatastoreClient,
  agentAddresses: Map<string, string>,
  say: (line: string) => void,
): Promise<Map<string, string>> {
  const pool = res('IPPool', LOCAL_POOL.name, {
    cidr: LOCAL_POOL.cidr,
    blockSize: LOCAL_POOL.blockSize,
    nodeSelector: 'all()',
  });
  let poolOk = true;
  try {
    await createIfAbsent(client, pool);
  } catch (err) {
    poolOk = false;
    say(
      `nodes: cannot create IPPool ${LOCAL_POOL.name} (${LOCAL_POOL.cidr}): ${(err as Error).message}; agent nodes get blocks from the other pools`,
    );
  }

  const blocks = new Map<string, string>();
  for (const [name, address] of agentAddresses) {
    try {
      const node = res('Node', name, { bgp: { ipv4Address: `${address}/32` } });
      if (!(await createIfAbsent(client, node))) {
        const existing = await client.get('Node', name);
        const spec = (existing.spec ?? {}) as { bgp?: { ipv4Address?: string } };
        if (!spec.bgp?.ipv4Address)
          await client.update({ ...existing, spec: { ...spec, bgp: { ...spec.bgp, ipv4Address: `${address}/32` } } });
      }
      const { affinity } = await client.allocateBlock(
        name,
        poolOk ? { pool: LOCAL_POOL.name, ipVersion: 4 } : { ipVersion: 4 },
      );
      blocks.set((affinity.spec as { cidr: string }).cidr, name);
    } catch (err) {
      say(`nodes: node ${name} gets no block: ${(err as Error).message}`);
    }
  }
  return blocks;
}
