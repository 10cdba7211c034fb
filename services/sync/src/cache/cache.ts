// The sync server's copy of the datastore: every key's latest value (or tombstone) with its
// revision, a revision-ordered change log to answer "what changed after R" without a scan, and
// an index of endpoints by node. One cache per server serves every syncer type; views filter on
// the way out (src/view).
//
// Invariants
//   - `revision` is the highest KV revision applied; it only grows.
//   - An entry's revision is the revision of the write that produced it; a change with a revision
//     at or below the stored one is a replay (an ordered consumer restarting) and is ignored.
//   - Every entry with revision > `horizon`, tombstones included, is present: tombstones are only
//     dropped at or below the horizon (the datastore's compacted revision), so "changes after R"
//     is complete for every R >= horizon.
//   - The log holds (revision, key) for every applied change in revision order; a log item is
//     current when the entry's revision equals it, superseded otherwise. It is rebuilt from the
//     entries when superseded items outnumber current ones.
import { parseResourceKey, type StoredKind } from '../../../shared/nats/index.js';
import { NODE_SCOPED_KINDS, nodeOfResource } from '../view/index.js';

export interface CacheEntry {
  readonly key: string;
  readonly kind: StoredKind;
  readonly revision: number;
  /** The stored JSON bytes; undefined for a tombstone (deleted at `revision`). */
  readonly value: Buffer | undefined;
  /** For node-scoped kinds: spec.node of the live value; undefined otherwise and for tombstones. */
  readonly node: string | undefined;
}

/** One KV change as read from the stream. */
export interface RawChange {
  readonly key: string;
  readonly revision: number;
  /** Undefined for a delete or purge marker. */
  readonly value: Buffer | undefined;
  /** When the datastore committed it (the KV message's timestamp), µs since the epoch. */
  readonly commitTimeUnixMicros?: number;
  /** The W3C traceparent the write carried (a traced write), else undefined. */
  readonly traceparent?: string | undefined;
}

/**
 * An applied change with the entry it replaced (undefined when the key was unknown). The commit
 * time and trace context ride here, not in the entry: only the live fan-out sends them, so the
 * cache, its log and its LMDB copy stay as small as before.
 */
export interface Change {
  readonly entry: CacheEntry;
  readonly previous: CacheEntry | undefined;
  readonly commitTimeUnixMicros: number | undefined;
  readonly traceparent: string | undefined;
}

export class Cache {
  private readonly entries = new Map<string, CacheEntry>();
  private logRevisions: number[] = [];
  private logKeys: string[] = [];
  private logSorted = true;
  /** node → keys of live node-scoped entries owned by that node. */
  private readonly byNode = new Map<string, Set<string>>();
  /** node → revision of the last change to that node's endpoints (added, changed, removed). */
  private readonly nodeChanged = new Map<string, number>();
  private liveCount = 0;
  private _revision = 0;
  private _horizon = 0;
  /** Keys that are not resource keys (ignored), for diagnostics. */
  ignoredKeys = 0;

  get revision(): number {
    return this._revision;
  }

  /** Changes after a revision below this may have lost their tombstones: resume needs R >= horizon. */
  get horizon(): number {
    return this._horizon;
  }

  /** Entries including tombstones. */
  get size(): number {
    return this.entries.size;
  }

