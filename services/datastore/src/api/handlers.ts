// The unary RPCs of DatastoreService: decoded proto requests in, proto responses out. Proto types
// stop here; below are the store (StoredResource) and the IPAM.
//
// Rules that span resources are checked here, serialized per process: IPPools must not overlap
// (Calico's rule) and an IPPool's cidr and blockSize cannot change once created (Calico rejects
// both: existing blocks were cut from them). Two replicas creating overlapping pools at the same
// instant could both pass; one datastore process per cluster write path avoids that.
import type { Logger } from 'pino';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../../../shared/errors/index.js';
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
import type { Access } from './authorize.js';
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

  async create(req: CreateRequest, access: Access): Promise<CreateResponse> {
    const input = this.input(req.json, access);
    access.write('Create', input.document);
    const resource = await this.guarded(input, () => this.store.create(input.document));
    return { resource: toProtoResource(resource) };
  }

  async update(req: UpdateRequest, access: Access): Promise<UpdateResponse> {
    const input = this.input(req.json, access);
    await this.checkWrite(access, 'Update', input);
    const expected = optionalRevision(req.revision) ?? input.documentRevision;
    const resource = await this.guarded(input, () => this.store.update(input.document, expected));
    return { resource: toProtoResource(resource) };
  }

  async apply(req: ApplyRequest, access: Access): Promise<ApplyResponse> {
    const input = this.input(req.json, access);
    await this.checkWrite(access, 'Apply', input);
    const explicit = optionalRevision(req.revision);
    const { resource, created, unchanged } = await this.guarded(input, () =>
      this.store.apply(input.document, explicit ?? input.documentRevision, explicit !== undefined),
    );
    return { resource: toProtoResource(resource), created, unchanged };
  }

  async get(req: GetRequest, access: Access): Promise<GetResponse> {
    const kind = requireKind(req.kind);
    access.read('Get', kind);
    const name = requireName(req.name);
    const namespace = namespaceFor(kind, req.namespace);
    const r = await this.store.get(kind, namespace, name);
    if (!r) throw new NotFoundError(`${kind} '${namespace ? `${namespace}/${name}` : name}' does not exist`);
    if (!access.visible(r.document))
      throw new PermissionDeniedError(`${access.who} may not Get ${kind} '${name}': it is not its own`);
    return { resource: toProtoResource(r) };
  }

  async list(req: ListRequest, access: Access): Promise<ListResponse> {
    const kind = requireKind(req.kind);
    access.read('List', kind);
    const namespace = namespaceFilter(kind, req.namespace);
    const selector = labelSelector(req.labelSelector);
    const { items, revision } = await this.store.list(kind, namespace);
    const selected = items.filter(
      (r) =>
        access.visible(r.document) &&
        (!selector || selector.matches((r.document.metadata.labels ?? {}) as Record<string, string>)),
    );
    return { resources: selected.map(toProtoResource), revision };
  }

  async delete(req: DeleteRequest, access: Access): Promise<DeleteResponse> {
    const kind = requireKind(req.kind);
    const name = requireName(req.name);
    const namespace = namespaceFor(kind, req.namespace);
    if (access.ownerScoped) {
      const stored = await this.store.get(kind, namespace, name);
      if (!stored) throw new NotFoundError(`${kind} '${namespace ? `${namespace}/${name}` : name}' does not exist`);
      access.write('Delete', stored.document);
    } else access.write('Delete', { kind });
    const { resource, revision } = await this.store.delete(kind, namespace, name, optionalRevision(req.revision));
    if (kind === 'Node') {
      // The Node is gone whatever happens next; blocks left behind are released by the periodic
      // orphan sweep (Ipam.releaseOrphans), so a failure here is logged, not returned.
      await this.ipam
        .release(name)
        .catch((err: unknown) =>
          this.log.warn(
            { err, node: name },
            'releasing the blocks of a deleted node failed; the orphan sweep will retry',
          ),
        );
    }
    return { resource: toProtoResource(resource), revision };
  }

  async allocateBlock(req: AllocateBlockRequest, access: Access): Promise<AllocateBlockResponse> {
    const node = requireName(req.node, 'node');
    access.ipam('AllocateBlock', node);
    const pool = req.pool === '' ? undefined : requireName(req.pool, 'pool');
    const r = await this.ipam.allocate({
      node,
      ipVersion: ipVersion(req.ipVersion),
      ...(pool === undefined ? {} : { pool }),
    });
    return { block: toProtoResource(r.block), affinity: toProtoResource(r.affinity), allocated: r.allocated };
  }

  async releaseBlocks(req: ReleaseBlocksRequest, access: Access): Promise<ReleaseBlocksResponse> {
    const node = requireName(req.node, 'node');
    access.ipam('ReleaseBlocks', node);
    return this.ipam.release(node);
  }

  async ipamShow(access: Access): Promise<IpamShowResponse> {
    access.ipam('IpamShow');
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

  /** A replacing write: the new document, and for owner-scoped roles the stored one too. */
  private async checkWrite(access: Access, method: 'Update' | 'Apply', input: WriteInput): Promise<void> {
    access.write(method, input.document);
    if (!access.ownerScoped) return;
    const d = input.document;
    const kind = requireKind(d.kind);
    const stored = await this.store.get(
      kind,
      namespaceFor(kind, typeof d.metadata.namespace === 'string' ? d.metadata.namespace : ''),
      d.metadata.name,
    );
    if (stored) access.write(method, stored.document);
  }

  async autoAssign(req: AutoAssignRequest, access: Access): Promise<AutoAssignResponse> {
    access.ipamAddresses('AutoAssign', req.node);
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

  async assignIp(req: AssignIpRequest, access: Access): Promise<AssignIpResponse> {
    access.ipamAddresses('AssignIp', req.node);
    const address = await this.addresses.assignIp({
      node: requireName(req.node, 'node'),
      handleId: req.handleId,
      address: req.address,
      attributes: attributes(req.attributes),
    });
    return { address };
  }

  async releaseIps(req: ReleaseIpsRequest, access: Access): Promise<ReleaseIpsResponse> {
    access.ipamAddresses('ReleaseIps');
    if (req.addresses.length === 0)
      throw new InvalidArgumentError('addresses: give at least one address to release', { field: 'addresses' });
    return this.addresses.releaseIps(req.addresses);
  }

  async releaseHandle(req: ReleaseHandleRequest, access: Access): Promise<ReleaseHandleResponse> {
    access.ipamAddresses('ReleaseHandle');
    return { released: await this.addresses.releaseHandle(req.handleId) };
  }

  async handleAddresses(req: HandleAddressesRequest, access: Access): Promise<HandleAddressesResponse> {
    access.ipamAddresses('HandleAddresses');
    return { addresses: await this.addresses.handleAddresses(req.handleId) };
  }

  private input(json: Uint8Array, access: Access): WriteInput {
    return parseDocument(json, this.store.maxDocumentBytes, access.converted());
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
        throw new ResourceError(
          `cannot be changed from ${before.spec.cidr} (blocks were cut from it): create a new pool instead`,
          { ...where, field: 'spec.cidr' },
        );
      }
      if (before.spec.blockSize !== pool.spec.blockSize) {
        throw new ResourceError(`cannot be changed from ${before.spec.blockSize}: create a new pool instead`, {
          ...where,
          field: 'spec.blockSize',
        });
      }
    }
    const problem = checkPoolOverlap(
      pool,
      items.map((p) => p.document as unknown as IPPool),
    );
    if (problem) throw new ResourceError(problem, { ...where, field: 'spec.cidr' });
  }
}

/** Allocation attributes from a request: keys as Kubernetes label keys, bounded in size. */
function attributes(map: Record<string, string>): Record<string, string> {
  let size = 0;
  for (const [k, v] of Object.entries(map)) {
    const field = `attributes[${JSON.stringify(k.slice(0, 40))}]`;
    if (k === '' || k.length > 253 || !/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(k)) {
      throw new InvalidArgumentError(`${field}: the key must be 1-253 letters, digits, '-', '_', '.', '/'`, {
        field: 'attributes',
      });
    }
    if (k === 'node' || k === 'timestamp')
      throw new InvalidArgumentError(`${field}: '${k}' is set by the datastore`, { field: 'attributes' });
    size += k.length + v.length;
  }
  if (size > 4096)
    throw new InvalidArgumentError(`attributes: ${size} bytes in total, at most 4096`, { field: 'attributes' });
  return map;
}
