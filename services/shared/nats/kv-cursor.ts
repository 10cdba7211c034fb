// Reading a KV bucket's stream in revision order with an ordered JetStream consumer: the one
// reader of the KV, used by the datastore (List, Watch, compaction) and by the sync server's
// follower (services/sync cache/kv-source.ts), so both get the same caught-up rule and the same
// leader placement.
//
// A cursor yields raw entries and, exactly once, a `caught-up` mark: the point where every
// message that was in the stream when the cursor opened has been yielded (or superseded by one
// that was). The mark carries the revision the reader is now in sync with.
//
// How "caught up" is known. The server's per-message `pending` count is only a hint. Under
// concurrent writes nats-server 2.9 reports 0 with `last-per-subject` while a key whose message was
// superseded after the consumer started (so never delivered) still has its newer message to come:
// a List ended without that key in 30 of 30 scans on one server and 20 of 30 on a cluster
// (kv-cursor.test.ts fails so on the old rule). And a scan that waits for a message saying 0 waits
// as long as none does (the IPAM state reads that stalled 20 s+ were scans that never saw one; the
// cause there was not pinned down, the idle question below ends such a wait). So the mark
// rests on an exact question to the stream leader instead: "is there any message matching the
// filter after the last revision I yielded?" (STREAM.MSG.GET next_by_subj). None means every
// message up to the stream's last revision, read just before asking, has been yielded or was
// superseded by one that was, so the reader is in sync with that revision. The question is asked
// when a message says pending 0 and whenever the consumer has been idle for IDLE_CHECK_MS before
// the mark. (Rejected: comparing the last yielded revision with the stream's last sequence, which
// a filtered or compacted read cannot reach; nats.js `kv.watch`, which relies on the same pending
// counts and does not expose the delete marker's revision.)
//
// Replicated buckets: JetStream places an ephemeral consumer on any peer of the stream, and a
// consumer reads its own peer's copy. A peer that just restarted is still catching up, so a scan
// there ends short of writes that were acknowledged before it started (seen on a 3-node cluster:
// a List missing the last 60 acknowledged creates). So the cursor only reads from a consumer that
// sits on the stream leader, where every acknowledged write is; a consumer placed elsewhere is
// deleted and created again. nats.js re-creates an ordered consumer by itself after a gap in
// delivery or a lost consumer (a leader change), with one replica on any peer and no such check;
// the cursor notices (the message names another consumer), drops that consumer and opens its own
// on the leader from the revision after the last one it yielded. It does the same when the
// leader says messages are there but none has arrived for STALL_REOPEN_MS.
//
// The leader is not enough on nats-server 2.9.10: after kill -9 restarts members of one stream
// were seen holding different messages under the same sequence numbers, and a new leader can
// answer before it has applied what its predecessor committed (read-floor.ts). A reader that
// passes a floor (the sync server's follower: one per process, shared by all its cursors) gets
// no answer below it: a leader whose last revision is below the highest revision read, or that
// holds the newest value read at a lower revision (or another message under it), is refused: the
// consumer is not used (open) or the mark is not given (the question), it is asked again, and a
// leader refused for 2 s running is asked to step down (ReadFloor.onPersistent).
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { UnavailableError } from '../errors/index.js';
import { StaleReadError, type ReadFloor } from './read-floor.js';

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
  /** Microseconds since the epoch when the server stored the message. */
  readonly storedAtMicros: number;
  /** The message's headers (the KV operation, a write's traceparent), when it has any. */
  readonly headers: MsgHdrs | undefined;
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
  /** What this process has read of the stream: leaders below it are refused (see the top of the file). */
  readonly floor?: ReadFloor;
  /** Told where each consumer was opened (for the reader's log: which member answers). */
  readonly onOpened?: (where: { leader: string; lastSequence: number; after: number | undefined }) => void;
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

/**
 * The revision of the stream leader's first message under `filter` after `revision`, or undefined
 * when there is none (STREAM.MSG.GET next_by_subj: exact, where the last sequence is not: the
 * newest messages may be tombstones already purged).
 */