  get live(): number {
    return this.liveCount;
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  /** Applies changes in order; returns the ones that changed something. */
  apply(changes: readonly RawChange[]): Change[] {
    const out: Change[] = [];
    for (const c of changes) {
      const parsed = parseResourceKey(c.key);
      if (!parsed) {
        this.ignoredKeys++;
        if (c.revision > this._revision) this._revision = c.revision;
        continue;
      }
      const previous = this.entries.get(c.key);
      if (previous && previous.revision >= c.revision) continue;
      const node = c.value && NODE_SCOPED_KINDS.has(parsed.kind) ? nodeOfResource(c.value) : undefined;
      const entry: CacheEntry = { key: c.key, kind: parsed.kind, revision: c.revision, value: c.value, node };
      this.put(entry, previous);
      out.push({ entry, previous, commitTimeUnixMicros: c.commitTimeUnixMicros, traceparent: c.traceparent });
    }
    return out;
  }

  /** Loads entries (a warm start) into an empty cache. */
  load(entries: Iterable<CacheEntry>, revision: number, horizon: number): void {
    if (this.entries.size > 0) throw new Error('Cache.load needs an empty cache');
    for (const e of entries) this.put(e, undefined);
    this._revision = Math.max(this._revision, revision);
    this._horizon = horizon;
  }

  clear(): void {
    this.entries.clear();
    this.byNode.clear();
    this.nodeChanged.clear();
    this.logRevisions = [];
    this.logKeys = [];
    this.logSorted = true;
    this.liveCount = 0;
    this._revision = 0;
    this._horizon = 0;
  }

  /**
   * Raises the horizon (the datastore compacted its tombstones up to `revision`) and drops our
   * tombstones at or below it. Returns the dropped keys.
   */
  raiseHorizon(revision: number): string[] {
    if (revision <= this._horizon) return [];
    this._horizon = revision;
    const dropped: string[] = [];
    for (const [key, e] of this.entries) {
      if (e.value === undefined && e.revision <= revision) dropped.push(key);
    }
    for (const key of dropped) this.entries.delete(key);
    if (dropped.length > 0) this.maybeCompactLog();
    return dropped;
  }

  /** Every live entry (no tombstones), in no particular order. */
  *liveEntries(): IterableIterator<CacheEntry> {
    for (const e of this.entries.values()) if (e.value !== undefined) yield e;
  }

  /** Every entry including tombstones (for persistence). */
  allEntries(): IterableIterator<CacheEntry> {
    return this.entries.values();
  }

  /** The revision of the last change to `node`'s endpoints (0 when none was seen). */
  nodeRevision(node: string): number {
    return this.nodeChanged.get(node) ?? 0;
  }

  /** Live node-scoped entries owned by `node`. */
  *nodeEntries(node: string): IterableIterator<CacheEntry> {
    const keys = this.byNode.get(node);
    if (!keys) return;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e) yield e;
    }
  }

  /** The current entry of every key changed after `revision` (tombstones included), in revision order. */
  *changedSince(revision: number): IterableIterator<CacheEntry> {
    if (!this.logSorted) this.sortLog();
    const revs = this.logRevisions;
    let lo = 0;
    let hi = revs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (revs[mid]! <= revision) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < revs.length; i++) {
      const e = this.entries.get(this.logKeys[i]!);
      if (e && e.revision === revs[i]) yield e;
    }
  }

  private put(entry: CacheEntry, previous: CacheEntry | undefined): void {
    this.entries.set(entry.key, entry);
    if (previous?.value !== undefined) this.liveCount--;
    if (entry.value !== undefined) this.liveCount++;
    if (previous?.node !== undefined && previous.node !== entry.node) {
      const set = this.byNode.get(previous.node);
      set?.delete(entry.key);
      if (set?.size === 0) this.byNode.delete(previous.node);
    }
    // The highest revision, not the last put: a warm start loads entries in key order.
    if (previous?.node !== undefined) this.touchNode(previous.node, entry.revision);
    if (entry.node !== undefined) {
      this.touchNode(entry.node, entry.revision);
      let set = this.byNode.get(entry.node);
      if (!set) this.byNode.set(entry.node, (set = new Set()));
      set.add(entry.key);
    }
    const last = this.logRevisions[this.logRevisions.length - 1];
    if (last !== undefined && entry.revision < last) this.logSorted = false;
    this.logRevisions.push(entry.revision);
    this.logKeys.push(entry.key);
    if (entry.revision > this._revision) this._revision = entry.revision;
    this.maybeCompactLog();
  }

  private touchNode(node: string, revision: number): void {
    if (revision > (this.nodeChanged.get(node) ?? 0)) this.nodeChanged.set(node, revision);
  }

  private maybeCompactLog(): void {
    if (this.logRevisions.length <= 2 * this.entries.size + 1024) return;
    const current = [...this.entries.values()].sort((a, b) => a.revision - b.revision);
    this.logRevisions = current.map((e) => e.revision);
    this.logKeys = current.map((e) => e.key);
    this.logSorted = true;
  }

  private sortLog(): void {
    const order = this.logRevisions.map((_, i) => i).sort((a, b) => this.logRevisions[a]! - this.logRevisions[b]!);
    this.logRevisions = order.map((i) => this.logRevisions[i]!);
    this.logKeys = order.map((i) => this.logKeys[i]!);
    this.logSorted = true;
  }
}
