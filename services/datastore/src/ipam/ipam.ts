// IPAM blocks, Calico's model: an IPPool's CIDR is cut into blocks of spec.blockSize; a node
// owns ("is affine to") the blocks it allocates, recorded twice as in Calico: the IPAMBlock's
// spec.affinity `host:NODE`, and a BlockAffinity `NODE-<block name>` in state confirmed.
//
// Allocation
//   1. A node that already has an affine block with a free address in a candidate pool gets it
//      back (repairing a missing BlockAffinity): allocation is idempotent.
//   2. Otherwise the first block of the first candidate pool that no IPAMBlock occupies is
//      claimed by creating its IPAMBlock with KV create (compare-and-set on "absent"). When the
//      create fails, someone else (another datastore replica) took it: try the next block.
//      Then the BlockAffinity is written. The block is written first so a crash in between
//      leaves a block whose owner the next allocation of that node finds and repairs.
//   Candidate pools: the named pool, or every enabled pool of the requested IP version that
//   allows Workload use and whose nodeSelector selects the node, by name.
//
// Requests are queued and served in batches by one worker per process: a batch reads the pools,
// blocks and affinities once and then serves its requests one after the other on that state,
// which each write keeps current. So N concurrent requests cost one scan, not N, and never
// race each other inside a process; across processes the KV create is the arbiter.
// (Rejected: a random starting block per request, as Calico does to spread contention across
// many writers: with one worker per process contention is rare, and sequential blocks keep the
// allocation predictable.)
//
// Reservations (IPReservation, Calico's kind): an address inside any reservedCIDRs is never
// handed out. Blocks are the unit here, so a block whose every address is reserved is never
// claimed, and an affine block counts as having room only for an address that is neither
// allocated nor reserved. (Calico checks reservations when it assigns one address; Meshless
// assigns blocks, and the same rule keeps a node from receiving a block it cannot use.)
//
// Release (ReleaseBlocks, or deleting a Node): every block affine to the node loses its
// affinity and the node's BlockAffinities are deleted. A block without allocations is deleted;
// a block that still holds allocations is kept without affinity (its addresses are still in use
// somewhere; Calico's IPAM garbage collection makes the same distinction), so no address is
// handed out twice.
import type { Logger } from 'pino';
import {
  AlreadyExistsError,
  ConflictError,
  FailedPreconditionError,
  NotFoundError,
  UnavailableError,
} from '../../../shared/errors/index.js';
import {
  addressAt,
  API_VERSION,
  blockAffinityName,
  blockAt,
  blockCount,
  cidrContains,
  cidrSize,
  ipamBlockName,
  parseCidr,
  parseSelector,
  cidrsOverlap,
  tryParseCidr,
  type Cidr,
} from '../../../shared/resources/index.js';
import type { ResourceDocument, ResourceStore, StoredResource } from '../store/index.js';

export interface AllocateRequest {
  node: string;
  /** IPPool name; undefined = choose by ipVersion and nodeSelector. */
  pool?: string;
  ipVersion: 4 | 6;
}

export interface AllocateResult {
  block: StoredResource;
  affinity: StoredResource;
  /** False when the node already had the block. */
  allocated: boolean;
}

export interface ReleaseResult {
  released: string[];
  deleted: string[];
}

export interface PoolUsage {
  name: string;
  cidr: string;
  blockSize: number;
  disabled: boolean;
  blocksTotal: number;
  blocksAllocated: number;
  addressesTotal: number;
  addressesInUse: number;
}

export interface BlockUsage {
  name: string;
  cidr: string;
  pool: string;
  node: string;
  affinityState: string;
  addressesTotal: number;
  addressesInUse: number;
}

export interface IpamUsage {
  pools: PoolUsage[];
  blocks: BlockUsage[];
  revision: number;
}

/**
 * A safety net, not the mechanism: how long one read of the IPAM state may take, and how many
 * reads a batch makes before its requests fail (retryable). The stalls once seen here (20 s+ for
 * ~30 keys, in a clean CI run at load ~2) were scans waiting for a caught-up mark from the server's
 * pending count that never came; the cursor no longer depends on it and replaces a consumer that
 * stops delivering (shared/nats kv-cursor.ts), so a read that still takes 8 s means NATS itself is not
 * answering, and one fresh read is all that is worth trying before the callers' own retry.
 */
