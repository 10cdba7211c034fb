// A promise-based client of the admin API (the CLI's `meshless bgp`, tests). Errors come back as
// the shared service errors (fromGrpcError): NotFoundError, InvalidArgumentError with `field`,
// UnavailableError, ...

import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromGrpcError } from '../../../shared/grpc-status/index.js';
import { clientChannel } from '../../../shared/tls/index.js';
import {
  RouteReflectorAdminServiceClient,
  type GetStatusResponse,
  type ListPeersResponse,
  type ListRoutesRequest,
  type ListRoutesResponse,
} from '../../../../proto/gen/meshless/v1/rr_admin.js';

export interface RrAdminClient {
  readonly address: string;
  status(): Promise<GetStatusResponse>;
  peers(): Promise<ListPeersResponse>;
  routes(request: Partial<ListRoutesRequest>): Promise<ListRoutesResponse>;
  reset(address: string, message?: string): Promise<void>;
  shutdown(address: string, message?: string): Promise<void>;
  enable(address: string): Promise<void>;
  close(): void;
}

export function createRrAdminClient(
  address: string,
  options: { deadlineMs?: number; credentials?: string } = {},
): RrAdminClient {
  const channel = clientChannel(options.credentials, ['reflector']);
  const client = new RouteReflectorAdminServiceClient(address, channel.credentials, channel.options);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const call = <T>(
    invoke: (m: Metadata, o: { deadline: Date }, cb: (err: ServiceError | null, res: T) => void) => unknown,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      invoke(new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) =>
        err ? reject(fromGrpcError(err)) : resolve(res),
      );
    });
  return {
    address,
    status: () => call((m, o, cb) => client.getStatus({}, m, o, cb)),
    peers: () => call((m, o, cb) => client.listPeers({}, m, o, cb)),
    routes: (r) =>
      call((m, o, cb) =>
        client.listRoutes({ prefix: r.prefix ?? '', longer: r.longer ?? false, limit: r.limit ?? 0 }, m, o, cb),
      ),
    reset: async (peer, message) => {
      await call((m, o, cb) => client.resetPeer({ address: peer, message: message ?? '' }, m, o, cb));
    },
    shutdown: async (peer, message) => {
      await call((m, o, cb) => client.shutdownPeer({ address: peer, message: message ?? '' }, m, o, cb));
    },
    enable: async (peer) => {
      await call((m, o, cb) => client.enablePeer({ address: peer }, m, o, cb));
    },
    close: () => client.close(),
  };
}
