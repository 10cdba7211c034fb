// Resources in the JetStream KV bucket RESOURCES_BUCKET, one key per resource
// (resourceKey(kind, namespace, name)), the value the resource's JSON document.
//
// Invariants
// - The stored document never holds metadata.resourceVersion: a resource's revision is the KV
//   revision of its key (the stream sequence, one global counter) and is added on the way out.
// - metadata.uid and metadata.creationTimestamp are set here on create and carried over on every
//   update, whatever the caller sent.
// - Every write is a compare-and-set on the key's last revision (JetStream's
//   expected-last-subject-sequence), so a write never overwrites one it did not see. Callers
//   that asked for no particular revision get a bounded retry instead of ABORTED.
// - Every JetStream request is retried on a transient failure within KEY_OP_BUDGET; a write
//   carries a message id (JetStream de-duplication), so a retried publish whose first attempt
//   was stored is acknowledged with the first attempt's revision instead of being stored twice.
// - Reads go to the stream leader (see buckets.ts), and an answer below what this process already
//   acknowledged or read (per key; for a List or a Watch's in-sync mark, the stream) is refused and
//   asked again (shared/nats read-floor.ts): a freshly elected leader can answer before applying writes the
//   old one acknowledged. A read after an acknowledged write sees it.
// - A deletion is a KV delete marker, whose revision is the deletion's revision; markers are the
//   tombstones the compactor purges after the retention window (see compactor.ts).
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, Empty, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { PubHeaders, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from '../../../shared/errors/index.js';
import {
  KV_OPERATION_HEADER,
  META_COMPACTED_REVISION,
  META_HEALTH_PROBE,
  RESOURCES_BUCKET,
  kindPrefix,
  lastRevision,
  openCursor,
  parseResourceKey,
  ReadFloor,
  reportRefusals,
  resourceKey,
  scan,
  subjectPrefix,
  type RawEntry,
  type StoredKind,
} from '../../../shared/nats/index.js';
import { canonicalJson } from '../../../shared/resources/index.js';
import { asServiceError, isWrongLastSequence, withRetry } from './nats-errors.js';
import { openBuckets } from './buckets.js';
import { injectTraceparent, TRACEPARENT } from '../../../shared/tracing/index.js';

/** A resource document as the store handles it: Calico v3 shape, already validated. */
export interface ResourceDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface StoredResource {
  readonly kind: StoredKind;
  /** Empty for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  /** KV revision of the resource's last write. */
  readonly revision: number;
  /** The stored document (without metadata.resourceVersion). */
  readonly document: ResourceDocument;
}

export type StoreEvent =
  | { readonly type: 'put'; readonly resource: StoredResource }
  | {
      readonly type: 'delete';
      readonly kind: StoredKind;
      readonly namespace: string;
      readonly name: string;
      readonly revision: number;
    }
  | { readonly type: 'snapshot-begin'; readonly compactedRevision: number }
  | { readonly type: 'in-sync'; readonly revision: number; readonly compactedRevision: number };

/** How many times a write with no expected revision re-reads and retries after losing a race. */
const UNCONDITIONAL_RETRIES = 8;
/** Bytes kept free under the NATS max payload for the message headers. */
const HEADER_ROOM = 1024;

export interface StoreOptions {
  log: Logger;
  /** Largest stored document in bytes; default: what NATS accepts in one message. */
  maxDocumentBytes?: number;
  /** Replicas of each bucket; 0 or absent = automatic (3 on a NATS cluster of 3 or more, else 1). */
  replicas?: number;
}

export class ResourceStore {
  readonly maxDocumentBytes: number;
  /** Replicas the buckets were reconciled to at open. */
  replicas = 1;
  /** What this process acknowledged or read: the floor of every later answer (shared/nats read-floor.ts). */
  readonly floor = new ReadFloor();
  private readonly prefix = subjectPrefix(RESOURCES_BUCKET);

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly meta: KV,
    private readonly log: Logger,
    maxDocumentBytes: number,
  ) {
    this.maxDocumentBytes = maxDocumentBytes;
  }

  /** Binds the buckets, creating them when absent (history 1: superseded values are dropped). */
  static async open(nc: NatsConnection, options: StoreOptions): Promise<ResourceStore> {
    const { js, jsm, kv, meta, replicas } = await openBuckets(nc, {
      replicas: options.replicas ?? 0,
      log: options.log,
    });
    const natsMax = (nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM;
    const max = Math.min(options.maxDocumentBytes ?? natsMax, natsMax);
    const store = new ResourceStore(js, jsm, kv, meta, options.log, max);
    store.replicas = replicas;
    reportRefusals(store.floor, nc, jsm, `KV_${RESOURCES_BUCKET}`, options.log);
    options.log.info({ replicas }, 'datastore buckets open');
    return store;
  }

  // ------------------------------------------------------------------ reads

  async get(kind: StoredKind, namespace: string, name: string): Promise<StoredResource | undefined> {
    try {
      const e = await this.rawGet(resourceKey(kind, namespace, name));
      if (!e || e.operation !== 'PUT') return undefined;
      return this.decode(kind, namespace, name, e.revision, e.value);
    } catch (err) {
      throw asServiceError(err, `get ${kind} '${name}'`);
    }
  }

  /** Every resource of a kind (in one namespace when given), sorted by namespace and name. */
  async list(kind: StoredKind, namespace?: string): Promise<{ items: StoredResource[]; revision: number }> {
    try {
      const floor = this.floor.stream;
      const { entries, revision } = await withRetry(async () => {
        const read = await scan(this.js, this.jsm, RESOURCES_BUCKET, kindPrefix(kind, namespace || undefined));
        this.floor.check(`list ${kind}`, read.revision, floor);
        // A key's floor at or below the stream's floor at the start was a revision before the
        // scan began: the scan must list the key at least there (later floors are concurrent writes).
        for (const e of read.entries) {
          const keyFloor = this.floor.of(e.key);
          if (keyFloor <= floor) this.floor.check(`list ${kind}: ${e.key}`, e.revision, keyFloor);
        }
        // Keys written or read here before the scan began that it lacks entirely (no tombstone).
        const prefix = kindPrefix(kind, namespace || undefined).slice(0, -1);
        const missing = this.floor.missing(prefix, new Set(read.entries.map((e) => e.key)), floor);
        if (missing.length > 0) {
          const compacted = await this.compactedRevision();
          for (const [key, revision] of missing)
            if (revision > compacted) this.floor.check(`list ${kind}: ${key}`, 0, revision);
        }
        return read;
      });
      this.floor.noteStream(revision);
      const items: StoredResource[] = [];
      for (const e of entries) {
        if (e.operation !== 'PUT') continue;
        const r = this.fromEntry(e);
        if (r) items.push(r);
      }
      items.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
      return { items, revision };
    } catch (err) {
      throw asServiceError(err, `list ${kind}`);
    }
  }

  async revision(): Promise<number> {
    try {
      const floor = this.floor.stream;
      const r = await withRetry(async () => {
        const last = await lastRevision(this.jsm, RESOURCES_BUCKET);
        this.floor.check('the revision', last, floor);
        return last;
      });
      this.floor.noteStream(r);
      return r;
    } catch (err) {
      throw asServiceError(err, 'read the revision');
    }
  }

  /** The highest revision whose tombstones may have been purged (0 when none was). */
  async compactedRevision(): Promise<number> {
    try {
      const e = await withRetry(() => this.meta.get(META_COMPACTED_REVISION));
      return e && e.operation === 'PUT' ? Number(e.string()) || 0 : 0;
    } catch (err) {
      throw asServiceError(err, 'read the compacted revision');
    }
  }

  /**
   * One write and one read of the meta bucket within `deadlineMs`, no retry: the readiness probe.
   * Every datastore replica writes the same key, so the read checks for our write *or a later one*.
   * Throws the classified failure (UnavailableError, `reason` storage for a full or failing store).
   */
  async probe(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UnavailableError(`the KV did not answer a write and a read within ${deadlineMs} ms`, {
              reason: 'timeout',
            }),
          ),
        deadlineMs,
      );
    });
    try {
      await Promise.race([
        (async () => {
          const written = await this.meta.put(META_HEALTH_PROBE, String(Date.now()));
          const read = await this.meta.get(META_HEALTH_PROBE);
          if (!read || read.revision < written)
            throw new UnavailableError(
              `the KV read back revision ${read?.revision ?? 'none'} after writing ${written}`,
              { reason: 'stale-read' },
            );
        })(),
        deadline,
      ]);
    } catch (err) {
      throw asServiceError(err, 'KV probe');
    } finally {
      clearTimeout(timer);
    }
  }

  // ------------------------------------------------------------------ writes

  /**
   * Creates a resource that does not exist. The first attempt expects a key never written (one
   * round trip, the common case); when the key holds a tombstone, it is read and the write
   * expects the tombstone's revision.
   */
  async create(doc: ResourceDocument): Promise<StoredResource> {
    const id = identity(doc);
    const key = resourceKey(id.kind, id.namespace, id.name);
    const stored = stamp(doc, undefined);
    let previous = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.write(key, id, stored, previous);
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt >= UNCONDITIONAL_RETRIES) throw this.mapWriteError(err, id);
      }
      const current = await this.rawGet(key);
      if (current && current.operation === 'PUT')
        throw new AlreadyExistsError(`${id.kind} '${qualified(id)}' already exists`);
      previous = current?.revision ?? 0;
    }
  }

  /**
   * Replaces an existing resource. With `expected`, only when the stored revision equals it
   * (ConflictError otherwise); without, the latest stored version is replaced.
   */
  async update(doc: ResourceDocument, expected: number | undefined): Promise<StoredResource> {
    const id = identity(doc);
    const key = resourceKey(id.kind, id.namespace, id.name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.rawGet(key);
      if (!current || current.operation !== 'PUT')
        throw new NotFoundError(`${id.kind} '${qualified(id)}' does not exist`);
      if (expected !== undefined && current.revision !== expected) throw conflict(id, expected, current.revision);
      const stored = stamp(doc, parseDocument(current.value));
      try {
        return await this.write(key, id, stored, current.revision);
      } catch (err) {
        if (!isWrongLastSequence(err)) throw this.mapWriteError(err, id);
        if (expected !== undefined) throw conflict(id, expected, undefined);
        if (attempt >= UNCONDITIONAL_RETRIES) throw this.mapWriteError(err, id);
      }
    }
  }

  /**
   * Create or update; `expected` applies to an existing resource as in update(). When the
   * resource is absent, `strict` makes an expected revision fail with NotFoundError; otherwise
   * (a revision carried over in an exported document) the resource is simply created.
   */
  async apply(
    doc: ResourceDocument,
    expected: number | undefined,
    strict = true,
  ): Promise<{ resource: StoredResource; created: boolean; unchanged: boolean }> {
    const id = identity(doc);
    const key = resourceKey(id.kind, id.namespace, id.name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.rawGet(key);
      const exists = current !== undefined && current.operation === 'PUT';
      if (exists && expected !== undefined && current.revision !== expected)
        throw conflict(id, expected, current.revision);
      if (!exists && expected !== undefined && strict)
        throw new NotFoundError(`${id.kind} '${qualified(id)}' does not exist (revision ${expected} was given)`);
      const previous = exists ? parseDocument(current.value) : undefined;
      const stored = stamp(doc, previous);
      // Re-applying what is stored writes nothing: no new revision, no change for any watcher
      // (GitOps tools re-apply every few minutes). `doc` is validated, so defaults are filled in
      // on both sides and the comparison is of normalized documents.
      if (exists && canonicalJson(stored) === canonicalJson(previous)) {
        return {
          resource: this.decode(id.kind, id.namespace, id.name, current.revision, current.value),
          created: false,
          unchanged: true,
        };
      }
      try {
        return {
          resource: await this.write(key, id, stored, current?.revision ?? 0),
          created: !exists,
          unchanged: false,
        };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw this.mapWriteError(err, id);
        if (expected !== undefined) throw conflict(id, expected, undefined);
        if (attempt >= UNCONDITIONAL_RETRIES) throw this.mapWriteError(err, id);
      }
    }
  }

  /** Deletes, returning the resource as it was and the revision of its tombstone. */
  async delete(
    kind: StoredKind,
    namespace: string,
    name: string,
    expected: number | undefined,
  ): Promise<{ resource: StoredResource; revision: number }> {
    const id = { kind, namespace, name };
    const key = resourceKey(kind, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.rawGet(key);
      if (!current || current.operation !== 'PUT') throw new NotFoundError(`${kind} '${qualified(id)}' does not exist`);
      if (expected !== undefined && current.revision !== expected) throw conflict(id, expected, current.revision);
      const h = natsHeaders();
      h.set(KV_OPERATION_HEADER, 'DEL');
      h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(current.revision));
      setTraceparent(h);
      const msgID = randomUUID();
      try {
        const ack = await withRetry(() => this.js.publish(this.prefix + key, Empty, { headers: h, msgID }));
        this.floor.note(key, ack.seq, false);
        return { resource: this.decode(kind, namespace, name, current.revision, current.value), revision: ack.seq };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw this.mapWriteError(err, id);
        if (expected !== undefined) throw conflict(id, expected, undefined);
        if (attempt >= UNCONDITIONAL_RETRIES) throw this.mapWriteError(err, id);
      }
    }
  }

  // ------------------------------------------------------------------ watch

  /**
   * The change stream after `revision` (see datastore.proto, Watch). `kinds` empty = all kinds.
   * A snapshot is sent when revision is 0, older than the compacted revision, or ahead of the
   * store (the store was reset under the caller).
   */
  async *watch(
    revision: number,
    kinds: ReadonlySet<StoredKind>,
    signal?: AbortSignal,
  ): AsyncGenerator<StoreEvent, void, undefined> {
    let compacted: number;
    let current: number;
    try {
      [compacted, current] = await Promise.all([this.compactedRevision(), this.revision()]);
    } catch (err) {
      throw asServiceError(err, 'watch');
    }
    const snapshot = revision === 0 || revision < compacted || revision > current;
    const only = kinds.size === 1 ? [...kinds][0] : undefined;
    const filter = only ? kindPrefix(only) : '>';
    if (snapshot) yield { type: 'snapshot-begin', compactedRevision: revision === 0 ? 0 : compacted };
    let inSync = false;
    const watchFloor = this.floor.stream;
    const cursor = openCursor(
      this.js,
      this.jsm,
      RESOURCES_BUCKET,
      snapshot ? { filter, mode: 'last-per-subject', signal } : { filter, mode: 'after', revision, signal },
    );
    try {
      for await (const item of cursor) {
        if (item.type === 'caught-up') {
          const nowCompacted = await this.compactedRevision();
          // Compaction purged tombstones after `revision` while we caught up: deletions may be lost.
          if (!snapshot && nowCompacted > revision) {
            throw new ConflictError(
              `watch from revision ${revision}: tombstones after it were compacted (compacted revision ${nowCompacted}) while catching up; watch again`,
            );
          }
          // A leader that has not applied what we acknowledged: the client watches again.
          this.floor.check('watch', item.revision, watchFloor);
          inSync = true;
          this.floor.noteStream(item.revision);
          yield { type: 'in-sync', revision: item.revision, compactedRevision: nowCompacted };
          continue;
        }
        const key = parseResourceKey(item.key);
        if (!key || (kinds.size > 0 && !kinds.has(key.kind))) continue;
        if (item.operation === 'PUT') {
          const r = this.fromEntry(item);
          if (r) yield { type: 'put', resource: r };
        } else if (inSync || !snapshot) {
          yield { type: 'delete', kind: key.kind, namespace: key.namespace, name: key.name, revision: item.revision };
        }
      }
    } catch (err) {
      throw asServiceError(err, 'watch');
    } finally {
      await cursor.return(undefined);
    }
  }

  // ------------------------------------------------------------------ compaction

  /**
   * Purges tombstones stored more than `retentionMs` ago and raises the compacted revision to the
   * highest purged one. The compacted revision is raised *before* purging, so a Watch that starts
   * meanwhile already knows it must take a snapshot. Each purge removes only messages up to the
   * tombstone (`seq` = tombstone + 1), so a value written to the key since then survives.
   */
  async compact(retentionMs: number, now = Date.now()): Promise<{ purged: number; compactedRevision: number }> {
    try {
      const cutoff = now - retentionMs;
      const { entries } = await scan(this.js, this.jsm, RESOURCES_BUCKET, '>', true);
      const old = entries.filter((e) => e.operation !== 'PUT' && e.storedAt <= cutoff);
      if (old.length === 0) return { purged: 0, compactedRevision: await this.compactedRevision() };
      const highest = old.reduce((m, e) => Math.max(m, e.revision), 0);
      const compactedRevision = await this.raiseCompacted(highest);
      const stream = `KV_${RESOURCES_BUCKET}`;
      for (let i = 0; i < old.length; i += 64) {
        await Promise.all(
          old
            .slice(i, i + 64)
            .map((e) => this.jsm.streams.purge(stream, { filter: this.prefix + e.key, seq: e.revision + 1 })),
        );
      }
      return { purged: old.length, compactedRevision };
    } catch (err) {
      throw asServiceError(err, 'compaction');
    }
  }

  private async raiseCompacted(revision: number): Promise<number> {
    for (;;) {
      const e = await this.meta.get(META_COMPACTED_REVISION);
      const current = e && e.operation === 'PUT' ? Number(e.string()) || 0 : 0;
      if (current >= revision) return current;
      try {
        if (e) await this.meta.update(META_COMPACTED_REVISION, String(revision), e.revision);
        else await this.meta.create(META_COMPACTED_REVISION, String(revision));
        return revision;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }

  // ------------------------------------------------------------------ internals

  /** The key's last entry (a tombstone included) from the stream leader, never below its floor. */
  private async rawGet(key: string) {
    try {
      const floor = this.floor.of(key);
      const e = await withRetry(async () => {
        const got = await this.kv.get(key);
        // Absent after a deletion known here: the deletion, its tombstone compacted (the chaos
        // suite's writer was refused 12 s per attempt at re-creating a key it had deleted).
        const answered = got?.revision ?? (this.floor.isDeletion(key) ? floor : 0);
        this.floor.check(`read ${key}`, answered, floor);
        return got;
      });
      if (e) this.floor.note(key, e.revision, e.operation === 'PUT');
      return e ?? undefined;
    } catch (err) {
      throw asServiceError(err, `read ${key}`);
    }
  }

  private async write(key: string, id: Identity, doc: ResourceDocument, previous: number): Promise<StoredResource> {
    const bytes = Buffer.from(JSON.stringify(doc));
    if (bytes.length > this.maxDocumentBytes) {
      throw new ResourceExhaustedError(
        `${id.kind} '${qualified(id)}' is ${bytes.length} bytes as JSON; the datastore stores at most ${this.maxDocumentBytes} bytes per resource`,
      );
    }
    const h = natsHeaders();
    h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(previous));
    setTraceparent(h);
    const msgID = randomUUID();
    const ack = await withRetry(() => this.js.publish(this.prefix + key, bytes, { headers: h, msgID }));
    this.floor.note(key, ack.seq);
    return { ...id, revision: ack.seq, document: doc };
  }

  private mapWriteError(err: unknown, id: Identity): unknown {
    if (isWrongLastSequence(err))
      return new ConflictError(`${id.kind} '${qualified(id)}' kept changing while being written; retry`, {
        cause: err,
      });
    return asServiceError(err, `write ${id.kind} '${qualified(id)}'`);
  }

  private fromEntry(e: RawEntry): StoredResource | undefined {
    const key = parseResourceKey(e.key);
    if (!key) return undefined;
    try {
      return this.decode(key.kind, key.namespace, key.name, e.revision, e.value);
    } catch (err) {
      this.log.warn({ err, key: e.key, revision: e.revision }, 'skipping an undecodable value in the resources bucket');
      return undefined;
    }
  }

  private decode(
    kind: StoredKind,
    namespace: string,
    name: string,
    revision: number,
    value: Uint8Array,
  ): StoredResource {
    return { kind, namespace, name, revision, document: parseDocument(value) };
  }
}

