// Frames every client arriving at the same revision gets alike, built once per cache revision
// instead of once per stream: the ServerHello (per compression and resume flag), the InSync, and
// the shared-scope changes a resume from revision R needs (per syncer type, R and compression).
// When a server dies, thousands of its agents resume here from the same few revisions within a
// second; with these memos a resume costs the server its node part (usually empty) and the
// writes, not a protobuf encode and a gzip per stream.
//
// Everything is dropped when the cache's revision (or the datastore) changes (the next client gets frames for the new
// head), so the memo holds at most one revision's worth.
import { SyncFeature, type SyncCompression, type SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import type { Cache } from '../cache/index.js';
import { encodeFrame } from '../protocol/index.js';
import { scopeOf, type SyncerType } from '../view/index.js';
import { deltaMessages, toUpdate } from './snapshots.js';

const VERSION_FEATURES = [SyncFeature.SYNC_FEATURE_RECONNECT];

export interface SharedFrameOptions {
  serverId: string;
  pingIntervalMs: number;
  chunkBytes: number;
  compressMinBytes: number;
}

export interface SharedChanges {
  messages: readonly Buffer[];
  /** Updates in the messages. */
  count: number;
}

/** A resume's frames that every client resuming from the same revision gets alike, concatenated. */
export interface ResumeFrames {
  /** ServerHello(resume) and the shared changes: what comes before the node's own changes. */
  head: Buffer;
  /** `head` and then InSync: the whole resume of a client whose node did not change. */
  whole: Buffer;
  /** Shared updates in `head`. */
  count: number;
}

export class SharedFrames {
  private head = '';
  private readonly frames = new Map<string, Buffer>();
  private readonly since = new Map<string, SharedChanges>();
  private readonly resumes = new Map<string, ResumeFrames>();

  constructor(
    private readonly cache: Cache,
    private readonly options: SharedFrameOptions,
    private readonly datastoreId: () => string,
  ) {}

  serverHello(compression: SyncCompression, resume: boolean): Buffer {
    this.check();
    const key = `hello/${compression}/${resume}`;
    let frame = this.frames.get(key);
    if (!frame) {
      frame = encodeFrame({
        message: {
          $case: 'serverHello',
          value: {
            serverId: this.options.serverId,
            revision: this.cache.revision,
            datastoreId: this.datastoreId(),
            compression,
            features: VERSION_FEATURES,
            pingIntervalMs: this.options.pingIntervalMs,
            resume,
          },
        },
      });
      this.frames.set(key, frame);
    }
    return frame;
  }

  /** InSync at the cache's revision. */
  inSync(): Buffer {
    this.check();
    let frame = this.frames.get('insync');
    if (!frame)
      this.frames.set(
        'insync',
        (frame = encodeFrame({ message: { $case: 'inSync', value: { revision: this.cache.revision } } })),
      );
    return frame;
  }

  /** The shared-scope entries of `syncer`'s view changed after `from`, as SyncDeltas (revision 0). */
  sharedChangesSince(syncer: SyncerType, from: number, compression: SyncCompression): SharedChanges {
    this.check();
    const key = `${syncer}/${from}/${compression}`;
    let hit = this.since.get(key);
    if (!hit) {
      const updates: SyncUpdate[] = [];
      for (const e of this.cache.changedSince(from)) if (scopeOf(syncer, e.kind) === 'all') updates.push(toUpdate(e));
      hit = { messages: deltaMessages(updates, compression, this.options), count: updates.length };
      this.since.set(key, hit);
    }
    return hit;
  }

  /**
   * The frames of a resume from `from`, joined into one Buffer each: a failover brings thousands
   * of clients from the same few revisions, and one write per stream (one HTTP/2 DATA frame)
   * costs the event loop less than three.
   */
  resume(syncer: SyncerType, from: number, compression: SyncCompression): ResumeFrames {
    this.check();
    const key = `${syncer}/${from}/${compression}`;
    let hit = this.resumes.get(key);
    if (!hit) {
      const shared = this.sharedChangesSince(syncer, from, compression);
      const head = Buffer.concat([this.serverHello(compression, true), ...shared.messages]);
      hit = { head, whole: Buffer.concat([head, this.inSync()]), count: shared.count };
      this.resumes.set(key, hit);
    }
    return hit;
  }

  private check(): void {
    const head = `${this.cache.revision}/${this.datastoreId()}`;
    if (head === this.head) return;
    this.head = head;
    this.frames.clear();
    this.since.clear();
    this.resumes.clear();
  }
}
