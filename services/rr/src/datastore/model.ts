// The reflector's copy of the `bgp` view of the datastore: Nodes, BGPPeers, BGPConfigurations,
// IPPools and block affinities, as validated Calico v3 resources. Fed by a ResourceSource; read
// by derive.ts. Invalid documents are skipped (and reported), never fatal.

import { validateResource, type BGPConfiguration, type BGPPeer, type BlockAffinity, type IPPool, type Node, type WorkloadEndpoint } from '../../../shared/resources/index.js';
import type { StoredKind } from '../../../shared/nats/index.js';

/** One change from the datastore: `value` is the resource's JSON bytes, undefined when deleted. */
export interface ResourceChange {
  readonly kind: StoredKind;
  readonly name: string;
  readonly value: Uint8Array | undefined;
}

export class ClusterModel {
  readonly nodes = new Map<string, Node>();
  readonly peers = new Map<string, BGPPeer>();
  readonly configs = new Map<string, BGPConfiguration>();
  readonly pools = new Map<string, IPPool>();
  readonly affinities = new Map<string, BlockAffinity>();
  /** "namespace/name" → endpoint (only for borrowed-address /32s; not in the bgp syncer's view). */
  readonly workloads = new Map<string, WorkloadEndpoint>();
  /** Datastore revision of the last applied change. */
  revision = 0;

  /** Applies changes; returns problems (documents that failed validation) for the log. */
  apply(changes: readonly ResourceChange[]): string[] {
    const problems: string[] = [];
    for (const c of changes) {
      const map = this.mapOf(c.kind);
      if (!map) continue;
      if (!c.value) {
        map.delete(c.name);
        continue;
      }
      try {
        const r = validateResource(JSON.parse(Buffer.from(c.value).toString('utf8')), { source: `datastore ${c.kind}/${c.name}` });
        map.set(c.name, r);
      } catch (err) {
        map.delete(c.name);
        problems.push(`${c.kind} ${c.name}: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  /** Sets (or with undefined, removes) a WorkloadEndpoint; returns a problem for the log. */
  setWorkload(key: string, doc: unknown): string | undefined {
    if (doc === undefined) {
      this.workloads.delete(key);
      return undefined;
    }
    try {
      const r = validateResource(doc, { source: `datastore WorkloadEndpoint/${key}` });
      if (r.kind === 'WorkloadEndpoint') this.workloads.set(key, r);
      return undefined;
    } catch (err) {
      this.workloads.delete(key);
      return `WorkloadEndpoint ${key}: ${(err as Error).message}`;
    }
  }

  /** The global BGPConfiguration ("default"), if any. */
  get globalConfig(): BGPConfiguration | undefined {
    return this.configs.get('default');
  }

  private mapOf(kind: StoredKind): Map<string, unknown> | undefined {
    switch (kind) {
      case 'Node':
        return this.nodes;
      case 'BGPPeer':
        return this.peers;
      case 'BGPConfiguration':
        return this.configs;
      case 'IPPool':
        return this.pools;
      case 'BlockAffinity':
        return this.affinities;
      default:
        return undefined;
    }
  }
}
