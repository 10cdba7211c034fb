// Reading the KV stream in revision order with an ordered JetStream consumer.
//
// A cursor yields raw entries and, exactly once, a `caught-up` mark: the point where every
// message that was in the stream when the cursor opened has been yielded. The mark carries the
// revision the reader is now in sync with: max(stream last sequence read before the consumer
// was created, last yielded revision).
//
// How "caught up" is known: each delivered message says how many matching messages are still
// pending after it (`info.pending`); the message with 0 pending ends the catch-up. When nothing
// matches at all no message arrives, so right after creating the consumer we ask for its info:
// no message pending and none delivered means there was nothing to catch up on. (Rejected:
// nats.js `kv.watch`, which reports `isUpdate` per entry but gives no signal when the initial
// set is empty, and does not expose the delete marker's revision.)
//
// Replicated buckets: JetStream places an ephemeral consumer on any peer of the stream, and a
// consumer reads its own peer's copy. A peer that just restarted is still catching up, so a scan
// there ends ("caught up") short of writes that were acknowledged before it started (seen on a
// 3-node cluster: a List missing the last 60 acknowledged creates). So the cursor only reads from
// a consumer that sits on the stream leader, where every acknowledged write is; a consumer placed
// elsewhere is deleted and created again. (Rejected: comparing the caught-up revision with the
// stream's last sequence, which a filtered or compacted read cannot reach.)
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { UnavailableError } from '../../../shared/errors/index.js';

/** The KV operation header and its values (nats.js `kvOperationHdr`). */
export const KV_OPERATION_HEADER = 'KV-Operation';
export type KvOperation = 'PUT' | 'DEL' | 'PURGE';

export interface RawEntry {
  readonly type: 'entry';
  /** The KV key (the subject without `$KV.<bucket>.`). */
  readonly key: string;
  readonly revision: number;
  readonly operation: KvOperation;
  readonly value: Uint8Array;
  /** Milliseconds since the epoch when the server stored the message. */
  readonly storedAt: number;
}

export interface CaughtUp {
  readonly type: 'caught-up';
  readonly revision: number;
}

export interface CursorOptions {
  /** KV key filter, e.g. `>` or `nodes.>`. */
  readonly filter: string;
  /** `last-per-subject`: the current value of every key, then changes. `after`: every message after `revision`. */
  readonly mode: 'last-per-subject' | 'after';
  readonly revision?: number;
  /** Deliver only headers (values empty): cheaper for scans that need keys and operations. */
  readonly headersOnly?: boolean;
  /** Stop after the caught-up mark (a scan) instead of following changes. */
  readonly stopWhenCaughtUp?: boolean;
  /** Ends the cursor (the loop over it finishes normally). */
  readonly signal?: AbortSignal;
}

export function subjectPrefix(bucket: string): string {
  return `$KV.${bucket}.`;
}

export function streamName(bucket: string): string {
  return `KV_${bucket}`;
}

export async function lastRevision(jsm: JetStreamManager, bucket: string): Promise<number> {
  return (await streamPosition(jsm, bucket)).lastSequence;
}

/** How long JetStream keeps a consumer nobody pulls from (milliseconds). */
export const CONSUMER_INACTIVE_MS = 15_000;
/** The stream's last sequence and its leader ('' when not clustered). */
async function streamPosition(jsm: JetStreamManager, bucket: string): Promise<{ lastSequence: number; leader: string }> {
  const info = await jsm.streams.info(streamName(bucket));
  return { lastSequence: info.state.last_seq, leader: info.cluster?.leader ?? '' };
}

/** Attempts at getting a consumer placed on the stream leader before giving up (UnavailableError). */
const PLACEMENT_ATTEMPTS = 20;

/**
 * Opens an ordered consumer on the bucket and yields its entries, with one caught-up mark.
 * Breaking out of the loop (or `return()` on the iterator) deletes the consumer.
 */
export async function* openCursor(
  js: JetStreamClient,
  jsm: JetStreamManager,
  bucket: string,
  options: CursorOptions,
): AsyncGenerator<RawEntry | CaughtUp, void, undefined> {
  const prefix = subjectPrefix(bucket);
  let messages: ConsumerMessages | undefined;
  let consumer: Consumer | undefined;
  const stop = () => messages?.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    let startRevision = 0;
    let info;
    for (let attempt = 1; ; attempt++) {
      const position = await streamPosition(jsm, bucket);
      startRevision = position.lastSequence;
      consumer = await js.consumers.get(streamName(bucket), {
        filter_subjects: prefix + options.filter,
        ...(options.mode === 'after'
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: (options.revision ?? 0) + 1 }
          : { deliver_policy: DeliverPolicy.LastPerSubject }),
        headers_only: options.headersOnly === true,
        // Deleted when the cursor ends; should that delete be lost (NATS busy or unreachable), the
        // server drops the consumer once nobody pulls from it for this long (nats.js's default is
        // 5 minutes: abandoned Watch streams left hundreds of consumers behind that long).
        inactive_threshold: CONSUMER_INACTIVE_MS,
      });
      messages = await consumer.consume({ max_messages: 512 });
      if (options.signal?.aborted) return;
      info = await consumer.info();
      const host = info.cluster?.leader ?? '';
      if (position.leader === '' || host === position.leader) break;
      messages.stop();
      await consumer.delete().catch(() => undefined);
      if (attempt >= PLACEMENT_ATTEMPTS) {
        throw new UnavailableError(`no consumer on the leader (${position.leader}) of ${streamName(bucket)} after ${attempt} attempts; retry`, { retryAfterMs: 250, reason: 'nats' });
      }
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
    let caughtUp = false;
    let last = options.mode === 'after' ? (options.revision ?? 0) : 0;
    if (info.num_pending === 0 && info.delivered.consumer_seq === 0) {
      caughtUp = true;
      yield { type: 'caught-up', revision: Math.max(startRevision, last) };
      if (options.stopWhenCaughtUp) return;
    }
    for await (const m of messages) {
      const op = (m.headers?.get(KV_OPERATION_HEADER) || 'PUT') as KvOperation;
      last = m.seq;
      yield {
        type: 'entry',
        key: m.subject.slice(prefix.length),
        revision: m.seq,
        operation: op,
        value: m.data,
        storedAt: Math.floor(m.info.timestampNanos / 1e6),
      };
      if (!caughtUp && m.info.pending === 0) {
        caughtUp = true;
        yield { type: 'caught-up', revision: Math.max(startRevision, last) };
        if (options.stopWhenCaughtUp) return;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    messages?.stop();
    consumer?.delete().catch(() => undefined);
  }
}

/** Every current entry under `filter` (tombstones included; callers skip them), and the revision read. */
export async function scan(
  js: JetStreamClient,
  jsm: JetStreamManager,
  bucket: string,
  filter: string,
  headersOnly = false,
): Promise<{ entries: RawEntry[]; revision: number }> {
  const entries: RawEntry[] = [];
  let revision = 0;
  for await (const item of openCursor(js, jsm, bucket, { filter, mode: 'last-per-subject', headersOnly, stopWhenCaughtUp: true })) {
    if (item.type === 'entry') entries.push(item);
    else revision = item.revision;
  }
  return { entries, revision };
}