const LOAD_TIMEOUT_MS = 8_000;
const LOAD_ATTEMPTS = 2;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`IPAM: ${what} took more than ${ms / 1000} s; retry`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** No candidate pool has a block left to claim: the caller may borrow (see addresses.ts). */
export class PoolExhaustedError extends FailedPreconditionError {}

export interface IpamOptions {
  /**
   * Calico's IPAMConfig strictAffinity: new blocks are written with spec.strictAffinity, and
   * addresses are never borrowed from a block that has it.
   */
  strictAffinity?: boolean;
}

/** Validates and normalizes a document the IPAM builds, exactly as API writes are. */
export type Normalize = (doc: ResourceDocument) => ResourceDocument;

interface State {
  pools: StoredResource[];
  /** By block CIDR. */
  blocks: Map<string, StoredResource>;
  /** By BlockAffinity name. */
  affinities: Map<string, StoredResource>;
  /** Every reservedCIDRs entry of every IPReservation. */
  reserved: Cidr[];
}

type Task =
  | { type: 'allocate'; request: AllocateRequest; resolve: (r: AllocateResult) => void; reject: (e: unknown) => void }
  | { type: 'release'; node: string; resolve: (r: ReleaseResult) => void; reject: (e: unknown) => void }
  | { type: 'orphans'; resolve: (nodes: string[]) => void; reject: (e: unknown) => void };

export class Ipam {
  private readonly queue: Task[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly store: ResourceStore,
    private readonly normalize: Normalize,
    private readonly log: Logger,
    private readonly onAllocated: () => void = () => undefined,
    readonly options: IpamOptions = {},
  ) {}

  allocate(request: AllocateRequest): Promise<AllocateResult> {
    return new Promise((resolve, reject) => this.enqueue({ type: 'allocate', request, resolve, reject }));
  }

  release(node: string): Promise<ReleaseResult> {
    return new Promise((resolve, reject) => this.enqueue({ type: 'release', node, resolve, reject }));
  }

  /**
   * Releases the blocks and affinities of nodes that no longer exist (a Node deleted while the
   * release failed, or deleted by writing the KV directly); returns those node names. The IPAM
   * state is read before the node list, so a block allocated for a node that exists is never
   * taken for an orphan.
   */
  releaseOrphans(): Promise<string[]> {
    return new Promise((resolve, reject) => this.enqueue({ type: 'orphans', resolve, reject }));
  }

