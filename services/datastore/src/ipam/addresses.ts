// Address IPAM, Calico's semantics over IPAMBlock / BlockAffinity / IPAMHandle.
//
// Auto-assign (N IPv4 and M IPv6 addresses for a node and a handle), per family:
//   1. From the node's affine blocks in the candidate pools (the request's pools, else every
//      enabled pool of the family that allows Workload use and selects the node); when they are
//      full, the node claims a new affine block (Ipam.allocate does both: it returns an affine
//      block with room, or claims the pool's first unclaimed block by KV create).
//   2. Only when no candidate pool has an unclaimed block left, and strict affinity is off, the
//      addresses are borrowed from another node's block with room (one without
//      spec.strictAffinity). Every allocation records the node using it in its attribute
//      (`secondary.node`, as Calico's CNI does), so a borrowed address is one whose node differs
//      from the block's affinity: the route reflectors originate its /32 (/128) with that node as
//      next hop, and the owner's agent routes it upstream (services/rr derive.ts,
//      services/agent desired.ts).
//   3. If the family still lacks addresses, everything this call assigned is released and the
//      call fails with FAILED_PRECONDITION: no partial result.
// The handle is written before the block (Calico's order): a crash in between leaves a handle
// that counts an address it does not hold, which `meshless ipam check` reports and release by
// handle clears, never an address no handle accounts for.
//
// Every IPAMBlock and IPAMHandle write is a compare-and-set batched per key (cas.ts), so
// concurrent requests, in this process or on other datastore replicas, never hand out one
// address twice. An emptied block without affinity (its node released it, or it was only
// borrowed from) is deleted, as Calico does.
import type { Logger } from 'pino';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../shared/errors/index.js';
import {
  API_VERSION,
  addressOrdinal,
  blockAffinityName,
  blockAt,
  checkDns1123Subdomain,
  cidrContains,
  familyBits,
  ipamBlockName,
  ipamHandleName,
  ipToString,
  parseCidr,
  tryParseCidr,
  tryParseIp,
  type IpFamily,
} from '../../../shared/resources/index.js';
import type { ResourceStore, StoredResource } from '../store/index.js';
import {
  addressOf,
  assignFree,
  assignOrdinal,
  blockOwner,
  freeCount,
  inUseCount,
  ordinalOf,
  ordinalsOfHandle,
  releaseOrdinals,
  type AllocationAttribute,
  type BlockSpec,
} from './block-ops.js';
import { CasWriter, type Draft } from './cas.js';
import {
  affinityDocument,
  blockDocument,
  candidatePools,
  PoolExhaustedError,
  type Ipam,
  type Normalize,
} from './ipam.js';

export interface AssignedAddress {
  /** The address, without prefix length. */
  address: string;
  /** The CIDR of the block holding it. */
  block: string;
  /** True when the block is affine to another node (the address is borrowed). */
  borrowed: boolean;
}

export interface AutoAssignRequest {
  node: string;
  handleId: string;
  numIpv4: number;
  numIpv6: number;
  /** Pool names or CIDRs; empty = every eligible pool of the family. */
  ipv4Pools: string[];
  ipv6Pools: string[];
  /** Recorded with each address (Calico's secondary attributes: namespace, pod, ...). */
  attributes: Record<string, string>;
}

export interface AssignIpRequest {
  node: string;
  handleId: string;
  address: string;
  attributes: Record<string, string>;
}

export interface HandleSpec {
  handleID: string;
  block: Record<string, number>;
  deleted?: boolean;
}

/** Above this, one request is refused: a workload never needs so many addresses at once. */
const MAX_ADDRESSES_PER_REQUEST = 256;
/** How many blocks one family of one request may go through before giving up. */
const MAX_BLOCK_ROUNDS = 64;

export class IpamAddresses {
  readonly blocks: CasWriter<BlockSpec>;
  readonly handles: CasWriter<HandleSpec>;

