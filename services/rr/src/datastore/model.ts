// The reflector's copy of the `bgp` view of the datastore: Nodes, BGPPeers, BGPFilters,
// BGPConfigurations, IPPools, block affinities and IPAM blocks, as validated Calico v3 resources. Fed by a ResourceSource; read
// by derive.ts. Invalid documents are skipped (and reported), never fatal.

import {
  validateResource,
  type BGPConfiguration,
  type BGPFilter,
  type BGPPeer,
  type BlockAffinity,
  type IPAMBlock,
  type IPPool,
  type Node,
} from '../../../shared/resources/index.js';
import type { StoredKind } from '../../../shared/nats/index.js';

/** One change from the datastore: `value` is the resource's JSON bytes, undefined when deleted. */
export interface ResourceChange {
  readonly kind: StoredKind;
  readonly name: string;
  readonly value: Uint8Array | undefined;
  /** A live change of a traced write: its W3C traceparent (the origination continues it). */
  readonly traceparent?: string;
  readonly revision?: number;
}

export class ClusterModel {
  readonly nodes = new Map<string, Node>();
  readonly peers = new Map<string, BGPPeer>();
  readonly configs = new Map<string, BGPConfiguration>();
  readonly pools = new Map<string, IPPool>();
  readonly affinities = new Map<string, BlockAffinity>();
  /** IPAM blocks: their allocations name the node using each address (borrowed addresses). */
  readonly blocks = new Map<string, IPAMBlock>();
  /** BGPFilters by name: the import/export policy BGPPeers name in spec.filters. */
  readonly filters = new Map<string, BGPFilter>();
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
        const r = validateResource(JSON.parse(Buffer.from(c.value).toString('utf8')), {
          source: `datastore ${c.kind}/${c.name}`,
        });
        map.set(c.name, r);
      } catch (err) {
        map.delete(c.name);
        problems.push(`${c.kind} ${c.name}: ${(err as Error).message}`);
      }
    }
    return problems;
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
      case 'IPAMBlock':
        return this.blocks;
      case 'BGPFilter':
        return this.filters;
      default:
        return undefined;
    }
  }
}
