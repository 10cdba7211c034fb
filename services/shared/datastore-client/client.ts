// A typed client of DatastoreService (proto/meshless/v1/datastore.proto) for the CLI, the sync
// servers, tests and load tests. Resources come back as plain JSON objects (the Calico v3
// document with metadata.resourceVersion = its revision); failures are the shared error classes
// (fromGrpcError): InvalidArgumentError with `field`, NotFoundError, AlreadyExistsError,
// ConflictError (ABORTED: the revision moved), FailedPreconditionError, ResourceExhaustedError,
// UnavailableError.
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { injectTraceparent, TRACEPARENT } from '../tracing/index.js';
import { CONVERTED_METADATA } from '../resources/index.js';
import { fromGrpcError } from '../grpc-status/index.js';
import { clientChannel, type CredentialPaths } from '../tls/index.js';
import {
  ChangeType,
  DatastoreServiceClient,
  type IpamShowResponse,
  type Resource,
  type WatchResponse,
} from '../../../proto/gen/meshless/v1/datastore.js';

/** A resource document as JSON: apiVersion, kind, metadata, spec (and status for some kinds). */
export interface ResourceObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    [field: string]: unknown;
  };
  spec?: unknown;
  [field: string]: unknown;
}

export type WatchEvent =
  | { type: 'put'; kind: string; namespace: string; name: string; revision: number; resource: ResourceObject }
  | { type: 'delete'; kind: string; namespace: string; name: string; revision: number }
  /** A snapshot follows: replace everything held with it (keys it lacks were deleted). */
  | { type: 'snapshot-begin'; compactedRevision: number }
  /** Everything up to `revision` has been delivered. Sent once per stream. */
  | { type: 'in-sync'; revision: number; compactedRevision: number };

export interface WatchOptions {
  /** Changes after this revision; 0 or absent = a snapshot first. */
  revision?: number;
  /** Kind names or aliases; empty = every kind. */
  kinds?: string[];
  signal?: AbortSignal;
}

export type IpamShow = IpamShowResponse;

/** One allocated address (IpamAddress). */
export interface IpamAddress {
  address: string;
  /** CIDR of the block holding it. */
  block: string;
  /** The block is affine to another node than the one using the address. */
  borrowed: boolean;
}

export interface AutoAssignOptions {
  node: string;
  handleId: string;
  numIpv4?: number;
  numIpv6?: number;
  /** Pool names or CIDRs; empty = every eligible pool. */
  ipv4Pools?: string[];
  ipv6Pools?: string[];
  /** Recorded with each address (e.g. namespace, pod). */
  attributes?: Record<string, string>;
}

export interface ClientOptions {
  /** Deadline of each unary call in milliseconds (default 60 s). */
  deadlineMs?: number;
  /** Credentials directory (ca.crt, tls.crt, tls.key) or the three files by name: mutual TLS; absent: plain text. */
  credentials?: string | CredentialPaths;
  /**
   * Writes are an orchestrator's controller converting its objects ("k8s"): sent as
   * CONVERTED_METADATA so the datastore allows Calico's reserved names (`knp.default.*`);
   * honoured for the controller role only.
   */
  convertedFrom?: string;
}