export async function nextRevisionAfter(
  jsm: JetStreamManager,
  bucket: string,
  filter: string,
  revision: number,
): Promise<number | undefined> {
  const request = { next_by_subj: subjectPrefix(bucket) + filter, seq: revision + 1 };
  // nats.js types MsgRequest without the next-by-subject form the server (2.9+) accepts.
  const next = await jsm.streams.getMessage(
    streamName(bucket),
    request as unknown as Parameters<JetStreamManager['streams']['getMessage']>[1],
  );
  return next?.seq;
}

/** How long JetStream keeps a consumer nobody pulls from (milliseconds). */
export const CONSUMER_INACTIVE_MS = 15_000;
/** The stream's last sequence and its leader ('' when not clustered). */
async function streamPosition(
  jsm: JetStreamManager,
  bucket: string,
): Promise<{ lastSequence: number; leader: string }> {
  const info = await jsm.streams.info(streamName(bucket));
  return { lastSequence: info.state.last_seq, leader: info.cluster?.leader ?? '' };
}

/** Attempts at getting a consumer placed on the stream leader before giving up (UnavailableError). */
const PLACEMENT_ATTEMPTS = 20;
/** How long a cursor with a floor keeps asking for a leader at or above it before giving up (UnavailableError). */
const STALE_BUDGET_MS = 30_000;
/** Before the caught-up mark, ask the leader whether anything is left after this long without a message. */
export const IDLE_CHECK_MS = 300;
/** Before the mark, a consumer that delivers nothing this long while the leader has messages for it is replaced. */
export const STALL_REOPEN_MS = 2_000;
/**
 * Consecutive failed caught-up questions before the cursor gives up with the error (callers retry
 * UNAVAILABLE); each can take a request timeout, so a few, not a long wait inside one scan.
 */
const CHECK_FAILURES = 5;

/** One ordered consumer on the stream leader and its message iterator. */
interface Session {
  readonly consumer: Consumer;
  readonly messages: ConsumerMessages;
  readonly iterator: AsyncIterator<JsMsg>;
  /** The consumer's name as created; nats.js names the consumers it re-creates differently. */
  readonly name: string;
  /** The pending `iterator.next()`, kept across idle ticks (an iterator takes one call at a time). */
  next?: Promise<IteratorResult<JsMsg>>;
}

const IDLE = Symbol('idle');