  constructor(
    private readonly store: ResourceStore,
    private readonly ipam: Ipam,
    private readonly normalize: Normalize,
    private readonly log: Logger,
  ) {
    this.blocks = new CasWriter<BlockSpec>(
      store,
      normalize,
      {
        kind: 'IPAMBlock',
        document: () => {
          throw new NotFoundError('an IPAMBlock is created by claiming it, not by assigning an address');
        },
        outcome: (spec) => (inUseCount(spec) === 0 && spec.affinity === undefined ? { delete: true } : { spec }),
      },
      log,
    );
    this.handles = new CasWriter<HandleSpec>(
      store,
      normalize,
      {
        kind: 'IPAMHandle',
        document: (name, spec) => ({ apiVersion: API_VERSION, kind: 'IPAMHandle', metadata: { name }, spec }),
        outcome: (spec) => (Object.keys(spec.block).length === 0 ? { delete: true } : { spec }),
      },
      log,
    );
  }

  async autoAssign(req: AutoAssignRequest): Promise<{ ipv4: AssignedAddress[]; ipv6: AssignedAddress[] }> {
    checkHandleId(req.handleId);
    for (const [n, field] of [
      [req.numIpv4, 'num_ipv4'],
      [req.numIpv6, 'num_ipv6'],
    ] as const) {
      if (n > MAX_ADDRESSES_PER_REQUEST)
        throw new InvalidArgumentError(
          `${field}: at most ${MAX_ADDRESSES_PER_REQUEST} addresses per request, got ${n}`,
          { field },
        );
    }
    if (req.numIpv4 === 0 && req.numIpv6 === 0)
      throw new InvalidArgumentError('num_ipv4: ask for at least one address (num_ipv4 or num_ipv6)', {
        field: 'num_ipv4',
      });
    const node = await this.store.get('Node', '', req.node);
    if (!node)
      throw new NotFoundError(`Node '${req.node}' does not exist: create the Node before assigning addresses on it`);
    const labels = (node.document.metadata.labels ?? {}) as Record<string, string>;
    const attr = attribute(req.handleId, req.node, req.attributes);
    const got: AssignedAddress[] = [];
    try {
      const ipv4 =
        req.numIpv4 > 0 ? await this.assignFamily(req, 4, req.numIpv4, req.ipv4Pools, labels, attr, got) : [];
      const ipv6 =
        req.numIpv6 > 0 ? await this.assignFamily(req, 6, req.numIpv6, req.ipv6Pools, labels, attr, got) : [];
      return { ipv4, ipv6 };
    } catch (err) {
      if (got.length > 0) {
        await this.releaseIps(got.map((a) => a.address)).catch((e: unknown) =>
          this.log.warn(
            { err: e, handle: req.handleId },
            'could not roll back a failed assignment; release the handle',
          ),
        );
      }
      throw err;
    }
  }

  async assignIp(req: AssignIpRequest): Promise<AssignedAddress> {
    checkHandleId(req.handleId);
    const ip = tryParseIp(req.address);
    if (typeof ip === 'string') throw new InvalidArgumentError(`address: ${ip}`, { field: 'address' });
    const { items: pools } = await this.store.list('IPPool');
    const pool = pools.find((p) => cidrContains(String(spec(p).cidr), ip));
    if (!pool) throw new FailedPreconditionError(`${req.address} is not in any IPPool: create a pool that contains it`);
    const blockCidr = blockContaining(String(spec(pool).cidr), Number(spec(pool).blockSize), req.address);
    const name = ipamBlockName(blockCidr);
    if (!(await this.store.get('IPAMBlock', '', name))) await this.claimSpecific(req.node, blockCidr);
    const attr = attribute(req.handleId, req.node, req.attributes);
    await this.countInHandle(req.handleId, blockCidr, 1);
    try {
      const owner = await this.blocks.mutate(name, (d) => {
        const b = existing(d, name);
        assignOrdinal(b, ordinalOf(b, req.address)!, attr);
        return blockOwner(b);
      });
      return { address: req.address, block: blockCidr, borrowed: owner !== undefined && owner !== req.node };
    } catch (err) {
      await this.countInHandle(req.handleId, blockCidr, -1);
      throw err;
    }
  }

