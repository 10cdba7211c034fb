// The server's one watch on the datastore: the shared KV cursor (shared/nats kv-cursor.ts, the
// reader the datastore uses too) over the resources bucket's stream. Entries are gathered into
// batches, one per event-loop turn, so a burst of writes becomes one fan-out.
//
// Cold start: the last message per key (tombstones included). Warm start: every message after the
// revision the LMDB snapshot holds.
//
// Caught up comes from the cursor: the stream leader has no message after the last one read (not
// nats-server's per-message pending count, which says 0 under concurrent overwrites while a key
// is still to come, and which under continuous writes may never say 0: a warm restart once stayed
// not ready for 72 s). Replicated buckets: the cursor reads only from a consumer on the stream
// leader and opens its own there, from the revision after the last one read, whenever nats.js
// re-creates the ordered consumer on another peer (a leader change, a NATS restart), so neither
// a reconnect nor a lagging replica loses or reorders a change; with the follower's floor it
// refuses a leader below what this server has read (a diverged or not yet applied member).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  KV_OPERATION_HEADER,
  openCursor,
  streamName,
  type NatsConnection,
  type ReadFloor,
} from '../../../shared/nats/index.js';
import type { RawChange } from './cache.js';

/** The W3C trace context a traced datastore write carries (shared/tracing). */
const TRACEPARENT_HEADER = 'traceparent';
/** Largest batch handed over at once; a longer backlog is split so the event loop keeps turning. */
const MAX_BATCH = 5000;

export interface KvSourceOptions {
  nc: NatsConnection;
  bucket: string;
  /** 0: cold start (last value per key); R > 0: every message after revision R. */
  after: number;
  log: Logger;
  /**
   * What this server has read: the follower's, shared by every source it opens, so no leader
   * below a revision already served is read from (shared/nats read-floor.ts).
   */
  floor?: ReadFloor;
  /** Called with each batch in revision order; `caughtUp` once the backlog at start is read. */
  onBatch(changes: RawChange[], caughtUp: boolean): void;
  /** Called when the watch ended without stop() (e.g. the stream was deleted). */
  onEnded?(err: unknown): void;
}

export interface StreamIdentity {
  /** Identifies this incarnation of the bucket (its stream's creation time). */
  datastoreId: string;
  /** The stream's last sequence when the watch started. */
  lastSequence: number;
  /** The stream's first sequence (messages below it are gone). */
  firstSequence: number;
}

export class KvSource {
  private readonly abort = new AbortController();
  private pending: RawChange[] = [];
  private flushScheduled = false;
  private _caughtUp = false;
  private stopped = false;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: KvSourceOptions) {}

  get caughtUp(): boolean {
    return this._caughtUp;
  }

  get streamName(): string {
    return streamName(this.options.bucket);
  }

  /** Waits (retrying) until the bucket exists; returns its identity (throws once `cancelled()`). */
  async identity(cancelled: () => boolean, retryMs = 1000): Promise<StreamIdentity> {
    const jsm = await jetstreamManager(this.options.nc);
    let warned = false;
    for (;;) {
      try {
        const info = await jsm.streams.info(this.streamName);
        return { datastoreId: info.created, lastSequence: info.state.last_seq, firstSequence: info.state.first_seq };
      } catch (err) {
        if (this.stopped || cancelled()) throw err;
        if (!warned)
          this.options.log.warn(
            { err: String(err), bucket: this.options.bucket },
            'waiting for the datastore bucket to exist',
          );
        warned = true;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  /** Opens the cursor (its consumer is on the stream leader when this returns) and starts reading. */
  async start(): Promise<void> {
    const js = jetstream(this.options.nc);
    const jsm = await jetstreamManager(this.options.nc);
    const after = this.options.after;
    const cursor = openCursor(js, jsm, this.options.bucket, {
      filter: '>',
      ...(after > 0 ? { mode: 'after', revision: after } : { mode: 'last-per-subject' }),
      signal: this.abort.signal,
      ...(this.options.floor ? { floor: this.options.floor } : {}),
      // Which member answers: after kill -9 restarts members can hold different copies.
      onOpened: (where) =>
        this.options.log.info({ bucket: this.options.bucket, ...where }, 'reading the datastore stream'),
    } as const);
    // The first item: the consumer is open (errors opening it reach the caller, as before).
    const first = await cursor.next();
    this.reading = this.read(cursor, first);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.reading;
  }

  private async read(
    cursor: ReturnType<typeof openCursor>,
    first: Awaited<ReturnType<ReturnType<typeof openCursor>['next']>>,
  ): Promise<void> {
    let err: unknown;
    try {
      for (let r = first; !r.done && !this.stopped; r = await cursor.next()) {
        const item = r.value;
        if (item.type === 'caught-up') {
          this._caughtUp = true;
          // Everything read before the mark goes out with it, as one batch (possibly empty).
          this.flush(true);
          continue;
        }
        const op = item.headers?.get(KV_OPERATION_HEADER);
        const deleted = op === 'DEL' || op === 'PURGE';
        this.pending.push({
          key: item.key,
          revision: item.revision,
          value: deleted ? undefined : Buffer.from(item.value),
          commitTimeUnixMicros: item.storedAtMicros,
          traceparent: item.headers?.get(TRACEPARENT_HEADER) || undefined,
        });
        if (this.pending.length >= MAX_BATCH) this.flush();
        else if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => this.flush());
        }
      }
    } catch (e) {
      err = e;
    } finally {
      await cursor.return(undefined).catch(() => undefined);
    }
    if (!this.stopped) {
      this.flush();
      this.options.onEnded?.(err);
    }
  }

  private flush(mark = false): void {
    this.flushScheduled = false;
    if (this.stopped || (this.pending.length === 0 && !mark)) return;
    const batch = this.pending;
    this.pending = [];
    this.options.onBatch(batch, this._caughtUp);
  }
}
