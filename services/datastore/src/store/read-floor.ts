// Refusing stale answers: what this datastore process has acknowledged or read is a floor for
// every later answer about the same key (and, for a List or a Watch's in-sync mark, for the
// stream as a whole). An answer below its floor comes from a stream leader whose store has not
// applied writes that were already acknowledged, and is retried (UNAVAILABLE once the retry
// budget is spent) instead of being served.
//
// Why a leader can answer stale, on nats-server 2.9.10 (server/jetstream_cluster.go
// isStreamLeader, jetstream_api.go jsMsgGetRequest): a stream member answers message gets as soon
// as its Raft node is leader. A write acknowledged by the old leader is in the new leader's Raft
// log (it was part of the quorum), but a follower applies an entry to its stream store only once
// it learns the entry is committed, which comes with the leader's next append; an old leader killed
// right after acknowledging takes that news with it. Until the new leader commits an entry of
// its own term and applies the backlog, its store (what gets, stream info and the CAS pre-check
// read) lacks those writes: a Get right after an acknowledged write returned the previous version
// in the replication test. The client-side check is the fix we can make; the server's own is
// a leader that waits for its applied index to reach its commit before serving (later releases).
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { UnavailableError } from '../../../shared/errors/index.js';

// A leader that keeps answering below the floor is not catching up: nats-server 2.9.10 members
// were seen to hold different messages under the same sequence numbers after kill -9 restarts
// (replication.test.ts prints each member's copy when it happens). Asking it to step down gives
// the other members a turn; the refusals go on until one answers at or above the floor.

/** Keys whose floor is remembered; the oldest noted is forgotten first (its check then passes). */
const MAX_KEYS = 65_536;
/** How soon to ask again: the new leader applies its backlog once it commits in its own term. */
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

export class ReadFloor {
  private readonly keys = new Map<string, number>();
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

  /** Throws StaleReadError when `answered` (0: absent) is below `floor`, sampled before the read. */
  check(what: string, answered: number, floor: number, now = Date.now()): void {
    if (answered >= floor) {
      this.refusingSince = 0;
      return;
    }
    this.refused++;
    const err = new StaleReadError(
      `${what}: the stream leader answered revision ${answered || 'none'}, below revision ${floor} already acknowledged or read here; asking again`,
    );
    this.onRefused?.(err);
    if (this.refusingSince === 0) this.refusingSince = now;
    else if (now - this.refusingSince >= STEP_DOWN_AFTER_MS && now - this.steppedDownAt >= STEP_DOWN_EVERY_MS) {
      this.steppedDownAt = now;
      this.onPersistent?.(err);
    }
    throw err;
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
      log.warn({ err: err.message, ...w }, 'the stream leader keeps answering below acknowledged revisions: asking it to step down');
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 2000 }).catch(() => undefined);
    });
}
