// The server's one watch on the datastore: an ordered JetStream push consumer over the resources
// bucket's stream (the same consumer nats.js's KV watch uses, opened directly so that we know how
// many messages were pending when it started: that is how "caught up" is decided, also when
// nothing is pending). Messages are gathered into batches, one per event-loop turn, so a burst of
// writes becomes one fan-out.
//
// Cold start: deliver the last message per key (tombstones included). Warm start: deliver every
// message after the revision the LMDB snapshot holds. The ordered consumer recreates itself from
// its last sequence after a NATS restart, so a reconnect loses nothing.
//
// Caught up: when a batch ends with nothing pending, or once the message at the stream's last
// sequence as of the start has arrived. (The first alone never happens under continuous writes
// if every batch ends while the next write is pending: a warm restart stayed not ready for 72 s.)
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { NatsConnection } from '../../../shared/nats/index.js';
import type { RawChange } from './cache.js';

/** The KV header naming a delete or purge marker (nats.js KV, ADR-8). */
const KV_OPERATION_HEADER = 'KV-Operation';
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
  private messages: ConsumerMessages | undefined;
  private pending: RawChange[] = [];
  private flushScheduled = false;
  private lastPending = -1;
  private _caughtUp = false;
  /** The stream's last sequence when the watch started; reaching it means caught up. */
  private target = 0;
  private reachedTarget = false;
  private stopped = false;
  private readonly prefix: string;

  constructor(private readonly options: KvSourceOptions) {
    this.prefix = `$KV.${options.bucket}.`;
  }

  get caughtUp(): boolean {
    return this._caughtUp;
  }

  get streamName(): string {
    return `KV_${this.options.bucket}`;
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

  async start(): Promise<void> {
    const js = jetstream(this.options.nc);
    const after = this.options.after;
    const jsm = await jetstreamManager(this.options.nc);
    this.target = (await jsm.streams.info(this.streamName)).state.last_seq;
    const consumer = await js.consumers.getPushConsumer(this.streamName, {
      filter_subjects: `${this.prefix}>`,
      ...(after > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
        : { deliver_policy: DeliverPolicy.LastPerSubject }),
    });
    const info = await consumer.info(true);
    if (info.num_pending === 0) {
      this._caughtUp = true;
      this.options.onBatch([], true);
    }
    this.messages = await consumer.consume({ callback: (m) => this.receive(m) });
    void this.messages.closed().then(
      (err) => !this.stopped && this.options.onEnded?.(err),
      (err) => !this.stopped && this.options.onEnded?.(err),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
  }

  private receive(m: JsMsg): void {
    if (this.stopped) return;
    const headers = m.headers;
    const op = headers?.get(KV_OPERATION_HEADER);
    const deleted = op === 'DEL' || op === 'PURGE';
    this.pending.push({
      key: m.subject.slice(this.prefix.length),
      revision: m.seq,
      value: deleted ? undefined : Buffer.from(m.data),
      // nats.js types it bigint but parses it with parseInt: Number() takes either.
      commitTimeUnixMicros: Math.floor(Number(m.info.timestampNanos) / 1000),
      traceparent: headers?.get(TRACEPARENT_HEADER) || undefined,
    });
    this.lastPending = m.info.pending;
    if (m.seq >= this.target) this.reachedTarget = true;
    if (this.pending.length >= MAX_BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.stopped) return;
    const batch = this.pending;
    this.pending = [];
    if (!this._caughtUp && (this.lastPending === 0 || this.reachedTarget)) this._caughtUp = true;
    this.options.onBatch(batch, this._caughtUp);
  }
}
