// Refusing stale answers: what a process has acknowledged or read is a floor for every later
// answer about the same key (and, for a List, a Watch's in-sync mark or a cursor's stream leader,
// for the stream as a whole). An answer below its floor comes from a stream leader whose store
// lacks writes that were already acknowledged, and is retried (UNAVAILABLE once the retry budget
// is spent) instead of being served. Both readers of the KV hold one: the datastore (a Get, CAS
// read, List or Watch below it is refused) and the sync server (its follower's cursors refuse a
// leader below it, kv-cursor.ts, so the cache never goes back below a revision it has served).

// Why a leader answers stale, on nats-server 2.9.10 (seen in replication.test.ts, 3-node cluster,
// stream leader kill -9s; the member copies were read one by one through leader step-downs):
// - members diverge: after kill -9 restarts (and after scaling R1 -> R3 under writes) two members
//   reported the same last sequence with different message counts (1318 vs 1294 and 1102; the
//   latter two without the first 24 acknowledged writes), and a new leader held a key at a lower
//   sequence than the one its predecessor acknowledged (chaos-2133 acked at 2134, held at 2133,
//   its last sequence 2133): it lacked an earlier message and numbered the later ones its own way.
//   A Get served by such a member returns an older revision or nothing.
// - and the server answers message gets as soon as a member's Raft node leads
//   (jetstream_cluster.go isStreamLeader checks only the Raft state; jetstream_api.go
//   jsMsgGetRequest), with nothing that waits for it to apply what its predecessor committed.
// The member's store is not ours to fix; refusing its answers, and asking it to step down when it
// does not catch up (below), is.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { UnavailableError } from '../errors/index.js';

// A leader that keeps answering below the floor is a diverged member, not a slow one: asking it
// to step down gives the other members a turn (seen: refused for 2 s, stepped down, the next
// leader answered at the acknowledged revision); the refusals go on until one answers at or above.

/** Keys whose floor is remembered; the oldest noted is forgotten first (its check then passes). */
const MAX_KEYS = 65_536;
/** How soon to ask again: a leader that has not applied its predecessor's writes yet soon will. */
const STALE_RETRY_MS = 100;
/** Refusals in a row for this long: the leader is asked to step down (see above). */
const STEP_DOWN_AFTER_MS = 2_000;
/** At most one step-down request this often. */
const STEP_DOWN_EVERY_MS = 5_000;

export class StaleReadError extends UnavailableError {
  constructor(message: string) {
    super(message, { retryAfterMs: STALE_RETRY_MS, reason: 'stale-read' });
  }
}

/** The newest entry a reader took from the stream: a leader must hold it (or a later version of its key). */
export interface FloorEntry {
  readonly key: string;
  readonly revision: number;
  /** When the server stored it: a different message under the same sequence is another member's copy. */
  readonly storedAtMicros: number;
  /** A value, not a deletion (tombstones may be compacted away, so only values are checked). */
  readonly live: boolean;
}

export class ReadFloor {
  private readonly keys = new Map<string, number>();
  /** The newest entry read (kv-cursor notes it): see FloorEntry. */
  newest: FloorEntry | undefined;
  /** Keys whose last noted revision is a value (not a deletion), by first token (the kind). */
  private readonly live = new Map<string, Set<string>>();
  /** Called with each refusal (the datastore logs it: which answer, which floor). */
  onRefused: ((err: StaleReadError) => void) | undefined;
  /** Called when refusals have gone on for STEP_DOWN_AFTER_MS: the datastore asks the leader to step down. */
  onPersistent: ((err: StaleReadError) => void) | undefined;
  /** When the current run of refusals began (0: the last answer passed). */
  private refusingSince = 0;
  private steppedDownAt = 0;
  private _stream = 0;
  /** Stale answers refused (each one retried), for metrics and tests. */
  refused = 0;

  /** The highest revision acknowledged or read here: no answer about the whole stream may be below it. */
  get stream(): number {
    return this._stream;
  }

  /** The floor for `key`: the highest revision of it acknowledged or read here (0: none known). */
  of(key: string): number {
    return this.keys.get(key) ?? 0;
  }

