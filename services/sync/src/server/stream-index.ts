// Where the sync server finds its streams: every open one, the live ones by syncer and by node
// (what the fan-out walks), those waiting for the cache to reach their resume revision, who opened
// each (its TLS caller), and the one stream a node or reflector identity may hold (authorize.ts).
// The server decides what happens to a stream; this only keeps the sets consistent as streams
// open, go live and close.
import type { Caller } from '../../../shared/tls/index.js';
import type { SyncCompression } from '../../../../proto/gen/meshless/v1/sync.js';
import type { ValidHello } from '../protocol/index.js';
import { SYNCER_TYPES, type SyncerType } from '../view/index.js';

/** What the index needs of a stream: a local ClientStream, or a worker's stream seen from the main process. */
export interface IndexedStream {
  readonly hello: ValidHello | undefined;
  readonly accepted: boolean;
}

export class StreamIndex<ClientStream extends IndexedStream> {
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
  /** Live streams per syncer type and compression: which encodings a fan-out needs. */
  private readonly compressionCounts: Record<SyncerType, Map<SyncCompression, number>> = {
    agent: new Map(),
    bgp: new Map(),
  };

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
    const { syncer, node, compression } = stream.hello!;
    if (this.live[syncer].has(stream)) return;
    this.live[syncer].add(stream);
    const counts = this.compressionCounts[syncer];
    counts.set(compression, (counts.get(compression) ?? 0) + 1);
    let set = this.liveByNode[syncer].get(node);
    if (!set) this.liveByNode[syncer].set(node, (set = new Set()));
    set.add(stream);
  }

  /** The compressions live streams of SYNCER negotiated. */
  compressions(syncer: SyncerType): SyncCompression[] {
    return [...this.compressionCounts[syncer].keys()];
  }

  *liveStreams(): IterableIterator<ClientStream> {
    for (const syncer of SYNCER_TYPES) yield* this.live[syncer];
  }

  /** Forgets a closed stream; true when it had been accepted (counted in `accepted` until now). */
  remove(stream: ClientStream): boolean {
    if (!this.open.delete(stream)) return false;
    this.waiting.delete(stream);
    const key = this.exclusiveKeys.get(stream);
    if (key !== undefined && this.exclusive.get(key) === stream) this.exclusive.delete(key);
    if (!stream.accepted || !stream.hello) return false;
    const { syncer, node } = stream.hello;
    this.accepted--;
    if (this.live[syncer].delete(stream)) {
      const counts = this.compressionCounts[syncer];
      const n = (counts.get(stream.hello.compression) ?? 1) - 1;
      if (n > 0) counts.set(stream.hello.compression, n);
      else counts.delete(stream.hello.compression);
    }
    const set = this.liveByNode[syncer].get(node);
    set?.delete(stream);
    if (set?.size === 0) this.liveByNode[syncer].delete(node);
    return true;
  }
}
