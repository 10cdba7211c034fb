// The agent's copy of its view: key → (revision, JSON bytes), the revision it is complete up to,
// the datastore that revision belongs to, and a content hash kept current with every change.
// With a state directory it lives in LMDB too, so a restarted agent resumes from its revision
// instead of taking a snapshot; each commit (its entries and its revision) is one LMDB
// transaction, so what is on disk is always the view at some revision.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { parseResourceKey, type StoredKind } from '../../../shared/nats/index.js';
import { ContentHash } from './content-hash.js';

export interface StateEntry {
  readonly revision: number;
  readonly value: Buffer;
}

/** One net change to the state, as handed to the agent's consumers. */
export interface AgentUpdate {
  readonly key: string;
  readonly kind: StoredKind;
  /** Empty for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  /** The revision of the write (or deletion). */
  readonly revision: number;
  /** The resource's Calico v3 JSON bytes; undefined when deleted. */
  readonly value: Buffer | undefined;
  /** Live changes only: when the datastore committed it, µs since the epoch (its clock). */
  readonly commitTimeUnixMicros?: number;
  /** Live changes only, when traced: the W3C traceparent a consumer's spans continue. */
  readonly traceparent?: string;
}

/** An update as received: key, revision, bytes, deleted (and, on live deltas, commit time and trace). */
export interface IncomingUpdate {
  readonly key: string;
  readonly revision: number;
  readonly value: Buffer;
  readonly deleted: boolean;
  readonly commitTimeUnixMicros?: number;
  readonly traceparent?: string;
}

type Stored = [number, Buffer];

const META_REVISION = 'revision';
const META_DATASTORE = 'datastoreId';
const META_IDENTITY = 'identity';

export class AgentState {
  private readonly entries = new Map<string, StateEntry>();
  private readonly hash = new ContentHash();
  private _revision = 0;
  private _datastoreId = '';
  private lastPersistedRevision = 0;

  private constructor(
    private readonly root: RootDatabase | undefined,
    private readonly db: Database<Stored, string> | undefined,
    private readonly meta: Database<number | string, string> | undefined,
  ) {}

  /**
   * Opens the state for (node, syncer): from LMDB under `dir` when given (discarding it when it
   * was written for another node or syncer type), else empty and in memory.
   */
  static open(dir: string | undefined, node: string, syncer: string): AgentState {
    if (!dir) return new AgentState(undefined, undefined, undefined);
    mkdirSync(dir, { recursive: true });
    const root = open({ path: join(dir, `${syncer}-state.mdb`), compression: false });
    const state = new AgentState(
      root,
      root.openDB<Stored, string>({ name: 'entries' }),
      root.openDB<number | string, string>({ name: 'meta' }),
    );
    const identity = `${node}/${syncer}`;
    if (state.meta!.get(META_IDENTITY) !== identity) {
      root.transactionSync(() => {
        state.db!.clearSync();
        state.meta!.clearSync();
        state.meta!.putSync(META_IDENTITY, identity);
      });
      return state;
    }
    for (const { key, value } of state.db!.getRange()) {
      const [revision, bytes] = value;
      state.entries.set(key, { revision, value: bytes });
      state.hash.toggle(key, bytes);
    }
    const rev = state.meta!.get(META_REVISION);
    const ds = state.meta!.get(META_DATASTORE);
    state._revision = typeof rev === 'number' ? rev : 0;
    state._datastoreId = typeof ds === 'string' ? ds : '';
    state.lastPersistedRevision = state._revision;
    return state;
  }

  get revision(): number {
    return this._revision;
  }

  get datastoreId(): string {
    return this._datastoreId;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Hex content hash of the entries (see content-hash.ts). */
  get contentHash(): string {
    return this.hash.hex();
  }

  get(key: string): StateEntry | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  entriesIterator(): IterableIterator<[string, StateEntry]> {
    return this.entries.entries();
  }

  /**
   * Applies one commit and returns the net changes. With `replace`, the updates are the whole
   * new state: keys held before and absent now are deleted. Equal bytes are no change.
   */
  commit(updates: readonly IncomingUpdate[], revision: number, replace: boolean, datastoreId: string): AgentUpdate[] {
    const changes: AgentUpdate[] = [];
    const touched = new Map<string, StateEntry | undefined>();
    const set = (key: string, next: StateEntry | undefined, revisionOfChange: number, from?: IncomingUpdate) => {
      const prev = this.entries.get(key);
      if (prev) this.hash.toggle(key, prev.value);
      if (next) {
        this.entries.set(key, next);
        this.hash.toggle(key, next.value);
      } else this.entries.delete(key);
      touched.set(key, next);
      const parsed = parseResourceKey(key);
      if (parsed && !(prev && next && prev.value.equals(next.value))) {
        changes.push({
          key,
          kind: parsed.kind,
          namespace: parsed.namespace,
          name: parsed.name,
          revision: revisionOfChange,
          value: next?.value,
          commitTimeUnixMicros: from?.commitTimeUnixMicros || undefined,
          traceparent: from?.traceparent || undefined,
        });
      }
    };
    if (replace) {
      const incoming = new Map<string, IncomingUpdate>();
      for (const u of updates) incoming.set(u.key, u);
      for (const key of [...this.entries.keys()]) {
        const u = incoming.get(key);
        if (!u || u.deleted) set(key, undefined, revision);
      }
      for (const u of incoming.values())
        if (!u.deleted) set(u.key, { revision: u.revision, value: u.value }, u.revision);
    } else {
      for (const u of updates) {
        if (u.deleted) {
          if (this.entries.has(u.key)) set(u.key, undefined, u.revision, u);
        } else set(u.key, { revision: u.revision, value: u.value }, u.revision, u);
      }
    }
    this._revision = revision;
    this._datastoreId = datastoreId;
    this.persist(touched, replace);
    return changes;
  }

  /** Advances the revision without changes (a bookmark); persisted with the next commit or on close. */
  bookmark(revision: number): void {
    if (revision > this._revision) this._revision = revision;
  }

  private persist(touched: Map<string, StateEntry | undefined>, replace: boolean): void {
    if (!this.root) return;
    const revision = this._revision;
    const datastoreId = this._datastoreId;
    const all = replace ? [...this.entries] : undefined;
    void this.root.transaction(() => {
      if (all) {
        this.db!.clearSync();
        for (const [k, e] of all) this.db!.putSync(k, [e.revision, e.value]);
      } else {
        for (const [k, e] of touched) {
          if (e) this.db!.putSync(k, [e.revision, e.value]);
          else this.db!.removeSync(k);
        }
      }
      this.meta!.putSync(META_REVISION, revision);
      this.meta!.putSync(META_DATASTORE, datastoreId);
    });
    this.lastPersistedRevision = revision;
  }

  /** Writes a bookmarked revision not yet on disk. */
  flushRevision(): void {
    if (!this.root || this._revision === this.lastPersistedRevision) return;
    const revision = this._revision;
    // A transaction, like the commits, so the writes land in the order they were made.
    void this.root.transaction(() => this.meta!.putSync(META_REVISION, revision));
    this.lastPersistedRevision = revision;
  }

  async close(): Promise<void> {
    if (!this.root) return;
    this.flushRevision();
    await this.root.flushed;
    await this.root.close();
  }
}