  /**
   * Whether the key's floor is a deletion: then the key absent is that deletion with its tombstone
   * compacted since, not a stale answer (and were the leader missing the value and the deletion,
   * "absent" would still be the key's state).
   */
  isDeletion(key: string): boolean {
    return this.keys.has(key) && !this.live.get(key.slice(0, key.indexOf('.')))?.has(key);
  }

  /** Records a revision of `key` that was acknowledged or read: a value (`live`) or a deletion. */
  note(key: string, revision: number, live = true): void {
    this.noteStream(revision);
    const known = this.keys.get(key);
    if (known !== undefined && known >= revision) return;
    this.keys.delete(key); // re-inserted last: the map's order is the forgetting order
    this.keys.set(key, revision);
    const kind = key.slice(0, key.indexOf('.'));
    if (live) {
      let set = this.live.get(kind);
      if (!set) this.live.set(kind, (set = new Set()));
      set.add(key);
    } else this.live.get(kind)?.delete(key);
    if (this.keys.size > MAX_KEYS) {
      const oldest = this.keys.keys().next().value!;
      this.keys.delete(oldest);
      this.live.get(oldest.slice(0, oldest.indexOf('.')))?.delete(oldest);
    }
  }

  /**
   * Keys under `prefix` (`kind.` or `kind.namespace.`) known here as values at a revision at or
   * below `floor` (so written before a read that began at `floor`) that `listed` lacks: a List that
   * misses them came from a store without them, unless another writer deleted them since and the
   * tombstone was compacted (the caller rules that out with the compacted revision).
   */
  missing(prefix: string, listed: ReadonlySet<string>, floor: number): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const key of this.live.get(prefix.slice(0, prefix.indexOf('.'))) ?? []) {
      const revision = this.keys.get(key)!;
      if (revision <= floor && key.startsWith(prefix) && !listed.has(key)) out.push([key, revision]);
    }
    return out;
  }

  noteStream(revision: number): void {
    if (revision > this._stream) this._stream = revision;
  }

  /** Records the newest entry read (a cursor's): the stream floor and the entry a leader must hold. */
  noteNewest(entry: FloorEntry): void {
    this.noteStream(entry.revision);
    if (entry.revision >= (this.newest?.revision ?? 0)) this.newest = entry;
  }

  /** Throws StaleReadError when `answered` (0: absent) is below `floor`, sampled before the read. */
  check(what: string, answered: number, floor: number, now = Date.now()): void {
    if (answered >= floor) {
      this.refusingSince = 0;
      return;
    }
    this.refuse(
      `${what}: the stream leader answered revision ${answered || 'none'}, below revision ${floor} already acknowledged or read here; asking again`,
      now,
    );
  }

  /** Refuses an answer (counted, reported, and a step-down asked for when refusals go on): always throws. */
  refuse(message: string, now = Date.now()): never {
    this.refused++;
    const err = new StaleReadError(message);
    this.onRefused?.(err);
    if (this.refusingSince === 0) this.refusingSince = now;
    else if (now - this.refusingSince >= STEP_DOWN_AFTER_MS && now - this.steppedDownAt >= STEP_DOWN_EVERY_MS) {
      this.steppedDownAt = now;
      this.onPersistent?.(err);
    }
    throw err;
  }

  /** An answer passed every check: a run of refusals is over. */
  passed(): void {
    this.refusingSince = 0;
  }
}

/**
 * Logs each refusal with the member that answered and what its store holds (asked only when it
 * happens), and asks a leader that keeps answering below the floor to step down.
 */
export function reportRefusals(
  floor: ReadFloor,
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  log: Logger,
): void {
  const where = () =>
    jsm.streams.info(stream).then(
      (i) => ({ leader: i.cluster?.leader, leaderLastSeq: i.state.last_seq, leaderMessages: i.state.messages }),
      () => ({}),
    );
  floor.onRefused = (err) =>
    void where().then((w) =>
      log.warn({ refused: floor.refused, err: err.message, ...w }, 'stale answer refused; asking again'),
    );
  floor.onPersistent = (err) =>
    void where().then(async (w) => {
      log.warn(
        { err: err.message, ...w },
        'the stream leader keeps answering below acknowledged revisions: asking it to step down',
      );
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2000 }).catch(() => undefined);
    });
}
