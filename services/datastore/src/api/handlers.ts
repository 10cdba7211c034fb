// The unary RPCs of DatastoreService: decoded proto requests in, proto responses out. Proto types
// stop here; below are the store (StoredResource) and the IPAM.
//
// Rules that span resources are checked here, serialized per process: IPPools must not overlap
// (Calico's rule) and an IPPool's cidr and blockSize cannot change once created (Calico rejects
// both: existing blocks were cut from them). Two replicas creating overlapping pools at the same
// instant could both pass; one datastore process per cluster write path avoids that.
import type { Logger } from 'pino';
import { InvalidArgumentError, NotFoundError } from '../../../shared/errors/index.js';
import { checkPoolOverlap, ResourceError, type IPPool } from '../../../shared/resources/index.js';
import type {
  AllocateBlockRequest,
  AllocateBlockResponse,
  ApplyRequest,
  ApplyResponse,
  AssignIpRequest,
  AssignIpResponse,
  AutoAssignRequest,
  AutoAssignResponse,
  HandleAddressesRequest,
  HandleAddressesResponse,
  ReleaseHandleRequest,
  ReleaseHandleResponse,
  ReleaseIpsRequest,
  ReleaseIpsResponse,
  CreateRequest,
  CreateResponse,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  IpamShowResponse,
  ListRequest,
  ListResponse,
  ReleaseBlocksRequest,
  ReleaseBlocksResponse,
  Resource,
  UpdateRequest,
  UpdateResponse,
} from '../../../../proto/gen/meshless/v1/datastore.js';
import type { Ipam, IpamAddresses } from '../ipam/index.js';
import { servedDocument, type ResourceStore, type StoredResource } from '../store/index.js';
import {
  ipVersion,
  labelSelector,
  namespaceFilter,
  namespaceFor,
  optionalRevision,
  parseDocument,
  requireKind,
  requireName,
  type WriteInput,
} from './requests.js';

export function toProtoResource(r: StoredResource): Resource {
  return {
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    revision: r.revision,
    json: Buffer.from(JSON.stringify(servedDocument(r))),
  };
}

