// The listening socket. Ours, not grpc-js's: each accepted connection is handed to grpc-js
// through its connection injector. grpc-js's own listener has Node's default accept backlog
// (511), and when a server dies, thousands of agents reconnect to the others at once;
// connections beyond the backlog are dropped and retried by TCP after 1, 3, 7... seconds. Also
// sets TCP_NODELAY, so small frames (deltas, pings) never wait for Nagle.
import { createServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { ConnectionInjector, Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { advertisedAddress } from './address.js';

export interface ListenOptions {
  /** HOST:PORT (port 0 picks one; an IPv6 host in brackets). */
  listen: string;
  /** What to announce instead of the bound address (see address.ts). */
  advertise: string | undefined;
  /** Accept queue length (the kernel caps it at net.core.somaxconn). */
  backlog: number;
  credentials: ServerCredentials;
  log: Logger;
  /** Counts each accepted socket against the process's room (fd-limit.ts); false: it was closed. */
  admit?: (socket: Socket) => boolean;
}

export interface Bound {
  listener: TcpServer;
  injector: ConnectionInjector;
  port: number;
  /** HOST:PORT other servers and clients should use. */
  address: string;
}

export async function listen(grpc: Server, options: ListenOptions): Promise<Bound> {
  const injector = grpc.createConnectionInjector(options.credentials);
  const bound = await listenWith(options, false, (socket) => {
    if (options.admit?.(socket) ?? true) injector.injectConnection(socket);
  });
  return { ...bound, injector };
}

/**
 * The same socket, each accepted connection given to `onSocket` unread (paused): with worker
 * processes (workers/pool.ts) the main process accepts and a worker reads.
 */
export function listenForHandOff(
  options: Omit<ListenOptions, 'credentials'>,
  onSocket: (socket: Socket) => void,
): Promise<Omit<Bound, 'injector'>> {
  return listenWith(options, true, onSocket);
}

async function listenWith(
  options: Omit<ListenOptions, 'credentials'>,
  pauseOnConnect: boolean,
  onSocket: (socket: Socket) => void,
): Promise<Omit<Bound, 'injector'>> {
  const listenAt = options.listen;
  const host = listenAt.slice(0, listenAt.lastIndexOf(':'));
  const listener = createServer({ noDelay: true, pauseOnConnect }, onSocket);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(
      {
        host: host.replace(/^\[(.*)\]$/, '$1'),
        port: Number(listenAt.slice(listenAt.lastIndexOf(':') + 1)),
        backlog: options.backlog,
      },
      () => {
        listener.off('error', reject);
        resolve();
      },
    );
  });
  listener.on('error', (err) => options.log.error({ err: String(err) }, 'listener error'));
  const port = (listener.address() as AddressInfo).port;
  return { listener, port, address: advertisedAddress(options.advertise, host, port) };
}
