// The admin gRPC server (proto/meshless/v1/rr_admin.proto). Every error goes through
// toGrpcStatus; an address that is not a configured peer is NOT_FOUND.
//
// Authorization (mutual TLS, shared/tls): admin certificates may do everything; read-only ones
// GetStatus, ListPeers and ListRoutes; any other identity nothing (PERMISSION_DENIED, logged and
// counted). Resetting or shutting down a session is an operator's act, never a node's.

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError } from '../../../shared/errors/index.js';
import { toGrpcStatus } from '../../../shared/grpc-status/index.js';
import { describeCaller, type Caller, type ServerSecurity } from '../../../shared/tls/index.js';
import {
  RouteReflectorAdminServiceService,
  type RouteReflectorAdminServiceServer,
} from '../../../../proto/gen/meshless/v1/rr_admin.js';
import type { Reflector } from '../reflector/reflector.js';
import { canonicalAddress } from '../../../bgp/index.js';
import { checkShutdownMessage, peersView, routesView, statusView } from './views.js';

export interface AdminServer {
  /** HOST:PORT actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

const READ_METHODS = new Set(['GetStatus', 'ListPeers', 'ListRoutes']);

function authorize(caller: Caller, method: string): void {
  if (caller.kind === 'insecure') return;
  if (caller.kind === 'identified') {
    const { role } = caller.identity;
    if (role === 'admin' || (role === 'read-only' && READ_METHODS.has(method))) return;
  }
  throw new PermissionDeniedError(`${describeCaller(caller)} may not call ${method} on the route reflector`);
}

type Denied = (method: string, role: string) => void;

function unary<Req, Res>(
  log: Logger,
  security: ServerSecurity | undefined,
  denied: Denied,
  method: string,
  fn: (req: Req) => Res,
): Unary<Req, Res> {
  return (call, cb) => {
    const caller: Caller = security?.caller(call) ?? { kind: 'insecure' };
    try {
      authorize(caller, method);
      cb(null, fn(call.request));
    } catch (err) {
      const st = toGrpcStatus(err);
      if (st.code === status.INTERNAL) log.error({ err, method }, 'admin call failed');
      else if (st.code === status.PERMISSION_DENIED) {
        log.warn({ method, caller: describeCaller(caller) }, 'admin call refused: permission denied');
        denied(method, caller.kind === 'identified' ? caller.identity.role : caller.kind);
      }
      cb({ code: st.code, details: st.details, metadata: st.metadata, name: 'Error', message: st.details });
    }
  };
}

function address(text: string): string {
  const a = canonicalAddress(text);
  if (!a) throw new InvalidArgumentError(`address: "${text}" is not an IP address`, { field: 'address' });
  return a;
}

export interface AdminServerOptions {
  persistBacklog?: () => number;
  /** Mutual TLS and callers' identities; absent: plain text, everything allowed. */
  security?: ServerSecurity;
  /** Counts a refused call (metrics). */
  denied?: Denied;
}

export async function startAdminServer(
  listen: string,
  reflector: () => Reflector | undefined,
  log: Logger,
  options: AdminServerOptions = {},
): Promise<AdminServer> {
  const persistBacklog = options.persistBacklog ?? (() => 0);
  const denied = options.denied ?? (() => undefined);
  const u = <Req, Res>(method: string, fn: (req: Req) => Res) =>
    unary<Req, Res>(log, options.security, denied, method, fn);
  const rr = (): Reflector => {
    const r = reflector();
    if (!r) throw new UnavailableError('the route reflector is not running yet (waiting for its configuration)');
    return r;
  };
  const impl: RouteReflectorAdminServiceServer = {
    getStatus: u('GetStatus', () => statusView(rr(), persistBacklog())),
    listPeers: u('ListPeers', () => ({ peers: peersView(rr()) })),
    listRoutes: u('ListRoutes', (req) => routesView(rr(), req.prefix, req.longer, req.limit)),
    resetPeer: u('ResetPeer', (req) => {
      rr().reset(address(req.address), checkShutdownMessage(req.message));
      return {};
    }),
    shutdownPeer: u('ShutdownPeer', (req) => {
      rr().shutdown(address(req.address), checkShutdownMessage(req.message));
      return {};
    }),
    enablePeer: u('EnablePeer', (req) => {
      rr().startPeer(address(req.address));
      return {};
    }),
  };
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(RouteReflectorAdminServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, options.security?.credentials ?? ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
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