/** A promise chain used as a mutex. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class Handlers {
  private readonly poolWrites = new Serial();

  constructor(
    private readonly store: ResourceStore,
    private readonly ipam: Ipam,
    private readonly addresses: IpamAddresses,
    private readonly log: Logger,
  ) {}

  async create(req: CreateRequest): Promise<CreateResponse> {
    const input = this.input(req.json);
    const resource = await this.guarded(input, () => this.store.create(input.document));
    return { resource: toProtoResource(resource) };
  }

  async update(req: UpdateRequest): Promise<UpdateResponse> {
    const input = this.input(req.json);
    const expected = optionalRevision(req.revision) ?? input.documentRevision;
    const resource = await this.guarded(input, () => this.store.update(input.document, expected));
    return { resource: toProtoResource(resource) };
  }

  async apply(req: ApplyRequest): Promise<ApplyResponse> {
    const input = this.input(req.json);
    const explicit = optionalRevision(req.revision);
    const { resource, created, unchanged } = await this.guarded(input, () =>
      this.store.apply(input.document, explicit ?? input.documentRevision, explicit !== undefined),
    );
    return { resource: toProtoResource(resource), created, unchanged };
  }

  async get(req: GetRequest): Promise<GetResponse> {
    const kind = requireKind(req.kind);
    const name = requireName(req.name);
    const namespace = namespaceFor(kind, req.namespace);
    const r = await this.store.get(kind, namespace, name);
    if (!r) throw new NotFoundError(`${kind} '${namespace ? `${namespace}/${name}` : name}' does not exist`);
    return { resource: toProtoResource(r) };
  }

  async list(req: ListRequest): Promise<ListResponse> {
    const kind = requireKind(req.kind);
    const namespace = namespaceFilter(kind, req.namespace);
    const selector = labelSelector(req.labelSelector);
    const { items, revision } = await this.store.list(kind, namespace);
    const selected = selector ? items.filter((r) => selector.matches((r.document.metadata.labels ?? {}) as Record<string, string>)) : items;
    return { resources: selected.map(toProtoResource), revision };
  }

  async delete(req: DeleteRequest): Promise<DeleteResponse> {
    const kind = requireKind(req.kind);
    const name = requireName(req.name);
    const namespace = namespaceFor(kind, req.namespace);
    const { resource, revision } = await this.store.delete(kind, namespace, name, optionalRevision(req.revision));
    if (kind === 'Node') {
      // The Node is gone whatever happens next; blocks left behind are released by the periodic
      // orphan sweep (Ipam.releaseOrphans), so a failure here is logged, not returned.
      await this.ipam.release(name).catch((err: unknown) => this.log.warn({ err, node: name }, 'releasing the blocks of a deleted node failed; the orphan sweep will retry'));
    }
    return { resource: toProtoResource(resource), revision };
  }

  async allocateBlock(req: AllocateBlockRequest): Promise<AllocateBlockResponse> {
    const node = requireName(req.node, 'node');
    const pool = req.pool === '' ? undefined : requireName(req.pool, 'pool');
    const r = await this.ipam.allocate({ node, ipVersion: ipVersion(req.ipVersion), ...(pool === undefined ? {} : { pool }) });
    return { block: toProtoResource(r.block), affinity: toProtoResource(r.affinity), allocated: r.allocated };
  }

  async releaseBlocks(req: ReleaseBlocksRequest): Promise<ReleaseBlocksResponse> {
    const node = requireName(req.node, 'node');
    return this.ipam.release(node);
  }

  async ipamShow(): Promise<IpamShowResponse> {
    const u = await this.ipam.show();
    return {
      pools: u.pools.map((p) => ({
        name: p.name,
        cidr: p.cidr,
        blockSize: p.blockSize,
        disabled: p.disabled,
        blocksTotal: p.blocksTotal,
        blocksAllocated: p.blocksAllocated,
        addressesTotal: p.addressesTotal,
        addressesInUse: p.addressesInUse,
      })),
      blocks: u.blocks.map((b) => ({
        name: b.name,
        cidr: b.cidr,
        pool: b.pool,
        node: b.node,
        affinityState: b.affinityState,
        addressesTotal: b.addressesTotal,
        addressesInUse: b.addressesInUse,
      })),
      revision: u.revision,
    };
  }

  async autoAssign(req: AutoAssignRequest): Promise<AutoAssignResponse> {
    return this.addresses.autoAssign({
      node: requireName(req.node, 'node'),
      handleId: req.handleId,
      numIpv4: req.numIpv4,
      numIpv6: req.numIpv6,
      ipv4Pools: req.ipv4Pools,
      ipv6Pools: req.ipv6Pools,
      attributes: attributes(req.attributes),
    });
  }

  async assignIp(req: AssignIpRequest): Promise<AssignIpResponse> {
    const address = await this.addresses.assignIp({
      node: requireName(req.node, 'node'),
      handleId: req.handleId,
      address: req.address,
      attributes: attributes(req.attributes),
    });
    return { address };
  }

  async releaseIps(req: ReleaseIpsRequest): Promise<ReleaseIpsResponse> {
    if (req.addresses.length === 0) throw new InvalidArgumentError('addresses: give at least one address to release', { field: 'addresses' });
    return this.addresses.releaseIps(req.addresses);
  }

  async releaseHandle(req: ReleaseHandleRequest): Promise<ReleaseHandleResponse> {
    return { released: await this.addresses.releaseHandle(req.handleId) };
  }

  async handleAddresses(req: HandleAddressesRequest): Promise<HandleAddressesResponse> {
    return { addresses: await this.addresses.handleAddresses(req.handleId) };
  }

  private input(json: Uint8Array): WriteInput {
    return parseDocument(json, this.store.maxDocumentBytes);
  }

  /** Runs a write, first checking the cross-resource rules of its kind. */
  private guarded<T>(input: WriteInput, write: () => Promise<T>): Promise<T> {
    if (input.document.kind !== 'IPPool') return write();
    return this.poolWrites.run(async () => {
      await this.checkPool(input.document as unknown as IPPool);
      return write();
    });
  }

  private async checkPool(pool: IPPool): Promise<void> {
    const { items } = await this.store.list('IPPool');
    const where = { kind: 'IPPool', name: pool.metadata.name, source: 'request' };
    const existing = items.find((p) => p.name === pool.metadata.name);
    if (existing) {
      const before = existing.document as unknown as IPPool;
      if (before.spec.cidr !== pool.spec.cidr) {
        throw new ResourceError(`cannot be changed from ${before.spec.cidr} (blocks were cut from it): create a new pool instead`, { ...where, field: 'spec.cidr' });
      }
      if (before.spec.blockSize !== pool.spec.blockSize) {
        throw new ResourceError(`cannot be changed from ${before.spec.blockSize}: create a new pool instead`, { ...where, field: 'spec.blockSize' });
      }
    }
    const problem = checkPoolOverlap(pool, items.map((p) => p.document as unknown as IPPool));
    if (problem) throw new ResourceError(problem, { ...where, field: 'spec.cidr' });
  }
}


/** Allocation attributes from a request: keys as Kubernetes label keys, bounded in size. */
function attributes(map: Record<string, string>): Record<string, string> {
  let size = 0;
  for (const [k, v] of Object.entries(map)) {
    const field = `attributes[${JSON.stringify(k.slice(0, 40))}]`;
    if (k === '' || k.length > 253 || !/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(k)) {
      throw new InvalidArgumentError(`${field}: the key must be 1-253 letters, digits, '-', '_', '.', '/'`, { field: 'attributes' });
    }
    if (k === 'node' || k === 'timestamp') throw new InvalidArgumentError(`${field}: '${k}' is set by the datastore`, { field: 'attributes' });
    size += k.length + v.length;
  }
  if (size > 4096) throw new InvalidArgumentError(`attributes: ${size} bytes in total, at most 4096`, { field: 'attributes' });
  return map;
}
