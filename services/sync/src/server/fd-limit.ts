// Every stream is a socket, i.e. a file descriptor: a maxConnections above the process's open-file
// limit would let accept() fail with EMFILE, which wedges the listener (and the metrics endpoint)
// instead of sending the extra clients elsewhere. The cap leaves room for the descriptors the
// process needs besides streams (NATS, LMDB, metrics, logs).
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../../../shared/log/index.js';

/** Descriptors kept for everything that is not a stream. */
export const RESERVED_FDS = 256;

/** The soft open-file limit (Linux /proc/self/limits), or undefined when unknown or unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/**
 * maxConnections, lowered (with a warning naming the fix) when the open-file limit is below it.
 * With `workers` > 1 worker processes hold the streams, each under its own limit (the main
 * process hands every accepted socket on and closes its copy), so the cap is one process's room
 * times the workers: 20,000 streams on one server need two workers where the limit is 20,000.
 */
export function connectionCap(
  maxConnections: number,
  fileLimit: number | undefined,
  log?: Logger,
  workers = 1,
): number {
  const room = fileLimit === undefined ? Infinity : Math.max(1, fileLimit - RESERVED_FDS) * Math.max(1, workers);
  if (maxConnections <= room) return maxConnections;
  log?.warn(
    { maxConnections, openFileLimit: fileLimit, workers, cap: room },
    `maxConnections ${maxConnections} exceeds what the open-file limit (${fileLimit}${workers > 1 ? ` per process, ${workers} worker processes` : ''}) allows; accepting ${room} streams (raise it with ulimit -n / LimitNOFILE)`,
  );
  return room;
}

/** Sockets one process may hold (streams and idle sessions): the open-file limit less the reserve. */
export function socketRoom(fileLimit: number | undefined): number {
  return fileLimit === undefined ? Infinity : Math.max(1, fileLimit - RESERVED_FDS);
}

export interface LedgerStats {
  /** Accepted sockets still open. */
  open: number;
  /** Of those, sockets no call has arrived on yet: agents' warm standby sessions (and streams about to start). */
  idle: number;
  /** Idle sessions closed to make room for a new connection. */
  evicted: number;
  /** Connections closed at once: no room, and no idle session to close instead. */
  refused: number;
}

/**
 * Every accepted socket of one process, counted against its open-file room. Agents keep a warm
 * standby session (an HTTP/2 connection with no call, client/standby.ts) to the server they
 * would fail over to, so a server holds up to one idle connection per agent of the other servers
 * beside its streams; `maxConnections` counts streams only, and those idle sessions alone could
 * run the process out of descriptors (accept() failing with EMFILE wedges the listener). So:
 * when a new connection arrives with the room full, the longest-idle session is closed first
 * (its agent re-arms its standby elsewhere, after a backoff), and only when every socket carries
 * a call is the new one closed. An idle session never makes the server refuse a stream.
 *
 * The close is a TCP close, not an HTTP/2 GOAWAY: grpc-js keeps its sessions to itself (under
 * TLS, on a socket it wraps), and a session with no call loses nothing either way.
 */
export class ConnectionLedger {
  /** Sockets with no call yet by peer HOST:PORT, in accept order (oldest first). */
  private readonly idle = new Map<string, Socket>();
  private open = 0;
  private evicted = 0;
  private refused = 0;
  private lastWarning = 0;
  private readonly evictedSockets = new WeakSet<Socket>();

  constructor(
    private readonly room: number,
    private readonly log?: Logger,
  ) {
    if (!(room >= 1)) throw new Error(`ConnectionLedger: room must be at least 1, got ${room}`);
  }

  /** A socket was accepted: false (and the socket destroyed) when there is no room for it. */
  admit(socket: Socket): boolean {
    if (this.open >= this.room && !this.evictOne()) {
      this.refused++;
      socket.destroy();
      this.warn('no room for a new connection: every socket carries a stream; closing it');
      return false;
    }
    this.open++;
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.idle.set(key, socket);
    socket.once('close', () => {
      // An evicted socket was counted free when it was closed.
      if (this.evictedSockets.has(socket)) return;
      this.open--;
      if (this.idle.get(key) === socket) this.idle.delete(key);
    });
    return true;
  }

  /** A call arrived from PEER (grpc-js `call.getPeer()`, HOST:PORT): its socket is not idle. */
  called(peer: string): void {
    this.idle.delete(peer);
  }

  stats(): LedgerStats {
    return { open: this.open, idle: this.idle.size, evicted: this.evicted, refused: this.refused };
  }

  private evictOne(): boolean {
    for (const [key, socket] of this.idle) {
      this.idle.delete(key);
      // Counted free now: destroy() releases the descriptor before the next accept is handled.
      this.open--;
      this.evictedSockets.add(socket);
      socket.destroy();
      this.evicted++;
      this.warn('open-file room full: closing idle (standby) sessions to make room for new connections');
      return true;
    }
    return false;
  }

  private warn(msg: string): void {
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.lastWarning = now;
    this.log?.warn({ room: this.room, ...this.stats() }, msg);
  }
}