interface Identity {
  kind: StoredKind;
  namespace: string;
  name: string;
}

function identity(doc: ResourceDocument): Identity {
  return { kind: doc.kind as StoredKind, namespace: doc.metadata.namespace ?? '', name: doc.metadata.name };
}

function qualified(id: { namespace: string; name: string }): string {
  return id.namespace ? `${id.namespace}/${id.name}` : id.name;
}

function conflict(id: Identity, expected: number, actual: number | undefined): ConflictError {
  const now = actual === undefined ? 'it changed meanwhile' : `it is now at revision ${actual}`;
  return new ConflictError(
    `${id.kind} '${qualified(id)}' was modified: the request expected revision ${expected} but ${now}; get it again and retry`,
  );
}

function parseDocument(value: Uint8Array): ResourceDocument {
  const doc = JSON.parse(
    Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'),
  ) as ResourceDocument;
  if (typeof doc !== 'object' || doc === null || typeof doc.metadata !== 'object' || doc.metadata === null) {
    throw new TypeError('stored value is not a resource document');
  }
  return doc;
}

/** The document to store: server-owned metadata from `previous` (or new), no resourceVersion. */
function stamp(doc: ResourceDocument, previous: ResourceDocument | undefined): ResourceDocument {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...meta } = doc.metadata;
  const uid = typeof previous?.metadata.uid === 'string' ? previous.metadata.uid : randomUUID();
  const created =
    typeof previous?.metadata.creationTimestamp === 'string'
      ? previous.metadata.creationTimestamp
      : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return { ...doc, metadata: { ...meta, uid, creationTimestamp: created } };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The document as served: with metadata.resourceVersion = the revision. */
export function servedDocument(r: StoredResource): ResourceDocument {
  return { ...r.document, metadata: { ...r.document.metadata, resourceVersion: String(r.revision) } };
}

/**
 * The writer's trace context travels with the change as a `traceparent` header on the KV message,
 * so sync servers and reflectors that read the change continue the trace (shared/tracing).
 */
function setTraceparent(h: MsgHdrs): void {
  const traceparent = injectTraceparent();
  if (traceparent) h.set(TRACEPARENT, traceparent);
}
