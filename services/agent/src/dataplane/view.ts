// The part of the agent's synced view the dataplane needs, parsed once per change: this node's
// WorkloadEndpoints, every IPAMBlock and BlockAffinity, and every Node (for the addresses of
// other nodes when routing their blocks directly). Other kinds are ignored. A document that does
// not parse is dropped from the index and remembered as a problem (it never takes routes away
// from resources that do parse).
import type { BlockAffinity, IPAMBlock, Node, WorkloadEndpoint } from '../../../shared/resources/index.js';

/** One change as the agent reports it (AgentUpdate has this shape). */
export interface ResourceChange {
  readonly kind: string;
  /** Empty for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  /** The resource's Calico v3 JSON (bytes or an already parsed object); undefined when deleted. */
  readonly value: Uint8Array | object | undefined;
}

const KINDS = new Set(['WorkloadEndpoint', 'IPAMBlock', 'BlockAffinity', 'Node']);

export class DataplaneView {
  readonly workloadEndpoints = new Map<string, WorkloadEndpoint>();
  readonly blocks = new Map<string, IPAMBlock>();
  readonly affinities = new Map<string, BlockAffinity>();
  readonly nodes = new Map<string, Node>();
  /** Resource id → why its document was dropped. */
  readonly invalid = new Map<string, string>();

  /** Applies changes; returns whether anything the dataplane reads changed. */
  apply(changes: Iterable<ResourceChange>): boolean {
    let changed = false;
    for (const c of changes) {
      if (!KINDS.has(c.kind)) continue;
      const id = c.namespace ? `${c.namespace}/${c.name}` : c.name;
      const map = this.mapOf(c.kind);
      changed = true;
      if (c.value === undefined) {
        map.delete(id);
        this.invalid.delete(`${c.kind} ${id}`);
        continue;
      }
      const doc = parseDocument(c.value);
      const problem = typeof doc === 'string' ? doc : checkShape(c.kind, doc);
      if (problem !== undefined) {
        map.delete(id);
        this.invalid.set(`${c.kind} ${id}`, problem);
        continue;
      }
      this.invalid.delete(`${c.kind} ${id}`);
      map.set(id, doc as never);
    }
    return changed;
  }

  clear(): void {
    this.workloadEndpoints.clear();
    this.blocks.clear();
    this.affinities.clear();
    this.nodes.clear();
    this.invalid.clear();
  }

  private mapOf(kind: string): Map<string, unknown> {
    switch (kind) {
      case 'WorkloadEndpoint':
        return this.workloadEndpoints;
      case 'IPAMBlock':
        return this.blocks;
      case 'BlockAffinity':
        return this.affinities;
      default:
        return this.nodes;
    }
  }
}

function parseDocument(value: Uint8Array | object): object | string {
  if (!(value instanceof Uint8Array)) return value;
  try {
    const doc: unknown = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
    return doc !== null && typeof doc === 'object' ? doc : 'the document is not a JSON object';
  } catch (err) {
    return `the document is not JSON: ${(err as Error).message}`;
  }
}

/** The fields the dataplane relies on, checked once here so route computation can trust them. */
function checkShape(kind: string, doc: object): string | undefined {
  const spec = (doc as { spec?: unknown }).spec;
  if (spec === null || typeof spec !== 'object') return 'spec: missing';
  const s = spec as Record<string, unknown>;
  const str = (field: string, required: boolean): string | undefined => {
    const v = s[field];
    if (v === undefined && !required) return undefined;
    return typeof v === 'string' && v !== '' ? undefined : `spec.${field}: expected a non-empty string`;
  };
  switch (kind) {
    case 'WorkloadEndpoint': {
      const bad = str('node', true) ?? str('interfaceName', true);
      if (bad) return bad;
      if (
        s.ipNetworks !== undefined &&
        !(Array.isArray(s.ipNetworks) && s.ipNetworks.every((n) => typeof n === 'string'))
      )
        return 'spec.ipNetworks: expected a list of CIDRs';
      return undefined;
    }
    case 'IPAMBlock': {
      const bad = str('cidr', true) ?? str('affinity', false);
      if (bad) return bad;
      if (s.allocations !== undefined && !Array.isArray(s.allocations)) return 'spec.allocations: expected a list';
      if (s.attributes !== undefined && !Array.isArray(s.attributes)) return 'spec.attributes: expected a list';
      return undefined;
    }
    case 'BlockAffinity':
      return str('node', true) ?? str('cidr', true);
    default:
      return undefined;
  }
}
