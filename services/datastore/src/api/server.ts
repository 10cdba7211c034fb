// The gRPC server of DatastoreService. Requests arrive as raw bytes (identity deserializer) and
// are decoded here, so an undecodable or wrong-typed request becomes INVALID_ARGUMENT naming the
// field (see wire-check.ts) instead of grpc-js's generic deserialization failure. Every error
// goes through toGrpcStatus; NATS trouble is UNAVAILABLE. Messages larger than
// maxMessageBytes are refused by grpc-js with RESOURCE_EXHAUSTED before they are buffered.
//
// Watch streams write with backpressure (wait for 'drain'), end when the client cancels, and are
// ended with UNAVAILABLE when the server shuts down so clients reconnect and resume.
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { SpanKind } from '@opentelemetry/api';
import { contextFromTraceparent, inSpan, isTracing, TRACEPARENT } from '../../../shared/tracing/index.js';
import { toGrpcStatus } from '../../../shared/grpc-status/index.js';
import { UnavailableError } from '../../../shared/errors/index.js';
import {
  AllocateBlockRequest,
  ApplyRequest,
  AssignIpRequest,
  AutoAssignRequest,
  HandleAddressesRequest,
  ReleaseHandleRequest,
  ReleaseIpsRequest,
  ChangeType,
  CreateRequest,
  DatastoreServiceService,
  DeleteRequest,
  GetRequest,
  IpamShowRequest,
  ListRequest,
  ReleaseBlocksRequest,
  UpdateRequest,
  WatchRequest,
  type WatchResponse,
} from '../../../../proto/gen/meshless/v1/datastore.js';
import type { StoredKind } from '../../../shared/nats/index.js';
import type { ResourceStore } from '../store/index.js';
import { asServiceError } from '../../../shared/nats/index.js';
import { toProtoResource, type Handlers } from './handlers.js';
import type { ApiMetrics } from './metrics.js';
import { optionalRevision, requireKind } from './requests.js';
import { checkWire, type MessageSpec } from './wire-check.js';

const SPECS = {
  CreateRequest: { 1: { name: 'json', type: 'bytes' } },
  UpdateRequest: { 1: { name: 'json', type: 'bytes' }, 2: { name: 'revision', type: 'uint64' } },
  ApplyRequest: { 1: { name: 'json', type: 'bytes' }, 2: { name: 'revision', type: 'uint64' } },
  GetRequest: { 1: { name: 'kind', type: 'string' }, 2: { name: 'namespace', type: 'string' }, 3: { name: 'name', type: 'string' } },
  ListRequest: { 1: { name: 'kind', type: 'string' }, 2: { name: 'namespace', type: 'string' }, 3: { name: 'label_selector', type: 'string' } },
  DeleteRequest: {
    1: { name: 'kind', type: 'string' },
    2: { name: 'namespace', type: 'string' },
    3: { name: 'name', type: 'string' },
    4: { name: 'revision', type: 'uint64' },
  },
  WatchRequest: { 1: { name: 'revision', type: 'uint64' }, 2: { name: 'kinds', type: 'repeated string' } },
  AllocateBlockRequest: { 1: { name: 'node', type: 'string' }, 2: { name: 'pool', type: 'string' }, 3: { name: 'ip_version', type: 'uint32' } },
  ReleaseBlocksRequest: { 1: { name: 'node', type: 'string' } },
  IpamShowRequest: {},
  AutoAssignRequest: {
    1: { name: 'node', type: 'string' },
    2: { name: 'handle_id', type: 'string' },
    3: { name: 'num_ipv4', type: 'uint32' },
    4: { name: 'num_ipv6', type: 'uint32' },
    5: { name: 'ipv4_pools', type: 'repeated string' },
    6: { name: 'ipv6_pools', type: 'repeated string' },
    7: { name: 'attributes', type: 'map<string, string>' },
  },
  AssignIpRequest: {
    1: { name: 'node', type: 'string' },
    2: { name: 'handle_id', type: 'string' },
    3: { name: 'address', type: 'string' },
    4: { name: 'attributes', type: 'map<string, string>' },
  },
  ReleaseIpsRequest: { 1: { name: 'addresses', type: 'repeated string' } },
  ReleaseHandleRequest: { 1: { name: 'handle_id', type: 'string' } },
  HandleAddressesRequest: { 1: { name: 'handle_id', type: 'string' } },
} satisfies Record<string, MessageSpec>;

interface Decoder<T> {
  decode(bytes: Uint8Array): T;
}

function decodeRequest<T>(name: keyof typeof SPECS, codec: Decoder<T>, bytes: Buffer): T {
  checkWire(name, bytes, SPECS[name]);
  return codec.decode(bytes);
}

export interface ApiServerOptions {
  handlers: Handlers;
  store: ResourceStore;
  metrics: ApiMetrics;
  log: Logger;
  maxMessageBytes: number;
}