  /** Releases addresses; those that were not allocated are returned as `notAllocated`. */
  async releaseIps(addresses: string[]): Promise<{ released: string[]; notAllocated: string[] }> {
    const byBlock = new Map<string, string[]>();
    const notAllocated: string[] = [];
    let blocks: StoredResource[] | undefined;
    let pools: StoredResource[] | undefined;
    for (const [i, text] of addresses.entries()) {
      const ip = tryParseIp(text);
      if (typeof ip === 'string')
        throw new InvalidArgumentError(`addresses[${i}]: ${ip}`, { field: `addresses[${i}]` });
      pools ??= (await this.store.list('IPPool')).items;
      const pool = pools.find((p) => cidrContains(String(spec(p).cidr), ip));
      let cidr = pool ? blockContaining(String(spec(pool).cidr), Number(spec(pool).blockSize), text) : undefined;
      if (!cidr) {
        // The pool was deleted: look for a block that still holds the address.
        blocks ??= (await this.store.list('IPAMBlock')).items;
        cidr = blocks.map((b) => String(spec(b).cidr)).find((c) => cidrContains(c, ip));
      }
      if (!cidr) notAllocated.push(text);
      else byBlock.set(cidr, [...(byBlock.get(cidr) ?? []), text]);
    }
    const released: string[] = [];
    await Promise.all(
      [...byBlock].map(async ([cidr, ips]) => {
        const name = ipamBlockName(cidr);
        const freed = await this.blocks.mutate(name, (d) => {
          if (!d.spec) return [];
          const b = d.spec;
          return releaseOrdinals(
            b,
            ips.map((a) => ordinalOf(b, a)!),
          ).map((r) => ({ address: addressOf(b, r.ordinal), handleId: r.handleId }));
        });
        const freedSet = new Set(freed.map((f) => f.address));
        for (const a of ips) (freedSet.has(canonicalIp(a)) ? released : notAllocated).push(a);
        const perHandle = new Map<string, number>();
        for (const f of freed) if (f.handleId) perHandle.set(f.handleId, (perHandle.get(f.handleId) ?? 0) + 1);
        await Promise.all([...perHandle].map(([h, n]) => this.countInHandle(h, cidr, -n)));
      }),
    );
    return { released, notAllocated };
  }

  /** Releases every address of a handle and deletes the handle; [] when it does not exist. */
  async releaseHandle(handleId: string): Promise<string[]> {
    checkHandleId(handleId);
    const handle = await this.store.get('IPAMHandle', '', ipamHandleName(handleId));
    if (!handle) return [];
    const blocks = Object.keys((handle.document.spec as HandleSpec).block ?? {});
    const released = await Promise.all(
      blocks.map((cidr) =>
        this.blocks.mutate(ipamBlockName(cidr), (d) => {
          if (!d.spec) return [];
          const b = d.spec;
          return releaseOrdinals(b, ordinalsOfHandle(b, handleId)).map((r) => addressOf(b, r.ordinal));
        }),
      ),
    );
    await this.handles.mutate(ipamHandleName(handleId), (d) => {
      if (!d.spec) return;
      for (const cidr of blocks) delete d.spec.block[cidr];
    });
    return released.flat();
  }

