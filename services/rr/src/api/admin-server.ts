// The admin gRPC server (proto/meshless/v1/rr_admin.proto). Every error goes through
// toGrpcStatus; an address that is not a configured peer is NOT_FOUND.

import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { InvalidArgumentError, UnavailableError } from '../../../shared/errors/index.js';
import { toGrpcStatus } from '../../../shared/grpc-status/index.js';
import { RouteReflectorAdminServiceService, type RouteReflectorAdminServiceServer } from '../../../../proto/gen/meshless/v1/rr_admin.js';
import type { Reflector } from '../reflector/reflector.js';
import { canonicalAddress } from '../bgp.js';
import { checkShutdownMessage, peersView, routesView, statusView } from './views.js';

export interface AdminServer {
  /** HOST:PORT actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

function unary<Req, Res>(log: Logger, method: string, fn: (req: Req) => Res): Unary<Req, Res> {
  return (call, cb) => {
    try {
      cb(null, fn(call.request));
    } catch (err) {
      const st = toGrpcStatus(err);
      if (st.code === 13) log.error({ err, method }, 'admin call failed');
      cb({ code: st.code, details: st.details, metadata: st.metadata, name: 'Error', message: st.details });
    }
  };
}

function address(text: string): string {
  const a = canonicalAddress(text);
  if (!a) throw new InvalidArgumentError(`address: "${text}" is not an IP address`, { field: 'address' });
  return a;
}

export async function startAdminServer(listen: string, reflector: () => Reflector | undefined, log: Logger, persistBacklog: () => number = () => 0): Promise<AdminServer> {
  const rr = (): Reflector => {
    const r = reflector();
    if (!r) throw new UnavailableError('the route reflector is not running yet (waiting for its configuration)');
    return r;
  };
  const impl: RouteReflectorAdminServiceServer = {
    getStatus: unary(log, 'GetStatus', () => statusView(rr(), persistBacklog())),
    listPeers: unary(log, 'ListPeers', () => ({ peers: peersView(rr()) })),
    listRoutes: unary(log, 'ListRoutes', (req) => routesView(rr(), req.prefix, req.longer, req.limit)),
    resetPeer: unary(log, 'ResetPeer', (req) => {
      rr().reset(address(req.address), checkShutdownMessage(req.message));
      return {};
    }),
    shutdownPeer: unary(log, 'ShutdownPeer', (req) => {
      rr().shutdown(address(req.address), checkShutdownMessage(req.message));
      return {};
    }),
    enablePeer: unary(log, 'EnablePeer', (req) => {
      rr().startPeer(address(req.address));
      return {};
    }),
  };
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(RouteReflectorAdminServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const bound = `${host}:${port}`;
  log.info({ address: bound }, 'admin API listening');
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
