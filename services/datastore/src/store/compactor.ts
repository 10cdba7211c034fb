// Periodic tombstone compaction: every `intervalMs`, purge deletion markers older than
// `retentionMs` (ResourceStore.compact). Runs never overlap; a failed run is logged and the next
// tick tries again. Several datastore replicas may compact at once: purging is idempotent and the
// compacted revision only ever rises (compare-and-set in META_BUCKET).
import type { Logger } from 'pino';
import type { ResourceStore } from './resource-store.js';

export interface CompactionResult {
  purged: number;
  compactedRevision: number;
}

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CompactionResult> | undefined;

  constructor(
    private readonly store: ResourceStore,
    private readonly retentionMs: number,
    private readonly log: Logger,
    private readonly onRun?: (result: CompactionResult) => void,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.runOnce().catch((err: unknown) =>
        this.log.warn({ err }, 'tombstone compaction failed; retrying on the next tick'),
      );
    }, intervalMs);
    this.timer.unref();
  }

  /** One compaction now (joins a run in progress). */
  runOnce(): Promise<CompactionResult> {
    if (!this.running) {
      this.running = this.store.compact(this.retentionMs).then(
        (result) => {
          this.running = undefined;
          if (result.purged > 0) this.log.info(result, 'purged tombstones');
          this.onRun?.(result);
          return result;
        },
        (err: unknown) => {
          this.running = undefined;
          throw err;
        },
      );
    }
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
