// Is the server's cache still the datastore's state? Judged at every horizon poll from three
// numbers read together: the cache's revision (sampled first), the datastore's compacted
// revision, and the stream's last sequence.
//
// Past compaction: the datastore raises the compacted revision C *before* purging tombstones up
// to C. If at the previous poll our revision was already >= C, we had read every tombstone that
// can be purged now. If not (the server was frozen, partitioned, or its watch stuck while
// compaction ran), deletions up to C may be gone before we read them: the cache may keep deleted
// entries forever, so it must be read again (DatastoreFollower.resync). Only the revision held at the
// previous poll counts, not the current one: a server that just resumed races through the
// remaining changes and may already be past C, minus the purged deletions.
//
// Stalled: the stream leader holds a message after our revision, and our revision has not moved
// for `stallPolls` polls: the watch is stuck and is opened again from our revision, and again
// every `stallPolls` polls for as long as that stays true. (It used to be judged from the
// stream's last sequence, once per last sequence: the last sequence stays above our revision when
// the newest messages were tombstones since purged, which is no stall, and a watch stuck a second
// time at the same last sequence, with the writers paused, was never opened again: the chaos
// suite's stale agent, seed 4, stuck for 60 s after one re-open.)
export type Verdict =
  | { readonly kind: 'ok'; readonly raiseHorizonTo: number | undefined }
  | { readonly kind: 'stale'; readonly reason: string }
  | { readonly kind: 'stalled'; readonly reason: string };

export class Freshness {
  /** Our revision at the last poll whose compacted revision was accepted. */
  private checkedRevision = 0;
  private lastRevision = -1;
  private stillPolls = 0;

  constructor(private readonly stallPolls = 3) {}

  /** After a full read of the KV (start, resync): everything up to `revision` is known. */
  reset(revision: number): void {
    this.checkedRevision = revision;
    this.lastRevision = revision;
    this.stillPolls = 0;
  }

  /** Why the cache may have missed purged deletions at this compacted revision, or undefined (no state change). */
  pastCompaction(horizon: number, compacted: number): string | undefined {
    if (compacted > horizon && compacted > this.checkedRevision)
      return `the datastore compacted up to revision ${compacted} while we held revision ${this.checkedRevision}: deletions may have been purged before we read them`;
    return undefined;
  }

  /**
   * `revision` must be sampled before `compacted` and `next` were read; `next` is the revision of
   * the leader's first message after `revision` (undefined: none).
   */
  judge(revision: number, horizon: number, compacted: number, next: number | undefined): Verdict {
    const stale = this.pastCompaction(horizon, compacted);
    if (stale) return { kind: 'stale', reason: stale };
    this.checkedRevision = revision;
    if (revision !== this.lastRevision || next === undefined) {
      this.lastRevision = revision;
      this.stillPolls = 0;
    } else if (++this.stillPolls >= this.stallPolls) {
      this.stillPolls = 0;
      return {
        kind: 'stalled',
        reason: `the watch has stayed at revision ${revision} for ${this.stallPolls} polls while the datastore holds revision ${next}`,
      };
    }
    return { kind: 'ok', raiseHorizonTo: compacted > horizon ? compacted : undefined };
  }
}