  /** The addresses a handle holds, with their blocks. */
  async handleAddresses(handleId: string): Promise<AssignedAddress[]> {
    checkHandleId(handleId);
    const handle = await this.store.get('IPAMHandle', '', ipamHandleName(handleId));
    if (!handle) return [];
    const out: AssignedAddress[] = [];
    for (const cidr of Object.keys((handle.document.spec as HandleSpec).block ?? {}).sort()) {
      const block = await this.store.get('IPAMBlock', '', ipamBlockName(cidr));
      if (!block) continue;
      const b = block.document.spec as BlockSpec;
      for (const o of ordinalsOfHandle(b, handleId)) {
        const node = attributeNode(b, o);
        const owner = blockOwner(b);
        out.push({
          address: addressOf(b, o),
          block: cidr,
          borrowed: owner !== undefined && node !== undefined && owner !== node,
        });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ internals

  private async assignFamily(
    req: AutoAssignRequest,
    family: IpFamily,
    n: number,
    poolRefs: string[],
    labels: Record<string, string>,
    attr: AllocationAttribute,
    got: AssignedAddress[],
  ): Promise<AssignedAddress[]> {
    const field = family === 4 ? 'ipv4_pools' : 'ipv6_pools';
    // Pools are listed only when needed (names to resolve, or borrowing): Ipam.allocate reads
    // them once per batch of requests anyway.
    const allPools = poolRefs.length === 0 ? undefined : (await this.store.list('IPPool')).items;
    const poolNames =
      poolRefs.length === 0
        ? [undefined]
        : poolRefs.map((ref, i) => resolvePool(allPools!, ref, family, `${field}[${i}]`));
    const out: AssignedAddress[] = [];
    let allExhausted = true;
    for (const pool of poolNames) {
      let exhausted = false;
      for (let round = 0; out.length < n && round < MAX_BLOCK_ROUNDS; round++) {
        let block: StoredResource;
        try {
          block = (
            await this.ipam.allocate({ node: req.node, ipVersion: family, ...(pool === undefined ? {} : { pool }) })
          ).block;
        } catch (err) {
          if (!(err instanceof PoolExhaustedError)) throw err;
          exhausted = true;
          break;
        }
        const taken = await this.takeFrom(block, n - out.length, req, attr, false);
        out.push(...taken);
        got.push(...taken);
      }
      if (out.length >= n) return out;
      if (!exhausted) allExhausted = false;
    }
    // Borrow: only when every candidate pool has no unclaimed block left.
    if (!this.ipam.options.strictAffinity && allExhausted) {
      const pools = allPools ?? (await this.store.list('IPPool')).items;
      const candidates = poolNames.flatMap((pool) =>
        candidatePools(
          pools,
          { node: req.node, ipVersion: family, ...(pool === undefined ? {} : { pool }) },
          labels,
        ).map((p) => String(spec(p).cidr)),
      );
      const { items } = await this.store.list('IPAMBlock');
      const donors = items.filter((b) => {
        const s = b.document.spec as BlockSpec;
        return s.strictAffinity !== true && freeCount(s) > 0 && candidates.some((c) => cidrContains(c, s.cidr));
      });
      for (const donor of donors) {
        if (out.length >= n) break;
        const taken = await this.takeFrom(donor, n - out.length, req, attr, true);
        out.push(...taken);
        got.push(...taken);
      }
    }
    if (out.length < n) {
      throw new FailedPreconditionError(
        `IPv${family} pool exhausted for node '${req.node}': got ${out.length} of ${n} addresses` +
          (this.ipam.options.strictAffinity
            ? " (strict affinity is on: addresses are never borrowed from other nodes' blocks)"
            : ''),
      );
    }
    const borrowed = out.filter((a) => a.borrowed).length;
    if (borrowed > 0)
      this.log.info({ node: req.node, handle: req.handleId, borrowed }, "borrowed addresses from another node's block");
    return out;
  }

  /** Assigns up to `want` addresses of one block; the handle is counted first. */
  private async takeFrom(
    block: StoredResource,
    want: number,
    req: AutoAssignRequest,
    attr: AllocationAttribute,
    borrowing: boolean,
  ): Promise<AssignedAddress[]> {
    const cidr = String(spec(block).cidr);
    await this.countInHandle(req.handleId, cidr, want);
    let result: { addresses: string[]; owner: string | undefined } = { addresses: [], owner: undefined };
    try {
      result = await this.blocks.mutate(block.name, (d) => {
        if (!d.spec) return { addresses: [], owner: undefined };
        const b = d.spec;
        const owner = blockOwner(b);
        // A donor may have gained strict affinity, or the affine block another owner, meanwhile.
        if (borrowing ? b.strictAffinity === true : owner !== req.node) return { addresses: [], owner };
        return { addresses: assignFree(b, want, attr).map((o) => addressOf(b, o)), owner };
      });
    } finally {
      if (result.addresses.length < want) await this.countInHandle(req.handleId, cidr, result.addresses.length - want);
    }
    return result.addresses.map((address) => ({ address, block: cidr, borrowed: result.owner !== req.node }));
  }

  /** Adds `delta` to the handle's count for a block (creating or deleting the handle). */
  private countInHandle(handleId: string, cidr: string, delta: number): Promise<void> {
    return this.handles.mutate(ipamHandleName(handleId), (d: Draft<HandleSpec>) => {
      if (delta === 0) return;
      d.spec ??= { handleID: handleId, block: {}, deleted: false };
      const n = Math.max(0, (d.spec.block[cidr] ?? 0) + delta);
      if (n === 0) delete d.spec.block[cidr];
      else d.spec.block[cidr] = n;
    });
  }

  /** Claims the block of a specific address for the node (AssignIP into an unclaimed block). */
  private async claimSpecific(node: string, cidr: string): Promise<void> {
    if (!(await this.store.get('Node', '', node)))
      throw new NotFoundError(`Node '${node}' does not exist: create the Node before assigning addresses on it`);
    try {
      await this.store.create(this.normalize(blockDocument(cidr, node, this.ipam.options.strictAffinity === true)));
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return; // someone claimed it meanwhile: the address goes into their block
    }
    const affinity = this.normalize(affinityDocument(blockAffinityName(node, cidr), node, cidr));
    await this.store.apply(affinity, undefined, false);
  }
}

function spec(r: StoredResource): Record<string, unknown> {
  return (r.document.spec ?? {}) as Record<string, unknown>;
}

function existing(d: Draft<BlockSpec>, name: string): BlockSpec {
  if (!d.spec) throw new NotFoundError(`IPAMBlock '${name}' was released meanwhile; retry`);
  return d.spec;
}

function attribute(handleId: string, node: string, extra: Record<string, string>): AllocationAttribute {
  return { handle_id: handleId, secondary: { ...extra, node, timestamp: new Date().toISOString() } };
}

function attributeNode(b: BlockSpec, ordinal: number): string | undefined {
  const index = b.allocations[ordinal];
  return index === null || index === undefined ? undefined : b.attributes[index]?.secondary?.node;
}

function checkHandleId(handleId: string): void {
  if (handleId === '')
    throw new InvalidArgumentError('handle_id: is required (e.g. k8s-pod-network.<container id>)', {
      field: 'handle_id',
    });
  const problem = checkDns1123Subdomain(ipamHandleName(handleId));
  if (problem)
    throw new InvalidArgumentError(`handle_id: '${handleId.slice(0, 80)}' ${problem}`, { field: 'handle_id' });
}

/** A pool reference (name or CIDR) of the right family → the pool's name. */
function resolvePool(pools: StoredResource[], ref: string, family: IpFamily, field: string): string {
  const asCidr = tryParseCidr(ref);
  const pool =
    typeof asCidr === 'string'
      ? pools.find((p) => p.name === ref)
      : pools.find((p) => String(spec(p).cidr) === asCidr.text);
  if (!pool) throw new InvalidArgumentError(`${field}: no IPPool named or with CIDR '${ref}'`, { field });
  if (parseCidr(String(spec(pool).cidr)).family !== family)
    throw new InvalidArgumentError(`${field}: IPPool '${pool.name}' is not an IPv${family} pool`, { field });
  return pool.name;
}

/** The CIDR of the block of `blockSize` in `pool` that holds `address`. */
function blockContaining(pool: string, blockSize: number, address: string): string {
  const p = parseCidr(pool);
  const ordinal = addressOrdinal(p, address)!;
  return blockAt(p, blockSize, ordinal >> BigInt(familyBits(p.family) - blockSize)).text;
}

function canonicalIp(text: string): string {
  const ip = tryParseIp(text);
  return typeof ip === 'string' ? text : ipToString(ip);
}
