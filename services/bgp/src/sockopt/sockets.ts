// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) on BGP sockets.
//
// Connecting: the socket is created, keyed and given its TTLs by the addon before connect(), so
// the SYN is already signed and sent with TTL 255; the connected descriptor becomes a net.Socket.
// Listening: one key per peer address on the listener (the kernel copies the matching key to each
// accepted socket and drops unsigned or wrongly signed segments, SYNs included); the listener
// sends with TTL 255 (its SYN-ACKs must pass a GTSM peer's minimum, as BIRD's listener does) and
// saves each SYN's headers. GTSM is per peer, so the minimum TTL cannot go on the shared
// listener: an accepted connection from a GTSM peer gets IP_MINTTL at once and is dropped when its
// SYN arrived with a lower TTL (what the kernel would have done had the minimum been on the
// listener). Rejected alternative: IP_MINTTL on the listener, which would drop every peer that
// does not use GTSM.
import { Socket, type Server } from 'node:net';
import { sockoptAddon, type SockoptAddon } from './addon.js';

/** RFC 5082 §3: we send with TTL 255 and accept 256 - hops and above. */
export const GTSM_TTL = 255;

/** What a BGP socket needs beyond plain TCP. */
export interface SocketSecurity {
  /** RFC 2385 key, 1 to 80 octets. */
  readonly md5Key?: Uint8Array;
  /** RFC 5082 GTSM: the peer is at most this many hops away (1..255). */
  readonly ttlSecurity?: number;
}

export function gtsmMinTtl(hops: number): number {
  return 256 - hops;
}

/** Error with a code, as node:net reports its own failures. */
function codedError(message: string, code: string, cause?: unknown): NodeJS.ErrnoException {
  return Object.assign(new Error(message, cause === undefined ? {} : { cause }), { code });
}

function addonOrThrow(what: string): SockoptAddon {
  const a = sockoptAddon();
  if ('reason' in a) throw codedError(`${what} needs the native socket-option addon: ${a.reason}`, 'ESOCKOPT');
  return a.addon;
}

/** Why TCP-MD5 / GTSM cannot be set on this machine, or undefined when they can. */
export function socketSecurityUnavailable(): string | undefined {
  const a = sockoptAddon();
  return 'reason' in a ? a.reason : undefined;
}

export function isSecured(s: SocketSecurity | undefined): s is SocketSecurity {
  return s !== undefined && (s.md5Key !== undefined || s.ttlSecurity !== undefined);
}

function describe(s: SocketSecurity): string {
  return [s.md5Key ? 'TCP-MD5' : '', s.ttlSecurity ? `GTSM (${s.ttlSecurity} hops)` : ''].filter(Boolean).join(' and ');
}

/** The OS descriptor of a net.Server or net.Socket (Linux; the handle is a TCP wrap). */
export function descriptorOf(handle: Server | Socket): number {
  const fd = (handle as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw codedError('the socket has no descriptor (closed?)', 'EBADF');
  return fd;
}

export interface SecureConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  timeoutMs: number;
  security: SocketSecurity;
}

/** A connected socket with the key and TTLs set before the SYN, or a rejection. */
export async function connectSecured(o: SecureConnectOptions): Promise<Socket> {
  const socket = new Socket({ fd: await connectSecuredDescriptor(o), readable: true, writable: true });
  socket.setNoDelay(true);
  return socket;
}

/**
 * The connected descriptor itself, for a caller that hands it to another process (the test
 * harness's namespace broker). Wrapping it in a readable net.Socket starts reading at once (the
 * constructor issues the first read, and pause() does not stop it), so the bytes the peer sends on
 * accept, its OPEN, would be read here and lost to the process that gets the socket.
 */
export function connectSecuredDescriptor(o: SecureConnectOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let addon: SockoptAddon;
    try {
      addon = addonOrThrow(describe(o.security));
    } catch (err) {
      reject(err as Error);
      return;
    }
    const { md5Key, ttlSecurity } = o.security;
    try {
      addon.connect(
        {
          host: o.host,
          port: o.port,
          ...(o.localAddress ? { localAddress: o.localAddress } : {}),
          ...(md5Key ? { md5Key: Buffer.from(md5Key) } : {}),
          ...(ttlSecurity ? { ttl: GTSM_TTL, minTtl: gtsmMinTtl(ttlSecurity) } : {}),
          timeoutMs: o.timeoutMs,
        },
        (err, fd) => {
          if (err) {
            reject(
              err.code === 'ETIMEDOUT'
                ? codedError(
                    `connect to ${o.host}:${o.port} timed out after ${o.timeoutMs} ms (with ${describe(o.security)})`,
                    'ETIMEDOUT',
                  )
                : err,
            );
            return;
          }
          resolve(fd!);
        },
      );
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** Readies a BGP listener for GTSM peers: SYN-ACKs with TTL 255, SYN headers saved. */
export function prepareListener(server: Server): void {
  const addon = addonOrThrow('GTSM on the listener');
  const fd = descriptorOf(server);
  addon.setTtl(fd, GTSM_TTL, 0);
  addon.saveSyn(fd);
}

/** Installs (key) or removes (undefined) a peer's TCP-MD5 key on the listener. */
export function setListenerKey(server: Server, address: string, key: Uint8Array | undefined): void {
  const addon = addonOrThrow('TCP-MD5 on the listener');
  addon.setMd5(descriptorOf(server), address, key ? Buffer.from(key) : null);
}

/**
 * GTSM on a connection we accepted: TTL 255 out, the peer's minimum in. Returns the TTL its SYN
 * arrived with (-1 when the listener did not save it); the caller drops the connection when that
 * is below `gtsmMinTtl(hops)`.
 */
export function secureAccepted(socket: Socket, hops: number): number {
  const addon = addonOrThrow('GTSM');
  const fd = descriptorOf(socket);
  addon.setTtl(fd, GTSM_TTL, gtsmMinTtl(hops));
  return addon.savedSynTtl(fd);
}