  /** Waits for queued work to finish (used on shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async show(): Promise<IpamUsage> {
    const [pools, blocks, affinities] = await Promise.all([
      this.store.list('IPPool'),
      this.store.list('IPAMBlock'),
      this.store.list('BlockAffinity'),
    ]);
    const affinityByBlock = new Map<string, string>();
    for (const a of affinities.items) {
      const spec = specOf(a);
      if (typeof spec.cidr === 'string' && typeof spec.node === 'string')
        affinityByBlock.set(`${spec.node} ${spec.cidr}`, String(spec.state ?? ''));
    }
    const poolUsage: PoolUsage[] = pools.items.map((p) => {
      const spec = specOf(p);
      const cidr = String(spec.cidr);
      const blockSize = Number(spec.blockSize);
      return {
        name: p.name,
        cidr,
        blockSize,
        disabled: spec.disabled === true,
        blocksTotal: Number(blockCount(cidr, blockSize)),
        blocksAllocated: 0,
        addressesTotal: Number(cidrSize(cidr)),
        addressesInUse: 0,
      };
    });
    const blockUsage: BlockUsage[] = blocks.items.map((b) => {
      const spec = specOf(b);
      const cidr = String(spec.cidr);
      const allocations = Array.isArray(spec.allocations) ? spec.allocations : [];
      const inUse = allocations.filter((a) => a !== null && a !== undefined).length;
      const pool = poolUsage.find((p) => cidrContains(p.cidr, cidr));
      if (pool) {
        pool.blocksAllocated++;
        pool.addressesInUse += inUse;
      }
      const node = typeof spec.affinity === 'string' && spec.affinity.startsWith('host:') ? spec.affinity.slice(5) : '';
      return {
        name: b.name,
        cidr,
        pool: pool?.name ?? '',
        node,
        affinityState: node ? (affinityByBlock.get(`${node} ${cidr}`) ?? '') : '',
        addressesTotal: allocations.length,
        addressesInUse: inUse,
      };
    });
    return {
      pools: poolUsage,
      blocks: blockUsage,
      revision: Math.max(pools.revision, blocks.revision, affinities.revision),
    };
  }

  // ------------------------------------------------------------------ worker

  private enqueue(task: Task): void {
    this.queue.push(task);
    if (!this.draining) {
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      let state: State;
      try {
        // Bounded: a scan that never catches up (seen once on a starved machine) must fail this
        // batch with UNAVAILABLE, not stall every later allocation of the process behind it.
        state = await this.loadWithRetry();
      } catch (err) {
        for (const t of batch) t.reject(err);
        continue;
      }
      // The nodes of the batch are read in parallel up front (a missing one is reported by its task).
      const nodes = new Map<string, Promise<StoredResource | undefined>>();
      for (const task of batch) {
        if (task.type === 'allocate' && !nodes.has(task.request.node)) {
          const read = this.store.get('Node', '', task.request.node);
          read.catch(() => undefined);
          nodes.set(task.request.node, read);
        }
      }
      for (const task of batch) {
        try {
          if (task.type === 'allocate')
            task.resolve(await this.allocateOne(state, task.request, await nodes.get(task.request.node)!));
          else if (task.type === 'release') task.resolve(await this.releaseOne(state, task.node));
          else task.resolve(await this.releaseOrphansOne(state));
        } catch (err) {
          task.reject(err);
        }
      }
    }
  }

  private async loadWithRetry(): Promise<State> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(this.load(), LOAD_TIMEOUT_MS, 'reading pools, blocks and affinities');
      } catch (err) {
        if (!(err instanceof UnavailableError) || attempt >= LOAD_ATTEMPTS) throw err;
        this.log.warn({ attempt, err: String(err) }, 'IPAM state read stalled; reading again');
      }
    }
  }

  private async load(): Promise<State> {
    const [pools, blocks, affinities, reservations] = await Promise.all([
      this.store.list('IPPool'),
      this.store.list('IPAMBlock'),
      this.store.list('BlockAffinity'),
      this.store.list('IPReservation'),
    ]);
    return {
      pools: pools.items,
      blocks: new Map(blocks.items.map((b) => [String(specOf(b).cidr), b])),
      affinities: new Map(affinities.items.map((a) => [a.name, a])),
      reserved: reservations.items.flatMap((r) => {
        const cidrs = specOf(r).reservedCIDRs;
        return Array.isArray(cidrs)
          ? cidrs.flatMap((c) => (typeof c === 'string' && typeof tryParseCidr(c) !== 'string' ? [parseCidr(c)] : []))
          : [];
      }),
    };
  }

  private async allocateOne(
    state: State,
    request: AllocateRequest,
    node: StoredResource | undefined,
  ): Promise<AllocateResult> {
    if (!node)
      throw new NotFoundError(
        `Node '${request.node}' does not exist: create the Node before allocating a block for it`,
      );
    const labels = (node.document.metadata.labels ?? {}) as Record<string, string>;
    const pools = candidatePools(state.pools, request, labels);
    const owner = `host:${request.node}`;

    for (const pool of pools) {
      const poolCidr = String(specOf(pool).cidr);
      const mine = [...state.blocks.values()]
        .filter(
          (b) =>
            specOf(b).affinity === owner &&
            cidrContains(poolCidr, String(specOf(b).cidr)) &&
            hasFreeAddress(b, state.reserved),
        )
        .sort((a, b) => a.name.localeCompare(b.name));
      const existing = mine[0];
      if (existing)
        return {
          block: existing,
          affinity: await this.ensureAffinity(state, request.node, existing),
          allocated: false,
        };
    }

    for (const pool of pools) {
      const block = await this.claim(state, pool, request.node);
      if (block) {
        const affinity = await this.ensureAffinity(state, request.node, block);
        this.onAllocated();
        this.log.info({ node: request.node, block: block.name, pool: pool.name }, 'allocated an IPAM block');
        return { block, affinity, allocated: true };
      }
    }
    throw new PoolExhaustedError(
      `no free block left for node '${request.node}' in IPPool ${pools.map((p) => `'${p.name}'`).join(', ')}: add a pool or release blocks`,
    );
  }

  /** Claims the first free block of the pool for the node, or undefined when the pool is full. */
  private async claim(state: State, pool: StoredResource, node: string): Promise<StoredResource | undefined> {
    const spec = specOf(pool);
    const poolCidr = String(spec.cidr);
    const blockSize = Number(spec.blockSize);
    const count = blockCount(poolCidr, blockSize);
    for (let i = 0n; i < count; i++) {
      const cidr = blockAt(poolCidr, blockSize, i).text;
      if (state.blocks.has(cidr) || fullyReserved(cidr, state.reserved)) continue;
      try {
        const block = await this.store.create(
          this.normalize(blockDocument(cidr, node, this.options.strictAffinity === true)),
        );
        state.blocks.set(cidr, block);
        return block;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        const taken = await this.store.get('IPAMBlock', '', ipamBlockName(cidr));
        if (taken) state.blocks.set(cidr, taken);
        else i--; // deleted meanwhile: try the same block again
      }
    }
    return undefined;
  }

