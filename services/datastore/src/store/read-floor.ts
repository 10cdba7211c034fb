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
import { UnavailableError } from '../../../shared/errors/index.js';

/** Keys whose floor is remembered; the oldest noted is forgotten first (its check then passes). */
const MAX_KEYS = 65_536;
/** How soon to ask again: the new leader applies its backlog once it commits in its own term. */
const STALE_RETRY_MS = 100;

export class StaleReadError extends UnavailableError {
  constructor(message: string) {
    super(message, { retryAfterMs: STALE_RETRY_MS, reason: 'stale-read' });
  }
}

export class ReadFloor {
  private readonly keys = new Map<string, number>();
  /** Called with each refusal (the datastore logs it: which answer, which floor). */
  onRefused: ((err: StaleReadError) => void) | undefined;
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

  /** Records a revision of `key` that was acknowledged or read. */
  note(key: string, revision: number): void {
    this.noteStream(revision);
    const known = this.keys.get(key);
    if (known !== undefined && known >= revision) return;
    this.keys.delete(key); // re-inserted last: the map's order is the forgetting order
    this.keys.set(key, revision);
    if (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
  }

  noteStream(revision: number): void {
    if (revision > this._stream) this._stream = revision;
  }

  /** Throws StaleReadError when `answered` (0: absent) is below `floor`, sampled before the read. */
  check(what: string, answered: number, floor: number): void {
    if (answered >= floor) return;
    this.refused++;
    const err = new StaleReadError(
      `${what}: the stream leader answered revision ${answered || 'none'}, below revision ${floor} already acknowledged or read here; asking again`,
    );
    this.onRefused?.(err);
    throw err;
  }
}
