// Following the datastore: the one KV watch that keeps the cache equal to the resources bucket.
// Owns the watch (KvSource), the LMDB copy (warm start), the compaction horizon and the full
// re-read after falling behind compaction (RESYNC). The sync server only hears what it has to
// pass on to clients: changes to fan out, "the cache moved" (resumes waiting for a revision),
// readiness changes and "the cache was corrected" (every client takes a snapshot).
//
// Life of the follower
//   waiting     the bucket does not exist yet (retry every second)
//   catching up watching from 0 (cold), from the LMDB revision (warm) or from the cache's revision
//               (a watch that ended); not caught up until the backlog at start is read
//   caught up   every batch is applied, persisted and handed over; the horizon poll raises the
//               horizon, re-opens a stuck watch, or starts a re-read (freshness.ts)
//   re-reading  the whole KV read again (reconcile.ts); not caught up unless after a NATS
//               reconnect, where live clients keep getting changes meanwhile
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  nextRevisionAfter,
  RESOURCES_BUCKET,
  ReadFloor,
  reportRefusals,
  streamName,
  type NatsConnection,
} from '../../../shared/nats/index.js';
import type { Cache, Change, RawChange } from './cache.js';
import { readCompactedRevision } from './compaction.js';
import { Freshness, type Verdict } from './freshness.js';
import { KvSource } from './kv-source.js';
import { CachePersistence } from './persist.js';
import { reconcile } from './reconcile.js';

export interface FollowerOptions {
  nc: NatsConnection;
  cache: Cache;
  /** LMDB directory for the warm-start cache; undefined: always start cold. */
  stateDir?: string;
  bucket?: string;
  horizonPollMs: number;
  log: Logger;
  /** For the "ready" log line: where clients reach us. */
  address(): string;
}

/** What the follower tells its owner, in the order the cache changes. */
export interface FollowerEvents {
  /** Changes applied to the cache while caught up (or while re-reading and staying ready). */
  changes(changes: Change[]): void;
  /** The cache's revision moved while caught up: clients waiting for a revision may be served. */
  advanced(): void;
  /** Readiness changed (caught up, or not while re-reading): tell the peers. */
  readiness(): void;
  /** A re-read corrected the cache: clients that committed a revision from us must take a snapshot. */
  corrected(): void;
}

export class DatastoreFollower {
  private readonly cache: Cache;
  private readonly log: Logger;
  private source: KvSource | undefined;
  private persistence: CachePersistence | undefined;
  private jsm: JetStreamManager | undefined;
  private timer: NodeJS.Timeout | undefined;
  private _caughtUp = false;
  private readonly freshness = new Freshness();
  /**
   * What this server has read, for every source it opens (the watch, a re-read): the cache never
   * goes back below a revision it has served, whichever member leads (shared/nats read-floor.ts).
   */
  readonly floor = new ReadFloor();
  /** Why the cache is being read again (not ready meanwhile); undefined when it is not. */
  private resyncReason: string | undefined;
  private _resyncs = 0;
  private resyncing = false;
  private closed = false;
  private _datastoreId = '';
  /** The revision a warm start loaded (0 for a cold start). */
  private warmRevision = 0;

  constructor(
    private readonly options: FollowerOptions,
    private readonly events: FollowerEvents,
  ) {
    this.cache = options.cache;
    this.log = options.log;
  }

  /** Caught up with the datastore and not re-reading it. */
  get caughtUp(): boolean {
    return this._caughtUp;
  }

  /** The bucket incarnation the cache follows ('' until known). */
  get datastoreId(): string {
    return this._datastoreId;
  }

  get warmStart(): boolean {
    return this.warmRevision > 0;
  }

  /** Times the cache was read again after falling behind compaction. */
  get resyncs(): number {
    return this._resyncs;
  }

  /** Why the cache is not usable yet, or undefined when it is caught up. */
  notReadyReason(): string | undefined {
    if (this.resyncReason) return `reading the datastore again: ${this.resyncReason}`;
    if (!this._caughtUp) return `catching up with the datastore (at revision ${this.cache.revision})`;
    return undefined;
  }