  private async ensureAffinity(state: State, node: string, block: StoredResource): Promise<StoredResource> {
    const cidr = String(specOf(block).cidr);
    const name = blockAffinityName(node, cidr);
    const existing = state.affinities.get(name);
    if (existing && specOf(existing).state === 'confirmed' && specOf(existing).cidr === cidr) return existing;
    const doc = this.normalize(affinityDocument(name, node, cidr));
    const resource = existing ? (await this.store.apply(doc, undefined)).resource : await this.createOrReplace(doc);
    state.affinities.set(name, resource);
    return resource;
  }

  /** Create (one round trip), or replace when someone wrote it meanwhile. */
  private async createOrReplace(doc: ResourceDocument): Promise<StoredResource> {
    try {
      return await this.store.create(doc);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return (await this.store.apply(doc, undefined)).resource;
    }
  }

  private async releaseOrphansOne(state: State): Promise<string[]> {
    const { items } = await this.store.list('Node');
    const nodes = new Set(items.map((n) => n.name));
    const owners = new Set<string>();
    for (const b of state.blocks.values()) {
      const affinity = specOf(b).affinity;
      if (typeof affinity === 'string' && affinity.startsWith('host:')) owners.add(affinity.slice(5));
    }
    for (const a of state.affinities.values()) {
      if (typeof specOf(a).node === 'string' && specOf(a).type !== 'virtual') owners.add(specOf(a).node as string);
    }
    const orphans = [...owners].filter((n) => !nodes.has(n)).sort();
    for (const node of orphans) await this.releaseOne(state, node);
    return orphans;
  }

