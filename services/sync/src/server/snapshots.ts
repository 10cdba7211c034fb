// Snapshots built once and shared (Typha's snap_precalc, one step further).
//
// A client's snapshot is its view: the part every client of the syncer type shares (nodes,
// pools, blocks, policies: almost all of the bytes) and the part of its own node (its
// endpoints: a few entries). The shared part is built and compressed once per (syncer type,
// compression) and reused by every client that connects within `windowMs`, whatever its node,
// and for as long as the cache stays at its revision; the node part is built per (syncer type,
// node, compression) and reused while that node's endpoints are unchanged (dropped once unused
// for the window). Reusing a shared part built at revision S when the
// cache has moved on to H is correct because the client then also receives the shared-scope
// changes in (S, H] (`catchUp`, encoded once per (snapshot, H)) before InSync(H): updates are
// idempotent upserts and deletions, so the result is the view at H. That needs the tombstones
// after S, so a shared part older than the cache's horizon is never reused.
//
// Rejected: one snapshot per (syncer type, node) view as the unit of sharing. With one agent
// per node it is never shared at all, and 1,000 agents reconnecting would build 1,000 copies of
// the same bytes.
import { SyncCompression, type SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import type { Cache, CacheEntry } from '../cache/index.js';
import { encodeFrame, updateBlock, updateBlockAsync, updateSize } from '../protocol/index.js';
import { scopeOf, type SyncerType } from '../view/index.js';

const EMPTY = Buffer.alloc(0);

export function toUpdate(e: CacheEntry): SyncUpdate {
  return {
    key: e.key,
    revision: e.revision,
    value: e.value ?? EMPTY,
    deleted: e.value === undefined,
    traceparent: '',
    commitTimeUnixMicros: 0,
  };
}

export function deletion(key: string, revision: number): SyncUpdate {
  return { key, revision, value: EMPTY, deleted: true, traceparent: '', commitTimeUnixMicros: 0 };
}

export interface SharedSnapshot {
  readonly revision: number;
  readonly builtAt: number;
  /** Encoded SyncResponse{snapshot}; the first has replace=true. */
  readonly messages: readonly Buffer[];
  readonly rawBytes: number;
  readonly wireBytes: number;
  catchUp?: { to: number; messages: Buffer[] };
}

export interface SnapshotOptions {
  windowMs: number;
  /** Target size of one chunk's updates before compression. */
  chunkBytes: number;
  /** Deltas smaller than this stay uncompressed. */
  compressMinBytes: number;
}

export interface SnapshotObserver {
  built(syncer: SyncerType, compression: SyncCompression, rawBytes: number, wireBytes: number): void;
  reused(syncer: SyncerType): void;
}

interface NodePart {
  /** When it was built or last reused. */
  usedAt: number;
  datastoreId: string;
  /** cache.nodeRevision(node) when built. */
  nodeRevision: number;
  messages: Buffer[];
}

/** Splits updates into chunks of about `chunkBytes`. */
export function chunk(updates: SyncUpdate[], chunkBytes: number): SyncUpdate[][] {
  const out: SyncUpdate[][] = [];
  let current: SyncUpdate[] = [];
  let size = 0;
  for (const u of updates) {
    current.push(u);
    size += updateSize(u);
    if (size >= chunkBytes) {
      out.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Encodes updates as SyncDeltas messages (revision 0: not a commit point) of about chunkBytes each. */
export function deltaMessages(
  updates: SyncUpdate[],
  compression: SyncCompression,
  options: Pick<SnapshotOptions, 'chunkBytes' | 'compressMinBytes'>,
): Buffer[] {
  return chunk(updates, options.chunkBytes).map((c) =>
    encodeFrame({
      message: {
        $case: 'deltas',
        value: { block: updateBlock(c, compression, options.compressMinBytes).block, revision: 0 },
      },
    }),
  );
}

export class SnapshotCache {
  private readonly shared = new Map<
    string,
    { revision: number; datastoreId: string; snapshot: Promise<SharedSnapshot> }
  >();
  private readonly nodeParts = new Map<string, NodePart>();
  private lastSweep = Date.now();

  constructor(
    private readonly cache: Cache,
    private readonly options: SnapshotOptions,
    private readonly observer: SnapshotObserver,
    /** The datastore incarnation the cache follows: parts of another one are never reused. */
    private readonly datastoreId: () => string = () => '',
  ) {}

  /**
   * The shared part of `syncer`'s view: built now, or reused when built within the window, or at
   * any age while the cache is still at its revision (its catch-up is empty: a cold start of
   * thousands of agents spread over longer than the window builds it once, not once a window).
   */
  sharedPart(syncer: SyncerType, compression: SyncCompression): Promise<SharedSnapshot> {
    const key = `${syncer}/${compression}`;
    const existing = this.shared.get(key);
    // Reusable only while its catch-up is complete: tombstones after its revision still exist.
    if (
      existing &&
      existing.datastoreId === this.datastoreId() &&
      existing.revision >= Math.min(this.cache.horizon, this.cache.revision)
    ) {
      this.observer.reused(syncer);
      return existing.snapshot;
    }
    const build = {
      revision: this.cache.revision,
      datastoreId: this.datastoreId(),
      snapshot: this.buildShared(syncer, compression),
    };
    this.shared.set(key, build);
    const expire = () => {
      if (this.shared.get(key) !== build) return;
      if (this.cache.revision === build.revision && this.datastoreId() === build.datastoreId)
        setTimeout(expire, this.options.windowMs).unref();
      else this.shared.delete(key);
    };
    build.snapshot.then(
      () => setTimeout(expire, this.options.windowMs).unref(),
      () => this.shared.delete(key),
    );
    return build.snapshot;
  }

  /**
   * The node part of the view, as encoded snapshot chunks (replace=false): reused while the
   * node's endpoints are unchanged, dropped once unused for the window.
   */
  nodePart(syncer: SyncerType, node: string, compression: SyncCompression): Buffer[] {
    const now = Date.now();
    if (now - this.lastSweep > this.options.windowMs) this.sweep(now);
    const key = `${syncer}/${compression}/${node}`;
    const nodeRevision = this.cache.nodeRevision(node);
    const hit = this.nodeParts.get(key);
    if (hit && hit.nodeRevision === nodeRevision && hit.datastoreId === this.datastoreId()) {
      hit.usedAt = now;
      this.observer.reused(syncer);
      return hit.messages;
    }
    const updates: SyncUpdate[] = [];
    for (const e of this.cache.nodeEntries(node)) if (scopeOf(syncer, e.kind) === 'node') updates.push(toUpdate(e));
    const messages = chunk(updates, this.options.chunkBytes).map((c) => {
      const { block } = updateBlock(c, compression, this.options.compressMinBytes);
      return encodeFrame({ message: { $case: 'snapshot', value: { replace: false, block } } });
    });
    this.nodeParts.set(key, { usedAt: now, nodeRevision, datastoreId: this.datastoreId(), messages });
    return messages;
  }

  /** The shared-scope changes in (snapshot.revision, head], encoded once per head. */
  catchUp(syncer: SyncerType, compression: SyncCompression, snapshot: SharedSnapshot, head: number): Buffer[] {
    if (head <= snapshot.revision) return [];
    if (snapshot.catchUp?.to === head) return snapshot.catchUp.messages;
    const updates: SyncUpdate[] = [];
    for (const e of this.cache.changedSince(snapshot.revision))
      if (scopeOf(syncer, e.kind) === 'all') updates.push(toUpdate(e));
    const messages = deltaMessages(updates, compression, this.options);
    snapshot.catchUp = { to: head, messages };
    return messages;
  }

  private async buildShared(syncer: SyncerType, compression: SyncCompression): Promise<SharedSnapshot> {
    const revision = this.cache.revision;
    const builtAt = Date.now();
    const updates: SyncUpdate[] = [];
    for (const e of this.cache.liveEntries()) if (scopeOf(syncer, e.kind) === 'all') updates.push(toUpdate(e));
    const chunks = chunk(updates, this.options.chunkBytes);
    if (chunks.length === 0) chunks.push([]);
    const blocks = await Promise.all(chunks.map((c) => updateBlockAsync(c, compression)));
    let rawBytes = 0;
    let wireBytes = 0;
    const messages = blocks.map(({ block, rawBytes: raw }, i) => {
      const m = encodeFrame({ message: { $case: 'snapshot', value: { replace: i === 0, block } } });
      wireBytes += m.byteLength;
      rawBytes += raw ?? m.byteLength;
      return m;
    });
    this.observer.built(syncer, compression, rawBytes, wireBytes);
    return { revision, builtAt, messages, rawBytes, wireBytes };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, v] of this.nodeParts) if (now - v.usedAt >= this.options.windowMs) this.nodeParts.delete(k);
  }
}
