// Bringing a cache that may have missed deletions back to the datastore's state, as ordinary
// changes. A server that fell behind tombstone compaction (frozen, partitioned, its watch stuck)
// may hold entries whose deletions were purged before it read them; no change will ever correct
// them. A fresh read of the KV (the last message of every key) is the truth; the difference
// becomes changes that the fan-out sends to live clients like any other.
//
// (Rejected: ending every stream so that clients take a snapshot: a full snapshot to every client
// of the server for what is usually a handful of keys, and clients that resume on another server
// instead would keep the stale entries. Rejected: a live SyncSnapshotChunk(replace) on open
// streams: a new message order that older clients refuse.)
import type { Cache, RawChange } from './cache.js';

export interface Reconciliation {
  /** Changes to apply, in revision order: newer values, and deletions of keys the KV no longer has. */
  changes: RawChange[];
  /** How many of them delete a key whose tombstone was purged before we saw it. */
  purgedDeletions: number;
  /** The revision the deletions of purged keys are stamped with (the read's revision). */
  revision: number;
}

/**
 * `truth`: the last message of every key as read now (tombstones that still exist included);
 * `readRevision`: the stream's last sequence when that read started. A live entry whose key is
 * absent from the truth was deleted and its tombstone purged: it gets a deletion at the read's
 * revision (no real revision is known; every later write has a higher one).
 */
export function reconcile(cache: Cache, truth: ReadonlyMap<string, RawChange>, readRevision: number): Reconciliation {
  let revision = Math.max(cache.revision, readRevision);
  for (const c of truth.values()) if (c.revision > revision) revision = c.revision;
  const changes: RawChange[] = [];
  for (const c of truth.values()) {
    const have = cache.get(c.key);
    if (!have || have.revision < c.revision) changes.push(c);
  }
  let purgedDeletions = 0;
  for (const e of cache.liveEntries()) {
    if (truth.has(e.key) || e.revision >= revision) continue;
    changes.push({ key: e.key, revision, value: undefined });
    purgedDeletions++;
  }
  changes.sort((a, b) => a.revision - b.revision);
  return { changes, purgedDeletions, revision };
}
