// How the speaker gets its TCP sockets. The default binds in the process's own network
// namespace with node:net; tests swap in a transport whose sockets are created inside a network
// namespace (see testing/netns.ts) so the speaker can peer with daemons that refuse 127/8 next hops.
// Rejected alternative: a veth pair into the root namespace, which would put test addresses
// outside the namespaces the test owns.
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connectSecured, isSecured, type SocketSecurity } from '../sockopt/index.js';

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Source address to bind before connecting. */
  localAddress?: string;
  /** Give up after this long (the socket is destroyed). */
  timeoutMs: number;
  /**
   * TCP-MD5 key and GTSM for this peer, set before the SYN. A transport that cannot set them
   * must reject: the session never comes up without what the peer asked for.
   */
  security?: SocketSecurity;
}

export interface BgpTransport {
  /** A listening server; connections arrive as its 'connection' events. */
  listen(options: ListenOptions): Promise<Server>;
  /** A connected socket, or a rejection with the OS error (ECONNREFUSED, ETIMEDOUT, ...). */
  connect(options: ConnectOptions): Promise<Socket>;
}

/** Sockets in this process's own network namespace. */
export const netTransport: BgpTransport = {
  listen({ host, port }) {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  },
  connect({ host, port, localAddress, timeoutMs, security }) {
    if (isSecured(security))
      return connectSecured({ host, port, ...(localAddress ? { localAddress } : {}), timeoutMs, security });
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port, ...(localAddress ? { localAddress } : {}), noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          Object.assign(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
  },
};