  private async releaseOne(state: State, node: string): Promise<ReleaseResult> {
    const owner = `host:${node}`;
    const released: string[] = [];
    const deleted: string[] = [];
    for (const block of [...state.blocks.values()]) {
      if (specOf(block).affinity !== owner) continue;
      const cidr = String(specOf(block).cidr);
      await this.releaseBlock(state, block, owner, deleted);
      released.push(cidr);
    }
    for (const a of [...state.affinities.values()]) {
      if (specOf(a).node !== node || specOf(a).type === 'virtual') continue;
      try {
        await this.store.delete('BlockAffinity', '', a.name, undefined);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      state.affinities.delete(a.name);
    }
    if (released.length > 0)
      this.log.info({ node, released: released.length, deleted: deleted.length }, 'released IPAM blocks');
    return { released: released.sort(), deleted: deleted.sort() };
  }

  /** Deletes an empty block, or drops the affinity of one still in use; re-reads on a race. */
  private async releaseBlock(state: State, block: StoredResource, owner: string, deleted: string[]): Promise<void> {
    let current: StoredResource | undefined = block;
    for (let attempt = 0; current && specOf(current).affinity === owner; attempt++) {
      const cidr = String(specOf(current).cidr);
      try {
        if (!hasAllocation(current)) {
          await this.store.delete('IPAMBlock', '', current.name, current.revision);
          state.blocks.delete(cidr);
          deleted.push(cidr);
        } else {
          const { affinity: _a, affinityClaimTime: _t, ...spec } = specOf(current);
          const updated = await this.store.update(this.normalize({ ...current.document, spec }), current.revision);
          state.blocks.set(cidr, updated);
        }
        return;
      } catch (err) {
        if (!(err instanceof ConflictError || err instanceof NotFoundError) || attempt >= 8) throw err;
        current = await this.store.get('IPAMBlock', '', current.name);
        if (current) state.blocks.set(cidr, current);
        else state.blocks.delete(cidr);
      }
    }
  }
}

/**
 * The pools a node may take Workload addresses from: the named one (checked), or every enabled
 * pool of the IP version that allows Workload use and selects the node, by name.
 */
export function candidatePools(
  all: readonly StoredResource[],
  request: AllocateRequest,
  labels: Record<string, string>,
): StoredResource[] {
  const selects = (pool: StoredResource) => parseSelector(String(specOf(pool).nodeSelector ?? 'all()')).matches(labels);
  const allowsWorkload = (pool: StoredResource) => {
    const uses = specOf(pool).allowedUses;
    return !Array.isArray(uses) || uses.includes('Workload');
  };
  if (request.pool !== undefined) {
    const pool = all.find((p) => p.name === request.pool);
    if (!pool) throw new NotFoundError(`IPPool '${request.pool}' does not exist`);
    if (specOf(pool).disabled === true) throw new FailedPreconditionError(`IPPool '${request.pool}' is disabled`);
    if (!allowsWorkload(pool))
      throw new FailedPreconditionError(`IPPool '${request.pool}' does not allow Workload use (spec.allowedUses)`);
    if (!selects(pool)) {
      throw new FailedPreconditionError(
        `IPPool '${request.pool}' does not select node '${request.node}' (spec.nodeSelector ${JSON.stringify(specOf(pool).nodeSelector)})`,
      );
    }
    return [pool];
  }
  const pools = all
    .filter(
      (p) =>
        parseCidr(String(specOf(p).cidr)).family === request.ipVersion &&
        specOf(p).disabled !== true &&
        allowsWorkload(p) &&
        selects(p),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  if (pools.length === 0) {
    throw new FailedPreconditionError(
      `no enabled IPv${request.ipVersion} IPPool allowing Workload use selects node '${request.node}'`,
    );
  }
  return pools;
}

function specOf(r: StoredResource): Record<string, unknown> {
  const spec = r.document.spec;
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
}

function hasAllocation(b: StoredResource): boolean {
  const allocations = specOf(b).allocations;
  return Array.isArray(allocations) && allocations.some((a) => a !== null && a !== undefined);
}

/** Whether the block has an address that is neither allocated nor reserved. */
function hasFreeAddress(b: StoredResource, reserved: readonly Cidr[]): boolean {
  const cidr = String(specOf(b).cidr);
  const allocations = specOf(b).allocations;
  const size = Number(cidrSize(cidr));
  const relevant = reserved.filter((r) => cidrsOverlap(r, cidr));
  for (let i = 0; i < size; i++) {
    if (Array.isArray(allocations) && allocations[i] !== null && allocations[i] !== undefined) continue;
    if (relevant.length === 0 || !relevant.some((r) => cidrContains(r, addressAt(cidr, i)))) return true;
  }
  return false;
}

/** Whether IPReservations cover every address of the block. */
export function fullyReserved(block: string, reserved: readonly Cidr[]): boolean {
  const relevant = reserved.filter((r) => cidrsOverlap(r, block));
  if (relevant.length === 0) return false;
  if (relevant.some((r) => cidrContains(r, block))) return true;
  const size = Number(cidrSize(block));
  for (let i = 0; i < size; i++) if (!relevant.some((r) => cidrContains(r, addressAt(block, i)))) return false;
  return true;
}

export function blockDocument(cidr: string, node: string, strictAffinity = false): ResourceDocument {
  const size = Number(cidrSize(cidr));
  return {
    apiVersion: API_VERSION,
    kind: 'IPAMBlock',
    metadata: { name: ipamBlockName(cidr) },
    spec: {
      cidr,
      affinity: `host:${node}`,
      affinityClaimTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      strictAffinity,
      allocations: new Array<null>(size).fill(null),
      unallocated: Array.from({ length: size }, (_, i) => i),
      attributes: [],
      deleted: false,
    },
  };
}

export function affinityDocument(name: string, node: string, cidr: string): ResourceDocument {
  return {
    apiVersion: API_VERSION,
    kind: 'BlockAffinity',
    metadata: { name },
    spec: { state: 'confirmed', node, cidr, deleted: false },
  };
}