  /** Starts following (retrying until it works) and polling the compaction horizon. */
  start(): void {
    this.timer = setInterval(() => void this.pollHorizon(), this.options.horizonPollMs);
    this.timer.unref();
    void this.follow();
  }

  /** Stops the watch and the poll; closes the LMDB copy with `closePersistence`. */
  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.source?.stop();
  }

  async closePersistence(): Promise<void> {
    await this.persistence?.close();
  }

  /**
   * After a NATS reconnect: the ordered consumer resumes by itself, but after a slow-consumer
   * disconnect (a frozen process) it was seen to skip messages: check the cache against the KV.
   */
  natsReconnected(): void {
    if (!this._caughtUp) return;
    // A reconnect often ends a freeze or a partition, and compaction may have run meanwhile: then
    // the re-read is the not-ready one (the cache may hold purged deletions), whichever of the
    // reconnect and the horizon poll notices first.
    const why = 'NATS reconnected: checking the cache against the datastore';
    void (async () => {
      let stale: string | undefined;
      try {
        if (this.jsm) stale = this.freshness.pastCompaction(this.cache.horizon, await readCompactedRevision(this.jsm));
      } catch {
        // Not readable yet: the re-read below reads the KV anyway, and the horizon poll judges later.
      }
      if (this._caughtUp) void this.resync(stale ?? why, stale === undefined);
    })();
  }

  /** Follows the datastore, retrying (every second) until it works or the follower stops. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        await this.startFollowing();
        return;
      } catch (err) {
        if (this.closed) return;
        this.log.error({ err: String(err) }, 'cannot follow the datastore; retrying');
        await this.source?.stop().catch(() => undefined);
        this.source = undefined;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Watches the KV again after the watch ended unexpectedly, from the revision the cache holds. */
  private rewatch(err: unknown): void {
    if (this.closed) return;
    this.log.error(
      { err: String(err), revision: this.cache.revision },
      'the datastore watch ended; watching again from our revision',
    );
    this.source = undefined;
    void this.follow();
  }

  private newSource(after: number): KvSource {
    return new KvSource({
      nc: this.options.nc,
      bucket: this.options.bucket ?? RESOURCES_BUCKET,
      after,
      log: this.log,
      floor: this.floor,
      onBatch: (changes, caughtUp) => this.onBatch(changes, caughtUp),
      onEnded: (err) => this.rewatch(err),
    });
  }

  /**
   * Waits for the bucket, then watches it: from the cache's revision when the cache already
   * follows this bucket (a watch that ended), else from the LMDB cache when it is usable (warm
   * start), else from scratch (cold start; also when the bucket was recreated).
   */
  private async startFollowing(): Promise<void> {
    const bucket = this.options.bucket ?? RESOURCES_BUCKET;
    if (!this.jsm) {
      this.jsm = await jetstreamManager(this.options.nc);
      reportRefusals(this.floor, this.options.nc, this.jsm, `KV_${bucket}`, this.log);
    }
    const probe = new KvSource({ nc: this.options.nc, bucket, after: 0, log: this.log, onBatch: () => undefined });
    const identity = await probe.identity(() => this.closed);
    if (this.closed) return;
    if (this._datastoreId === identity.datastoreId) {
      this.source = this.newSource(this.cache.revision);
      await this.source.start();
      return;
    }
    if (this._datastoreId !== '') {
      this.log.warn(
        { was: this._datastoreId, now: identity.datastoreId },
        'the datastore bucket was recreated: reading it from scratch',
      );
      this.cache.clear();
      this._caughtUp = false;
      this.warmRevision = 0;
      await this.persistence?.replaceAll([], 0, 0, identity.datastoreId);
    } else if (this.options.stateDir) {
      mkdirSync(this.options.stateDir, { recursive: true });
      this.persistence ??= CachePersistence.open(join(this.options.stateDir, 'sync-cache.mdb'));
      const saved = this.persistence.load();
      const compacted = await readCompactedRevision(this.jsm);
      if (
        saved &&
        saved.datastoreId === identity.datastoreId &&
        saved.revision >= compacted &&
        saved.revision <= identity.lastSequence
      ) {
        this.cache.clear();
        this.cache.load(saved.entries, saved.revision, Math.max(saved.horizon, compacted));
        this.warmRevision = saved.revision;
        this.log.info({ revision: saved.revision, entries: saved.entries.length }, 'warm start from the LMDB cache');
      } else {
        if (saved)
          this.log.info(
            { saved: saved.revision, compacted, datastore: saved.datastoreId === identity.datastoreId },
            'LMDB cache unusable: cold start',
          );
        await this.persistence.replaceAll([], 0, 0, identity.datastoreId);
      }
    }
    this._datastoreId = identity.datastoreId;
    this.source = this.newSource(this.warmRevision);
    await this.source.start();
  }

  private onBatch(raw: RawChange[], caughtUp: boolean): void {
    if (this.closed) return;
    const changes = this.cache.apply(raw);
    if (changes.length > 0) this.persistence?.saveBatch(changes, this.cache.revision);
    if (!this._caughtUp) {
      if (caughtUp) void this.onCaughtUp();
      return;
    }
    if (changes.length > 0) this.events.changes(changes);
    this.events.advanced();
  }

  private async onCaughtUp(): Promise<void> {
    const compacted = await readCompactedRevision(this.jsm!);
    if (this.warmRevision > 0 && compacted > this.warmRevision) {
      // Tombstones after our saved revision were purged while we were down: deletions may be
      // missing from what we replayed. Start over from the KV.
      this.log.warn({ saved: this.warmRevision, compacted }, 'datastore compacted past the warm cache: cold start');
      await this.source?.stop();
      this.cache.clear();
      this.warmRevision = 0;
      await this.persistence?.replaceAll([], 0, 0, this._datastoreId);
      this.source = this.newSource(0);
      await this.source.start();
      return;
    }
    const dropped = this.cache.raiseHorizon(compacted);
    this.persistence?.saveHorizon(this.cache.horizon, dropped);
    this.freshness.reset(Math.max(this.cache.revision, compacted));
    this._caughtUp = true;
    this.log.info(
      {
        revision: this.cache.revision,
        entries: this.cache.size,
        horizon: this.cache.horizon,
        address: this.options.address(),
      },
      'caught up with the datastore: ready',
    );
    this.events.readiness();
  }

  /** Raises the horizon, and reads the KV again when we fell behind compaction (see freshness.ts). */
  private async pollHorizon(): Promise<void> {
    if (!this._caughtUp || !this.jsm || this.resyncReason) return;
    const bucket = this.options.bucket ?? RESOURCES_BUCKET;
    let verdict: Verdict;
    const revision = this.cache.revision;
    try {
      const compacted = await readCompactedRevision(this.jsm);
      const lastSequence = (await this.jsm.streams.info(streamName(bucket))).state.last_seq;
      // The exact question only when the cheap one leaves it open.
      const next = lastSequence > revision ? await nextRevisionAfter(this.jsm, bucket, '>', revision) : undefined;
      if (!this._caughtUp || this.resyncReason) return;
      verdict = this.freshness.judge(revision, this.cache.horizon, compacted, next);
    } catch (err) {
      this.log.debug({ err: String(err) }, 'could not read the compacted revision');
      return;
    }
    if (verdict.kind === 'stale') void this.resync(verdict.reason);
    else if (verdict.kind === 'stalled') {
      this.log.warn(
        { revision, reason: verdict.reason },
        'the datastore watch is stuck: watching again from our revision',
      );
      await this.source?.stop();
      this.source = this.newSource(this.cache.revision);
      // A watch that cannot be opened now is retried (follow) rather than left closed.
      await this.source.start().catch((err: unknown) => this.rewatch(err));
    } else if (verdict.raiseHorizonTo !== undefined) {
      const dropped = this.cache.raiseHorizon(verdict.raiseHorizonTo);
      this.persistence?.saveHorizon(verdict.raiseHorizonTo, dropped);
    }
  }

  /**
   * The cache may have missed purged deletions: not ready (new clients go elsewhere), read the
   * whole KV again, and hand over the difference as ordinary changes (reconcile.ts), then ready
   * again. Changes arriving meanwhile are held and applied after the difference.
   */
  private async resync(reason: string, stayReady = false): Promise<void> {
    if (this.resyncReason || this.resyncing || this.closed) return;
    this.resyncing = true;
    if (!stayReady) {
      this.resyncReason = reason;
      this._caughtUp = false;
      this.log.warn(
        { revision: this.cache.revision, horizon: this.cache.horizon, reason },
        'fell behind the datastore compaction: not ready, reading the datastore again',
      );
      this.events.readiness();
    } else this.log.info({ revision: this.cache.revision, reason }, 'reading the datastore again (staying ready)');
    this._resyncs++;
    const bucket = this.options.bucket ?? RESOURCES_BUCKET;
    try {
      await this.source?.stop();
      const truth = new Map<string, RawChange>();
      // Staying ready, the read's values are applied as they come; those at or below the revision
      // we held are changes the watch had skipped, corrections like reconcile's below. (A tombstone
      // of a key we do not hold changes nothing a client sees: not counted.)
      const heldRevision = this.cache.revision;
      let skippedSeen = 0;
      const held: RawChange[][] = [];
      let phase: 'reading' | 'holding' | 'live' = 'reading';
      let readDone!: () => void;
      let readFailed!: (err: unknown) => void;
      const read = new Promise<void>((resolve, reject) => {
        readDone = resolve;
        readFailed = reject;
      });
      const source = new KvSource({
        nc: this.options.nc,
        bucket,
        after: 0,
        log: this.log,
        floor: this.floor,
        onBatch: (changes, caughtUp) => {
          if (phase === 'live') return this.onBatch(changes, true);
          if (stayReady && phase === 'reading') {
            // Live clients keep getting changes; the difference comes once the read ends.
            const applied = this.cache.apply(changes);
            for (const c of applied)
              if (c.entry.revision <= heldRevision && (c.previous || c.entry.value)) skippedSeen++;
            if (applied.length > 0) {
              this.persistence?.saveBatch(applied, this.cache.revision);
              this.events.changes(applied);
            }
          }
          if (phase === 'holding') return void held.push(changes);
          for (const c of changes) truth.set(c.key, c);
          if (caughtUp) {
            phase = 'holding';
            readDone();
          }
        },
        onEnded: (err) =>
          phase === 'live'
            ? this.rewatch(err)
            : readFailed(err ?? new Error('the watch ended while reading the datastore again')),
      });
      this.source = source;
      const readRevision = (await this.jsm!.streams.info(source.streamName)).state.last_seq;
      await source.start();
      await read;
      const compacted = await readCompactedRevision(this.jsm!);
      const r = reconcile(this.cache, truth, readRevision);
      const changes = this.cache.apply(r.changes);
      if (changes.length > 0) {
        this.persistence?.saveBatch(changes, this.cache.revision);
        this.events.changes(changes);
      }
      // And a client that resumes here with a revision from before gets a snapshot too.
      const corrections = changes.length + skippedSeen;
      const horizon = corrections > 0 ? Math.max(compacted, this.cache.revision + 1) : compacted;
      const dropped = this.cache.raiseHorizon(horizon);
      this.persistence?.saveHorizon(this.cache.horizon, dropped);
      this.freshness.reset(this.cache.revision);
      this.resyncReason = undefined;
      this.resyncing = false;
      this._caughtUp = true;
      phase = 'live';
      for (const batch of held) this.onBatch(batch, true);
      // Clients that committed a revision from us may lack the corrections (which carry their
      // real, older revisions, so a resume would not resend them).
      if (corrections > 0) this.events.corrected();
      this.log.info(
        { revision: this.cache.revision, corrected: corrections, purgedDeletions: r.purgedDeletions },
        'read the datastore again: ready',
      );
      this.events.advanced();
      this.events.readiness();
    } catch (err) {
      this.log.error({ err: String(err) }, 'reading the datastore again failed; retrying');
      this.resyncReason = undefined;
      this.resyncing = false;
      setTimeout(() => void this.resync(reason, stayReady && this._caughtUp), 1000).unref();
    }
  }
}
