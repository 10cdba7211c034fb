// The chaos suite's continuous writer: creates, updates and deletes WorkloadEndpoints (of every
// node) and Profiles through the datastore API, one key at a time, recording every acknowledged
// write with its revision. A write that failed (UNAVAILABLE while a component is down) may still
// have been applied, so its key is "uncertain" until its next acknowledged write; every other key
// must end exactly as its last acknowledged write left it. Every sixth step is an IPAM operation
// instead (allocateBlock or releaseBlocks for a node, through the datastore's IPAM API), so the
// suite can check that no kill left two blocks overlapping or one block claimed twice.
import {
  ConflictError,
  NotFoundError,
  AlreadyExistsError,
  UnavailableError,
} from '../../services/shared/errors/index.js';
import { createDatastoreClient, type DatastoreClient } from '../../services/shared/datastore-client/index.js';
import { resourceKey } from '../../services/shared/nats/index.js';

interface KeyState {
  /** Revision of the last acknowledged put, or 'deleted' after an acknowledged delete. */
  last: number | 'deleted' | undefined;
  uncertain: boolean;
}

export class ChaosWriter {
  acknowledged = 0;
  /** Acknowledged IPAM operations (allocations that claimed a new block, releases). */
  blocksAllocated = 0;
  blocksReleased = 0;
  /** gRPC error kinds that reached the writer, by name (UnavailableError is allowed). */
  readonly errors = new Map<string, number>();
  private readonly keys = new Map<string, KeyState>();
  private readonly client: DatastoreClient;
  private running = false;
  private loop: Promise<void> | undefined;
  private n = 0;

  constructor(
    address: string,
    private readonly nodes: readonly string[],
  ) {
    this.client = createDatastoreClient(address, { deadlineMs: 30_000 });
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) await this.step();
    })();
  }

  /** Pauses after the write in flight (start() resumes). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  close(): void {
    this.client.close();
  }

  private async step(): Promise<void> {
    const i = this.n++;
    const node = this.nodes[i % this.nodes.length]!;
    if (i % 6 === 5) {
      // Each node in turn: allocate, allocate (a no-op while its block has room), release.
      const k = Math.floor(i / 6);
      return this.ipamStep(this.nodes[k % this.nodes.length]!, Math.floor(k / this.nodes.length) % 3 === 2);
    }
    const slot = Math.floor(i / this.nodes.length) % 8;
    const profile = i % 5 === 0;
    const name = profile ? `p-${slot}` : `${node}-w${slot}`;
    const key = profile ? resourceKey('Profile', '', name) : resourceKey('WorkloadEndpoint', 'default', name);
    const state = this.keys.get(key) ?? { last: undefined, uncertain: false };
    this.keys.set(key, state);
    const doc = profile
      ? {
          apiVersion: 'projectcalico.org/v3',
          kind: 'Profile',
          metadata: { name },
          spec: { labelsToApply: { gen: String(i) } },
        }
      : {
          apiVersion: 'projectcalico.org/v3',
          kind: 'WorkloadEndpoint',
          metadata: { name, namespace: 'default', labels: { gen: String(i) } },
          spec: {
            node,
            orchestrator: 'k8s',
            pod: name,
            endpoint: 'eth0',
            interfaceName: `cali${slot}`,
            ipNetworks: [`10.65.${slot}.${(i % 250) + 1}/32`],
          },
        };
    const remove = state.last !== undefined && state.last !== 'deleted' && i % 3 === 0;
    try {
      if (remove) {
        await this.client.delete(doc.kind, name, { namespace: profile ? '' : 'default' });
        state.last = 'deleted';
      } else {
        const r = await this.client.apply(doc);
        state.last = Number(r.resource.metadata.resourceVersion);
      }
      state.uncertain = false;
      this.acknowledged++;
    } catch (err) {
      this.fail(err);
      state.uncertain = true;
      if (err instanceof UnavailableError) await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 200));
    }
  }

  private async ipamStep(node: string, release: boolean): Promise<void> {
    try {
      if (release) {
        const r = await this.client.releaseBlocks(node);
        this.blocksReleased += r.released.length;
      } else if ((await this.client.allocateBlock(node)).allocated) {
        this.blocksAllocated++;
      }
      this.acknowledged++;
    } catch (err) {
      this.fail(err);
      if (err instanceof UnavailableError) await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 200));
    }
  }

  private fail(err: unknown): void {
    // NotFound / AlreadyExists / Conflict follow from an earlier uncertain write; anything but
    // UNAVAILABLE and those is a failure the suite reports.
    const kind =
      err instanceof UnavailableError
        ? 'UNAVAILABLE'
        : err instanceof NotFoundError || err instanceof AlreadyExistsError || err instanceof ConflictError
          ? 'expected'
          : (err as Error).name || 'Error';
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  /** Keys whose stored state differs from their last acknowledged write (certain keys only). */
  lost(contents: Map<string, { revision: number } | undefined>): string[] {
    const out: string[] = [];
    for (const [key, s] of this.keys) {
      if (s.uncertain || s.last === undefined) continue;
      const stored = contents.get(key);
      if (s.last === 'deleted' ? stored !== undefined : stored?.revision !== s.last) out.push(key);
    }
    return out;
  }
}
