// LMDB copy of the cache, so a restarted server starts warm: it loads the entries and the
// revision they are at, then watches the KV from that revision instead of reading everything.
// Writes go through lmdb-js's asynchronous batches (one transaction per event-loop turn, off the
// fan-out path); each applied batch and its revision land in the same transaction, so what is on
// disk is always the cache at some revision.
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StoredKind } from '../../../shared/nats/index.js';
import type { CacheEntry, Change } from './cache.js';

/** On disk: [revision, value or null, kind, node or null]. */
type StoredEntry = [number, Buffer | null, StoredKind, string | null];

const META_REVISION = 'revision';
const META_HORIZON = 'horizon';
const META_DATASTORE = 'datastoreId';

export interface PersistedCache {
  revision: number;
  horizon: number;
  datastoreId: string;
  entries: CacheEntry[];
}

export class CachePersistence {
  private constructor(
    private readonly root: RootDatabase,
    private readonly entries: Database<StoredEntry, string>,
    private readonly meta: Database<number | string, string>,
  ) {}

  static open(path: string): CachePersistence {
    const root = open({ path, compression: false });
    return new CachePersistence(
      root,
      root.openDB<StoredEntry, string>({ name: 'entries' }),
      root.openDB<number | string, string>({ name: 'meta' }),
    );
  }

  /** What the last run left, or undefined when nothing (or something unreadable) is there. */
  load(): PersistedCache | undefined {
    const revision = this.meta.get(META_REVISION);
    const horizon = this.meta.get(META_HORIZON);
    const datastoreId = this.meta.get(META_DATASTORE);
    if (typeof revision !== 'number' || typeof horizon !== 'number' || typeof datastoreId !== 'string')
      return undefined;
    const entries: CacheEntry[] = [];
    for (const { key, value } of this.entries.getRange()) {
      const [rev, v, kind, node] = value;
      entries.push({ key, kind, revision: rev, value: v ?? undefined, node: node ?? undefined });
    }
    return { revision, horizon, datastoreId, entries };
  }

  /** Replaces everything (after a cold start). */
  replaceAll(entries: Iterable<CacheEntry>, revision: number, horizon: number, datastoreId: string): Promise<unknown> {
    const list = [...entries];
    return this.root.transaction(() => {
      this.entries.clearSync();
      for (const e of list) this.entries.putSync(e.key, toStored(e));
      this.meta.putSync(META_REVISION, revision);
      this.meta.putSync(META_HORIZON, horizon);
      this.meta.putSync(META_DATASTORE, datastoreId);
    });
  }

  /** Records one applied batch and the revision it brought the cache to. */
  saveBatch(changes: readonly Change[], revision: number): void {
    void this.root.transaction(() => {
      for (const { entry } of changes) this.entries.putSync(entry.key, toStored(entry));
      this.meta.putSync(META_REVISION, revision);
    });
  }

  /** Records a raised horizon and the tombstones it dropped. */
  saveHorizon(horizon: number, dropped: readonly string[]): void {
    void this.root.transaction(() => {
      for (const key of dropped) this.entries.removeSync(key);
      this.meta.putSync(META_HORIZON, horizon);
    });
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}

function toStored(e: CacheEntry): StoredEntry {
  return [e.revision, e.value ?? null, e.kind, e.node ?? null];
}