/** `p`, or IDLE when it has not settled within `ms`. */
async function orIdle<T>(p: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<typeof IDLE>((resolve) => (timer = setTimeout(resolve, ms, IDLE)))]);
  } finally {
    clearTimeout(timer);
  }
}

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
  const stream = streamName(bucket);
  let session: Session | undefined;
  const stop = () => session?.messages.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  // The last revision yielded (or the one the caller starts after); every message up to it has
  // been yielded or superseded. A re-opened consumer starts right after it.
  let last = options.mode === 'after' ? (options.revision ?? 0) : 0;
  let yielded = false;

  const close = (s: Session | undefined) => {
    if (!s) return;
    s.messages.stop();
    s.consumer.delete().catch(() => undefined);
  };
  // When the current run of stale leaders began (0: none).
  let staleFrom = 0;
  const staleSince = () => (staleFrom ||= Date.now());
  /**
   * Throws StaleReadError when the stream leader, whose last revision is `lastSequence`, is below
   * the floor: its last revision below the highest read, or the newest value read held there at a
   * lower revision or as another message under its revision (a diverged member's copy).
   */
  const holdsFloor = async (lastSequence: number): Promise<void> => {
    const floor = options.floor;
    if (!floor) return;
    floor.check(`${stream}: the leader's last revision`, lastSequence, floor.stream);
    const newest = floor.newest;
    if (!newest?.live) return floor.passed();
    const held = await jsm.streams.getMessage(stream, { last_by_subj: prefix + newest.key });
    // Absent is no proof: the key may have been deleted since and its tombstone compacted away
    // (the stream check above still holds). Any version of it is at or after the one read.
    if (!held) return floor.passed();
    floor.check(`${stream}: ${newest.key}`, held.seq, newest.revision);
    if (held.seq === newest.revision && held.time.getTime() !== Math.floor(newest.storedAtMicros / 1000))
      floor.refuse(
        `${stream}: ${newest.key} at revision ${newest.revision} is another message on the stream leader (stored ${held.time.toISOString()}, read one stored ${new Date(newest.storedAtMicros / 1000).toISOString()}): a diverged member; asking again`,
      );
  };
  /** A consumer on the stream leader: from `last` + 1, or every key's last message when nothing was yielded yet. */
  const open = async (): Promise<Session | undefined> => {
    const lastPerSubject = options.mode === 'last-per-subject' && !yielded;
    for (let attempt = 1; ; attempt++) {
      const position = await streamPosition(jsm, bucket);
      const consumer = await js.consumers.get(stream, {
        filter_subjects: prefix + options.filter,
        // Re-opened mid-scan, the rest of a last-per-subject read is every message after `last`:
        // the same set for our buckets (history 1), later versions still arriving after earlier ones otherwise.
        ...(lastPerSubject
          ? { deliver_policy: DeliverPolicy.LastPerSubject }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 }),
        headers_only: options.headersOnly === true,
        // Deleted when the cursor ends; should that delete be lost (NATS busy or unreachable), the
        // server drops the consumer once nobody pulls from it for this long (nats.js's default is
        // 5 minutes: abandoned Watch streams left hundreds of consumers behind that long).
        inactive_threshold: CONSUMER_INACTIVE_MS,
      });
      // expires 5 s (nats.js: 30 s) makes the idle heartbeat 2.5 s, so a pull lost in a leader
      // change is noticed (two missed heartbeats) and re-issued within 5 s instead of 30 s.
      const messages = await consumer.consume({ max_messages: 512, expires: 5_000 });
      const s: Session = {
        consumer,
        messages,
        iterator: messages[Symbol.asyncIterator](),
        name: (await consumer.info(true)).name,
      };
      if (options.signal?.aborted) {
        close(s);
        return undefined;
      }
      const info = await consumer.info();
      if (position.leader === '' || (info.cluster?.leader ?? '') === position.leader) {
        try {
          await holdsFloor(position.lastSequence);
        } catch (err) {
          close(s);
          if (!(err instanceof StaleReadError) || Date.now() - staleSince() >= STALE_BUDGET_MS) throw err;
          attempt = 0;
          await new Promise((r) => setTimeout(r, err.retryAfterMs));
          continue;
        }
        staleFrom = 0;
        options.onOpened?.({
          leader: position.leader,
          lastSequence: position.lastSequence,
          after: lastPerSubject ? undefined : last,
        });
        return s;
      }
      close(s);
      if (attempt >= PLACEMENT_ATTEMPTS) {
        throw new UnavailableError(
          `no consumer on the leader (${position.leader}) of ${stream} after ${attempt} attempts; retry`,
          { retryAfterMs: 250, reason: 'nats' },
        );
      }
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  };
  // The stream's last revision read at the previous question (0: none asked yet).
  let previousLast = 0;
  /**
   * The revision the reader is in sync with, or undefined. In sync with the stream's last revision
   * (read just before asking) when no message matching the filter exists after `last`; in sync
   * with the previous question's revision when the only ones left were written after it: under a
   * steady stream of writes into the filter "nothing left" may never come, and the cursor is then
   * at the head, what arrives next being changes after the mark. (The cost: a key whose every
   * version is overwritten before the consumer delivers it can be missing from a scan taken under
   * such writes, until its next version arrives as a change.)
   */
  const caughtUpAt = async (): Promise<number | undefined> => {
    const { lastSequence } = await streamPosition(jsm, bucket);
    // Never in sync with a leader below what this process has read: no mark, the consumer is
    // replaced (and the leader asked again) as a stalled one is.
    options.floor?.check(`${stream}: the leader's last revision`, lastSequence, options.floor.stream);
    const next = await nextRevisionAfter(jsm, bucket, options.filter, last);
    const previous = previousLast;
    previousLast = lastSequence;
    if (next === undefined) return Math.max(lastSequence, last);
    if (previous > 0 && next > previous) return Math.max(previous, last);
    return undefined;
  };

  try {
    session = await open();
    if (!session) return;
    let caughtUp = false;
    let checkFailures = 0;
    let idleSince = Date.now();
    let leaderHasMore = false;
    let checkedAt = 0;
    const check = async (): Promise<number | undefined> => {
      checkedAt = Date.now();
      try {
        const at = await caughtUpAt();
        checkFailures = 0;
        leaderHasMore = at === undefined;
        if (at !== undefined) options.floor?.noteStream(at);
        return at;
      } catch (err) {
        if (err instanceof StaleReadError) {
          leaderHasMore = true;
          return undefined;
        }
        if (++checkFailures >= CHECK_FAILURES) throw err;
        return undefined;
      }
    };
    const initial = await check();
    if (initial !== undefined) {
      caughtUp = true;
      yield { type: 'caught-up', revision: initial };
      if (options.stopWhenCaughtUp) return;
    }
    for (;;) {
      const s: Session = session;
      s.next ??= s.iterator.next();
      const r = caughtUp ? await s.next : await orIdle(s.next, IDLE_CHECK_MS);
      if (r === IDLE) {
        const at = await check();
        if (at !== undefined) {
          caughtUp = true;
          yield { type: 'caught-up', revision: at };
          if (options.stopWhenCaughtUp) return;
        } else if (leaderHasMore && Date.now() - idleSince >= STALL_REOPEN_MS) {
          close(s);
          session = await open();
          if (!session) return;
          idleSince = Date.now();
        }
        continue;
      }
      s.next = undefined;
      if (r.done) return;
      idleSince = Date.now();
      const m = r.value;
      if (m.info.consumer !== s.name) {
        // nats.js re-created the ordered consumer itself (see the top of the file).
        close(s);
        session = await open();
        if (!session) return;
        continue;
      }
      if (m.seq <= last) continue;
      last = m.seq;
      yielded = true;
      const operation = (m.headers?.get(KV_OPERATION_HEADER) || 'PUT') as KvOperation;
      const key = m.subject.slice(prefix.length);
      // nats.js types it bigint but parses it with parseInt: Number() takes either.
      const storedAtMicros = Math.floor(Number(m.info.timestampNanos) / 1e3);
      options.floor?.noteNewest({ key, revision: m.seq, storedAtMicros, live: operation === 'PUT' });
      yield {
        type: 'entry',
        key,
        revision: m.seq,
        operation,
        value: m.data,
        storedAt: Math.floor(storedAtMicros / 1e3),
        storedAtMicros,
        headers: m.headers,
      };
      // Asked once the messages already received are used up (asking after each one would read one
      // message per round trip and never catch up with a busy writer), when the server says none is
      // pending or, as it can keep saying some are, at least every IDLE_CHECK_MS.
      if (
        !caughtUp &&
        s.messages.getPending() === 0 &&
        (m.info.pending === 0 || Date.now() - checkedAt >= IDLE_CHECK_MS)
      ) {
        const at = await check();
        if (at !== undefined) {
          caughtUp = true;
          yield { type: 'caught-up', revision: at };
          if (options.stopWhenCaughtUp) return;
        }
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    close(session);
  }
}

/**
 * Every current entry under `filter` (tombstones included; callers skip them), and the revision
 * read. A key changed during the scan can arrive twice (its old message, then the new one); the
 * later one is kept.
 */
export async function scan(
  js: JetStreamClient,
  jsm: JetStreamManager,
  bucket: string,
  filter: string,
  headersOnly = false,
): Promise<{ entries: RawEntry[]; revision: number }> {
  const entries = new Map<string, RawEntry>();
  let revision = 0;
  for await (const item of openCursor(js, jsm, bucket, {
    filter,
    mode: 'last-per-subject',
    headersOnly,
    stopWhenCaughtUp: true,
  })) {
    if (item.type === 'entry') entries.set(item.key, item);
    else revision = item.revision;
  }
  return { entries: [...entries.values()], revision };
}