export interface DatastoreClient {
  readonly address: string;
  create(resource: object): Promise<ResourceObject>;
  /** Replace; `revision` (or else the document's metadata.resourceVersion) makes it compare-and-set. */
  update(resource: object, revision?: number): Promise<ResourceObject>;
  /** Create or replace; an explicit `revision` requires the resource to exist at that revision. */
  /** `unchanged`: the stored resource already equalled the document; nothing was written. */
  apply(
    resource: object,
    revision?: number,
  ): Promise<{ resource: ResourceObject; created: boolean; unchanged: boolean }>;
  get(kind: string, name: string, namespace?: string): Promise<ResourceObject>;
  /** namespace absent/empty = every namespace; labelSelector is a Kubernetes label selector. */
  list(
    kind: string,
    options?: { namespace?: string; labelSelector?: string },
  ): Promise<{ items: ResourceObject[]; revision: number }>;
  /** Returns the resource as it was and the revision of the deletion. */
  delete(
    kind: string,
    name: string,
    options?: { namespace?: string; revision?: number },
  ): Promise<{ resource: ResourceObject; revision: number }>;
  /** The change stream; breaking out of the loop (or aborting `signal`) cancels it. */
  watch(options?: WatchOptions): AsyncGenerator<WatchEvent, void, undefined>;
  allocateBlock(
    node: string,
    options?: { pool?: string; ipVersion?: 4 | 6 },
  ): Promise<{ block: ResourceObject; affinity: ResourceObject; allocated: boolean }>;
  releaseBlocks(node: string): Promise<{ released: string[]; deleted: string[] }>;
  ipamShow(): Promise<IpamShow>;
  /** N IPv4 and M IPv6 addresses for a node and handle (all or none). */
  autoAssign(options: AutoAssignOptions): Promise<{ ipv4: IpamAddress[]; ipv6: IpamAddress[] }>;
  /** One given address; AlreadyExistsError when in use. */
  assignIp(options: {
    node: string;
    handleId: string;
    address: string;
    attributes?: Record<string, string>;
  }): Promise<IpamAddress>;
  releaseIps(addresses: string[]): Promise<{ released: string[]; notAllocated: string[] }>;
  /** Frees every address of the handle and deletes it; [] when the handle does not exist. */
  releaseHandle(handleId: string): Promise<string[]>;
  handleAddresses(handleId: string): Promise<IpamAddress[]>;
  /** Resolves once the channel is connected; UnavailableError after `timeoutMs`. */
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

function decodeResource(r: Resource | undefined): ResourceObject {
  if (!r || r.json.length === 0) throw new Error('the datastore returned no resource');
  return JSON.parse(Buffer.from(r.json).toString('utf8')) as ResourceObject;
}

function encode(resource: object): Buffer {
  return Buffer.from(JSON.stringify(resource));
}

type Callback<T> = (err: ServiceError | null, res: T) => void;

/** Per-call metadata: the caller's trace context, when tracing is on and a span is active. */
function requestMetadata(convertedFrom: string | undefined): Metadata {
  const metadata = new Metadata();
  if (convertedFrom) metadata.set(CONVERTED_METADATA, convertedFrom);
  const traceparent = injectTraceparent();
  if (traceparent) metadata.set(TRACEPARENT, traceparent);
  return metadata;
}

export function createDatastoreClient(address: string, options: ClientOptions = {}): DatastoreClient {
  const channel = clientChannel(options.credentials, ['datastore']);
  const client = new DatastoreServiceClient(address, channel.credentials, {
    ...channel.options,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const deadlineMs = options.deadlineMs ?? 60_000;

  const call = <T>(invoke: (metadata: Metadata, opts: { deadline: Date }, cb: Callback<T>) => unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      invoke(requestMetadata(options.convertedFrom), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) =>
        err ? reject(fromGrpcError(err)) : resolve(res),
      );
    });

  return {
    address,
    async create(resource) {
      const res = await call<{ resource?: Resource }>((m, o, cb) =>
        client.create({ json: encode(resource) }, m, o, cb),
      );
      return decodeResource(res.resource);
    },
    async update(resource, revision = 0) {
      const res = await call<{ resource?: Resource }>((m, o, cb) =>
        client.update({ json: encode(resource), revision }, m, o, cb),
      );
      return decodeResource(res.resource);
    },
    async apply(resource, revision = 0) {
      const res = await call<{ resource?: Resource; created: boolean; unchanged: boolean }>((m, o, cb) =>
        client.apply({ json: encode(resource), revision }, m, o, cb),
      );
      return { resource: decodeResource(res.resource), created: res.created, unchanged: res.unchanged };
    },
    async get(kind, name, namespace = '') {
      const res = await call<{ resource?: Resource }>((m, o, cb) => client.get({ kind, name, namespace }, m, o, cb));
      return decodeResource(res.resource);
    },
    async list(kind, opts = {}) {
      const res = await call<{ resources: Resource[]; revision: number }>((m, o, cb) =>
        client.list({ kind, namespace: opts.namespace ?? '', labelSelector: opts.labelSelector ?? '' }, m, o, cb),
      );
      return { items: res.resources.map(decodeResource), revision: res.revision };
    },
    async delete(kind, name, opts = {}) {
      const res = await call<{ resource?: Resource; revision: number }>((m, o, cb) =>
        client.delete({ kind, name, namespace: opts.namespace ?? '', revision: opts.revision ?? 0 }, m, o, cb),
      );
      return { resource: decodeResource(res.resource), revision: res.revision };
    },
    watch(opts = {}) {
      return watchStream(client.watch({ revision: opts.revision ?? 0, kinds: opts.kinds ?? [] }), opts.signal);
    },
    async allocateBlock(node, opts = {}) {
      const res = await call<{ block?: Resource; affinity?: Resource; allocated: boolean }>((m, o, cb) =>
        client.allocateBlock({ node, pool: opts.pool ?? '', ipVersion: opts.ipVersion ?? 0 }, m, o, cb),
      );
      return { block: decodeResource(res.block), affinity: decodeResource(res.affinity), allocated: res.allocated };
    },
    releaseBlocks(node) {
      return call<{ released: string[]; deleted: string[] }>((m, o, cb) => client.releaseBlocks({ node }, m, o, cb));
    },
    ipamShow() {
      return call<IpamShowResponse>((m, o, cb) => client.ipamShow({}, m, o, cb));
    },
    async autoAssign(opts) {
      const res = await call<{ ipv4: IpamAddress[]; ipv6: IpamAddress[] }>((m, o, cb) =>
        client.autoAssign(
          {
            node: opts.node,
            handleId: opts.handleId,
            numIpv4: opts.numIpv4 ?? 0,
            numIpv6: opts.numIpv6 ?? 0,
            ipv4Pools: opts.ipv4Pools ?? [],
            ipv6Pools: opts.ipv6Pools ?? [],
            attributes: opts.attributes ?? {},
          },
          m,
          o,
          cb,
        ),
      );
      return { ipv4: res.ipv4, ipv6: res.ipv6 };
    },
    async assignIp(opts) {
      const res = await call<{ address?: IpamAddress }>((m, o, cb) =>
        client.assignIp(
          { node: opts.node, handleId: opts.handleId, address: opts.address, attributes: opts.attributes ?? {} },
          m,
          o,
          cb,
        ),
      );
      if (!res.address) throw new Error('the datastore returned no address');
      return res.address;
    },
    releaseIps(addresses) {
      return call<{ released: string[]; notAllocated: string[] }>((m, o, cb) =>
        client.releaseIps({ addresses }, m, o, cb),
      );
    },
    async releaseHandle(handleId) {
      return (await call<{ released: string[] }>((m, o, cb) => client.releaseHandle({ handleId }, m, o, cb))).released;
    },
    async handleAddresses(handleId) {
      return (await call<{ addresses: IpamAddress[] }>((m, o, cb) => client.handleAddresses({ handleId }, m, o, cb)))
        .addresses;
    },
    waitForReady(timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + timeoutMs, (err) =>
          err
            ? reject(
                fromGrpcError({
                  code: status.UNAVAILABLE,
                  details: `datastore at ${address} is not reachable: ${err.message}`,
                  metadata: new Metadata(),
                }),
              )
            : resolve(),
        ),
      );
    },
    close() {
      client.close();
    },
  };
}

async function* watchStream(
  stream: ClientReadableStream<WatchResponse>,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchEvent, void, undefined> {
  const cancel = () => stream.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  if (signal?.aborted) stream.cancel();
  try {
    for await (const msg of stream as AsyncIterable<WatchResponse>) {
      const e = msg.event;
      if (!e) continue;
      switch (e.$case) {
        case 'change': {
          const r = e.value.resource;
          if (!r) continue;
          const id = { kind: r.kind, namespace: r.namespace, name: r.name, revision: r.revision };
          if (e.value.type === ChangeType.CHANGE_TYPE_DELETE) yield { type: 'delete', ...id };
          else yield { type: 'put', ...id, resource: decodeResource(r) };
          break;
        }
        case 'snapshotBegin':
          yield { type: 'snapshot-begin', compactedRevision: e.value.compactedRevision };
          break;
        case 'inSync':
          yield { type: 'in-sync', revision: e.value.revision, compactedRevision: e.value.compactedRevision };
          break;
      }
    }
  } catch (err) {
    if ((err as Partial<ServiceError>).code === status.CANCELLED && (signal?.aborted ?? true)) return;
    throw fromGrpcError(err);
  } finally {
    signal?.removeEventListener('abort', cancel);
    stream.cancel();
  }
}
