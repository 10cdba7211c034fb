// Where the sync server finds its streams: every open one, the live ones by syncer and by node
// (what the fan-out walks), those waiting for the cache to reach their resume revision, who opened
// each (its TLS caller), and the one stream a node or reflector identity may hold (authorize.ts).
// The server decides what happens to a stream; this only keeps the sets consistent as streams
// open, go live and close.
import type { Caller } from '../../../shared/tls/index.js';
import { SYNCER_TYPES, type SyncerType } from '../view/index.js';
import type { ClientStream } from './client-stream.js';

export class StreamIndex {
  /** Every stream not closed yet, accepted or not. */
  readonly open = new Set<ClientStream>();
  readonly live: Record<SyncerType, Set<ClientStream>> = { agent: new Set(), bgp: new Set() };
  readonly liveByNode: Record<SyncerType, Map<string, Set<ClientStream>>> = { agent: new Map(), bgp: new Map() };
  /** Accepted streams resuming from a revision the cache has not reached yet. */
  readonly waiting = new Set<ClientStream>();
  /** Accepted streams not closed yet (the connection count the server's limit applies to). */
  accepted = 0;
  private readonly callers = new WeakMap<ClientStream, Caller>();
  private readonly exclusive = new Map<string, ClientStream>();
  private readonly exclusiveKeys = new WeakMap<ClientStream, string>();

  add(stream: ClientStream, caller: Caller): void {
    this.open.add(stream);
    this.callers.set(stream, caller);
  }

  caller(stream: ClientStream): Caller {
    return this.callers.get(stream) ?? { kind: 'insecure' };
  }

  /** The stream that holds identity KEY, if any. */
  holder(key: string): ClientStream | undefined {
    return this.exclusive.get(key);
  }

  /** STREAM is now the one stream of identity KEY. */
  claim(stream: ClientStream, key: string): void {
    this.exclusive.set(key, stream);
    this.exclusiveKeys.set(stream, key);
  }

  goLive(stream: ClientStream): void {
    const { syncer, node } = stream.hello!;
    this.live[syncer].add(stream);
    let set = this.liveByNode[syncer].get(node);
    if (!set) this.liveByNode[syncer].set(node, (set = new Set()));
    set.add(stream);
  }

  *liveStreams(): IterableIterator<ClientStream> {
    for (const syncer of SYNCER_TYPES) yield* this.live[syncer];
  }

  /** Forgets a closed stream; true when it had been accepted (counted in `accepted` until now). */
  remove(stream: ClientStream): boolean {
    this.open.delete(stream);
    this.waiting.delete(stream);
    const key = this.exclusiveKeys.get(stream);
    if (key !== undefined && this.exclusive.get(key) === stream) this.exclusive.delete(key);
    if (!stream.accepted || !stream.hello) return false;
    const { syncer, node } = stream.hello;
    this.accepted--;
    this.live[syncer].delete(stream);
    const set = this.liveByNode[syncer].get(node);
    set?.delete(stream);
    if (set?.size === 0) this.liveByNode[syncer].delete(node);
    return true;
  }
}
