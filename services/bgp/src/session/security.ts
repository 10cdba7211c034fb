// TCP-MD5 and GTSM for the speaker's sessions: what a peer's connections need, and the listener's
// side of it. The rule everywhere: a peer that asks for a key or GTSM never gets a session
// without it. When the key cannot be had (a missing secret) or set (no addon, a kernel without
// TCP_MD5SIG), the peer does not connect and its incoming connections are dropped; its status
// says why.
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  gtsmMinTtl,
  prepareListener,
  secureAccepted,
  setListenerKey,
  socketSecurityUnavailable,
  type SocketSecurity,
} from '../sockopt/index.js';
import type { ResolvedPeerConfig } from './config.js';
import type { BgpTransport } from './transport.js';

function wants(c: ResolvedPeerConfig): string {
  return [c.tcpMd5 ? 'TCP-MD5' : '', c.ttlSecurity ? `GTSM (ttlSecurity ${c.ttlSecurity})` : '']
    .filter(Boolean)
    .join(' and ');
}

/** The socket options a peer's connections need, or why they cannot have them. */
export function peerSecurity(c: ResolvedPeerConfig): { security?: SocketSecurity; error?: string } {
  if (!c.tcpMd5 && !c.ttlSecurity) return {};
  if (c.tcpMd5 && 'error' in c.tcpMd5) return { error: `TCP-MD5 key unavailable: ${c.tcpMd5.error}` };
  const unavailable = socketSecurityUnavailable();
  if (unavailable) return { error: `${wants(c)} cannot be set, so the peer stays down: ${unavailable}` };
  return {
    security: {
      ...(c.tcpMd5 ? { md5Key: c.tcpMd5.key } : {}),
      ...(c.ttlSecurity ? { ttlSecurity: c.ttlSecurity } : {}),
    },
  };
}

/**
 * Our connection to the peer, with its key and GTSM set before the SYN; when the peer asks for
 * them and cannot have them, a rejection (code ESECURITY) saying why. `secured`: the peer asks.
 */
export function connectPeer(
  transport: BgpTransport,
  c: ResolvedPeerConfig,
): { connecting: Promise<Socket>; secured: boolean } {
  const { security, error } = peerSecurity(c);
  const secured = security !== undefined || error !== undefined;
  if (error) return { connecting: Promise.reject(Object.assign(new Error(error), { code: 'ESECURITY' })), secured };
  const timeoutMs = Math.max(1000, c.connectRetryTime * 1000);
  return {
    connecting: transport.connect({
      host: c.address,
      port: c.port,
      ...(c.localAddress ? { localAddress: c.localAddress } : {}),
      timeoutMs,
      ...(security ? { security } : {}),
    }),
    secured,
  };
}

/**
 * The listener's keys and GTSM checks. Keys are installed per peer address; an address whose key
 * could not be installed has its connections dropped (the kernel would let them in unsigned).
 */
export class ListenerSecurity {
  private server: Server | undefined;
  /** Why the listener cannot do GTSM (TTL 255, saved SYNs), when it cannot. */
  private gtsmError: string | undefined;
  /** Per peer address with a key: undefined = installed, else why not. */
  private readonly keys = new Map<string, string | undefined>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Call once the listener is bound; then `setPeer` for every peer. */
  attach(server: Server): void {
    this.server = server;
    if (socketSecurityUnavailable()) return;
    try {
      prepareListener(server);
    } catch (err) {
      this.gtsmError = `cannot prepare the listener for GTSM: ${(err as Error).message}`;
      this.log.error({ err: (err as Error).message }, this.gtsmError);
    }
  }

  /** Installs, replaces or removes the peer's key on the listener (no listener: nothing to do). */
  setPeer(c: ResolvedPeerConfig): void {
    const had = this.keys.has(c.address);
    const key = c.tcpMd5 && 'key' in c.tcpMd5 ? c.tcpMd5.key : undefined;
    if (!c.tcpMd5) {
      if (had) this.removePeer(c.address);
      return;
    }
    if (!this.server) {
      this.keys.set(c.address, 'no listener');
      return;
    }
    const why = peerSecurity(c).error;
    if (why || !key) {
      this.keys.set(c.address, why ?? 'no key');
      if (had) this.uninstall(c.address);
      return;
    }
    try {
      setListenerKey(this.server, c.address, key);
      this.keys.set(c.address, undefined);
    } catch (err) {
      const reason = `cannot install the TCP-MD5 key on the listener: ${(err as Error).message}`;
      this.keys.set(c.address, reason);
      this.log.error({ peer: c.address }, reason);
    }
  }

  removePeer(address: string): void {
    if (!this.keys.has(address)) return;
    this.keys.delete(address);
    this.uninstall(address);
  }

  private uninstall(address: string): void {
    if (!this.server || socketSecurityUnavailable()) return;
    try {
      setListenerKey(this.server, address, undefined);
    } catch (err) {
      // ENOENT: no key was installed. Anything else leaves a key that only makes the kernel stricter.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(
          { peer: address, err: (err as Error).message },
          'cannot remove the TCP-MD5 key from the listener',
        );
    }
  }

  /**
   * Checks a connection the listener accepted for this peer: undefined to go ahead, else why it
   * must be dropped. GTSM peers get their minimum TTL on the socket here, before any byte is read.
   */
  admit(socket: Socket, c: ResolvedPeerConfig): string | undefined {
    if (c.tcpMd5) {
      if (!this.keys.has(c.address)) this.setPeer(c);
      const why = this.keys.get(c.address);
      if (why !== undefined) return `TCP-MD5 required: ${why}`;
    }
    if (!c.ttlSecurity) return undefined;
    const unavailable = peerSecurity(c).error ?? this.gtsmError;
    if (unavailable) return unavailable;
    let synTtl: number;
    try {
      synTtl = secureAccepted(socket, c.ttlSecurity);
    } catch (err) {
      return `cannot set GTSM on the connection: ${(err as Error).message}`;
    }
    const min = gtsmMinTtl(c.ttlSecurity);
    // RFC 5082 §3: a packet below the minimum TTL is dropped; the handshake's SYN was one.
    if (synTtl >= 0 && synTtl < min)
      return `GTSM: the connection's SYN arrived with TTL ${synTtl}, below ${min} (ttlSecurity ${c.ttlSecurity})`;
    return undefined;
  }
}