export interface ApiServer {
  readonly port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startApiServer(listen: string, options: ApiServerOptions): Promise<ApiServer> {
  const { handlers, store, metrics, log } = options;
  const watches = new Set<AbortController>();

  const unary =
    <Req, Res>(method: string, name: keyof typeof SPECS, codec: Decoder<Req>, run: (req: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Buffer, Res>, callback: sendUnaryData<Res>) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const handle = async () => run(decodeRequest(name, codec, call.request));
      // Traced: a server span continuing the caller's context; the store puts it on the KV write.
      const traced = isTracing()
        ? () =>
            inSpan(`datastore ${method}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': 'meshless.v1.DatastoreService', 'rpc.method': method }, parent: contextFromTraceparent(String(call.metadata.get(TRACEPARENT)[0] ?? '')) }, handle)
        : handle;
      void traced().then(
        (res) => {
          metrics.request(method, status.OK, seconds());
          callback(null, res);
        },
        (err: unknown) => {
          const mapped = asServiceError(err, method);
          const st = toGrpcStatus(mapped);
          metrics.request(method, st.code, seconds());
          if (mapped instanceof UnavailableError) {
            metrics.natsError(mapped.reason ?? 'unavailable');
            if (mapped.reason === 'storage') log.error({ method, details: st.details }, 'JetStream storage is full or failing');
          }
          if (st.code === status.INTERNAL || st.code === status.UNKNOWN) log.error({ err, method }, 'request failed');
          else log.debug({ method, code: st.code, details: st.details }, 'request refused');
          callback(st);
        },
      );
    };

  const watch = async (call: ServerWritableStream<Buffer, WatchResponse>): Promise<void> => {
    const abort = new AbortController();
    watches.add(abort);
    metrics.watchOpened();
    const onCancel = () => abort.abort();
    call.on('cancelled', onCancel);
    call.on('close', onCancel);
    try {
      const req = decodeRequest('WatchRequest', WatchRequest, call.request);
      const kinds = new Set<StoredKind>(req.kinds.map((k, i) => requireKind(k, `kinds[${i}]`)));
      const events = store.watch(optionalRevision(req.revision) ?? 0, kinds, abort.signal);
      for await (const e of events) {
        if (abort.signal.aborted) break;
        let msg: WatchResponse;
        switch (e.type) {
          case 'put':
            msg = { event: { $case: 'change', value: { type: ChangeType.CHANGE_TYPE_PUT, resource: toProtoResource(e.resource) } } };
            break;
          case 'delete':
            msg = {
              event: {
                $case: 'change',
                value: {
                  type: ChangeType.CHANGE_TYPE_DELETE,
                  resource: { kind: e.kind, namespace: e.namespace, name: e.name, revision: e.revision, json: Buffer.alloc(0) },
                },
              },
            };
            break;
          case 'snapshot-begin':
            msg = { event: { $case: 'snapshotBegin', value: { compactedRevision: e.compactedRevision } } };
            break;
          case 'in-sync':
            msg = { event: { $case: 'inSync', value: { revision: e.revision, compactedRevision: e.compactedRevision } } };
            break;
        }
        if (!call.write(msg)) await drained(call, abort.signal);
      }
      if (abort.signal.reason === 'shutdown') {
        call.emit('error', { code: status.UNAVAILABLE, details: 'the datastore is shutting down: watch again from your last revision' });
        metrics.request('Watch', status.UNAVAILABLE);
      } else if (!abort.signal.aborted) {
        call.end();
        metrics.request('Watch', status.OK);
      } else {
        metrics.request('Watch', status.CANCELLED);
      }
    } catch (err) {
      const st = toGrpcStatus(asServiceError(err, 'Watch'));
      metrics.request('Watch', st.code);
      if (st.code === status.INTERNAL) log.error({ err }, 'watch failed');
      if (!abort.signal.aborted || abort.signal.reason === 'shutdown') call.emit('error', st);
    } finally {
      call.off('cancelled', onCancel);
      call.off('close', onCancel);
      watches.delete(abort);
      metrics.watchClosed();
    }
  };

  const implementation: UntypedServiceImplementation = {
    create: unary('Create', 'CreateRequest', CreateRequest, (r) => handlers.create(r)),
    update: unary('Update', 'UpdateRequest', UpdateRequest, (r) => handlers.update(r)),
    apply: unary('Apply', 'ApplyRequest', ApplyRequest, (r) => handlers.apply(r)),
    get: unary('Get', 'GetRequest', GetRequest, (r) => handlers.get(r)),
    list: unary('List', 'ListRequest', ListRequest, (r) => handlers.list(r)),
    delete: unary('Delete', 'DeleteRequest', DeleteRequest, (r) => handlers.delete(r)),
    watch: (call: ServerWritableStream<Buffer, WatchResponse>) => void watch(call),
    allocateBlock: unary('AllocateBlock', 'AllocateBlockRequest', AllocateBlockRequest, (r) => handlers.allocateBlock(r)),
    releaseBlocks: unary('ReleaseBlocks', 'ReleaseBlocksRequest', ReleaseBlocksRequest, (r) => handlers.releaseBlocks(r)),
    ipamShow: unary('IpamShow', 'IpamShowRequest', IpamShowRequest, () => handlers.ipamShow()),
    autoAssign: unary('AutoAssign', 'AutoAssignRequest', AutoAssignRequest, (r) => handlers.autoAssign(r)),
    assignIp: unary('AssignIp', 'AssignIpRequest', AssignIpRequest, (r) => handlers.assignIp(r)),
    releaseIps: unary('ReleaseIps', 'ReleaseIpsRequest', ReleaseIpsRequest, (r) => handlers.releaseIps(r)),
    releaseHandle: unary('ReleaseHandle', 'ReleaseHandleRequest', ReleaseHandleRequest, (r) => handlers.releaseHandle(r)),
    handleAddresses: unary('HandleAddresses', 'HandleAddressesRequest', HandleAddressesRequest, (r) => handlers.handleAddresses(r)),
  };

  const definition: ServiceDefinition = Object.fromEntries(
    Object.entries(DatastoreServiceService).map(([method, d]) => [method, { ...d, requestDeserialize: (b: Buffer) => b }]),
  ) as unknown as ServiceDefinition;

  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );

  return {
    port,
    async close(graceMs = 5000) {
      for (const w of watches) w.abort('shutdown');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** Resolves when the stream can take more, or when the watch is aborted; leaves no listener behind. */
function drained(call: ServerWritableStream<Buffer, WatchResponse>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done);
  });
}
