// Snapshots built once and shared (Typha's snap_precalc, one step further).
//
// A client's snapshot is its view: the part every client of the syncer type shares (nodes,
// pools, blocks, policies: almost all of the bytes) and the part of its own node (its
// endpoints: a few entries). The shared part is built and compressed once per (syncer type,
// compression) and reused by every client that connects within `windowMs`, whatever its node,
// and for as long as the cache stays at its revision; the node part is built per (syncer type,
// node, compression) and reused for as long as that node's endpoints are unchanged, whatever its
// age (a cold start spread over longer than the window once rebuilt, and re-compressed, a
// node's part for nearly every agent; parts of changed nodes are swept once a window, the rest
// are bounded by NODE_PARTS_MAX_BYTES, least recently used first). Reusing a shared part built at revision S when the
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
import { hasNodeScope, inView, scopeOf, type SyncerType } from '../view/index.js';

const EMPTY = Buffer.alloc(0);

/**
 * Bytes of encoded node parts kept for reuse (least recently used dropped first): a few KB per
 * node, so 10,000 nodes fit many times over.
 */
export const NODE_PARTS_MAX_BYTES = 64 * 2 ** 20;

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
  node: string;
  datastoreId: string;
  /** cache.nodeRevision(node) when built. */
  nodeRevision: number;
  messages: Buffer[];
  bytes: number;
}

/**
 * The node-scoped part of a resume from `from`: the node's entries changed after it, and a
 * deletion for each key the client holds that is no longer in its view (DESIGN.md, "Revisions
 * and resume"). Most resumes (a failover) come from a revision after their node's last change
 * and skip the scan.
 */
export function nodeChangesSince(
  cache: Cache,
  syncer: SyncerType,
  node: string,
  from: number,
  heldKeys: readonly string[],
): SyncUpdate[] {
  const updates: SyncUpdate[] = [];
  if (!hasNodeScope(syncer)) return updates;
  if (cache.nodeRevision(node) > from)
    for (const e of cache.nodeEntries(node))
      if (e.revision > from && scopeOf(syncer, e.kind) === 'node') updates.push(toUpdate(e));
  for (const key of heldKeys) {
    const e = cache.get(key);
    if (!e || e.value === undefined || !inView(syncer, node, e.kind, e.node))
      updates.push(deletion(key, e?.revision ?? cache.revision));
  }
  return updates;
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
  /** In order of last use (a Map iterates in insertion order; a reuse moves the part to the end). */
  private readonly nodeParts = new Map<string, NodePart>();
  private nodePartBytes = 0;
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
   * node's endpoints are unchanged.
   */
  nodePart(syncer: SyncerType, node: string, compression: SyncCompression): Buffer[] {
    const now = Date.now();
    if (now - this.lastSweep > this.options.windowMs) this.sweep(now);
    const key = `${syncer}/${compression}/${node}`;
    const nodeRevision = this.cache.nodeRevision(node);
    const hit = this.nodeParts.get(key);
    if (hit) {
      this.nodeParts.delete(key);
      if (hit.nodeRevision === nodeRevision && hit.datastoreId === this.datastoreId()) {
        this.nodeParts.set(key, hit);
        this.observer.reused(syncer);
        return hit.messages;
      }
      this.nodePartBytes -= hit.bytes;
    }
    const updates: SyncUpdate[] = [];
    for (const e of this.cache.nodeEntries(node)) if (scopeOf(syncer, e.kind) === 'node') updates.push(toUpdate(e));
    let bytes = 0;
    const messages = chunk(updates, this.options.chunkBytes).map((c) => {
      const { block } = updateBlock(c, compression, this.options.compressMinBytes);
      const frame = encodeFrame({ message: { $case: 'snapshot', value: { replace: false, block } } });
      bytes += frame.byteLength;
      return frame;
    });
    this.nodeParts.set(key, { node, nodeRevision, datastoreId: this.datastoreId(), messages, bytes });
    this.nodePartBytes += bytes;
    for (const [k, part] of this.nodeParts) {
      if (this.nodePartBytes <= NODE_PARTS_MAX_BYTES) break;
      this.nodeParts.delete(k);
      this.nodePartBytes -= part.bytes;
    }
    return messages;
  }

  /** Node parts held for reuse (for tests and stats). */
  get nodePartsHeld(): { parts: number; bytes: number } {
    return { parts: this.nodeParts.size, bytes: this.nodePartBytes };
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

  /** Drops the parts no request can reuse: their node changed, or the datastore did. */
  private sweep(now: number): void {
    this.lastSweep = now;
    const datastoreId = this.datastoreId();
    for (const [k, v] of this.nodeParts) {
      if (v.nodeRevision === this.cache.nodeRevision(v.node) && v.datastoreId === datastoreId) continue;
      this.nodeParts.delete(k);
      this.nodePartBytes -= v.bytes;
    }
  }
}
