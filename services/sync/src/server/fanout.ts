// The ordered fan-out pipeline. Each applied batch of changes (and each ping round) becomes a
// task whose messages are encoded once when the task is created; the task is then written to its
// target streams in chunks of `chunkSize` streams per event-loop turn, so 10,000 streams never
// hold the loop for one long stretch (pongs, handshakes and NATS keep flowing between chunks).
//
// Ordering: tasks run one after another, so every stream sees them in revision order. A stream
// that goes live after a task's batch reached the cache was served from the cache at a revision
// that already includes the task, so `deliver` skips streams whose sentRevision is at or past
// the task's revision (pings: past it). Targets are live sets iterated as they change: a stream
// added meanwhile is visited and skipped that way, a stream removed is not visited.
import type { ClientStream } from './client-stream.js';

export interface FanoutTask {
  readonly kind: 'deltas' | 'ping';
  /** The revision the task's messages bring a client to. */
  readonly revision: number;
  /** The streams to write to, captured when the task starts. */
  targets(): Iterable<ClientStream>;
  /** Writes the task's messages to one live stream (or skips it, see above). Returns messages written. */
  deliver(stream: ClientStream): number;
  /** Called once every target was visited. */
  done?(): void;
}

export class Fanout {
  private readonly tasks: FanoutTask[] = [];
  /** When each queued task was pushed (same order as `tasks`). */
  private readonly queuedAt: number[] = [];
  private current: Iterator<ClientStream> | undefined;
  private scheduled = false;
  /** Messages written, for the fan-out metric. */
  delivered = 0;

  /** `observe` gets, per task, the seconds from push to its last write (queueing included). */
  constructor(
    private readonly chunkSize: number,
    private readonly observe?: (seconds: number, kind: FanoutTask['kind']) => void,
  ) {}

  get pending(): number {
    return this.tasks.length;
  }

  push(task: FanoutTask): void {
    this.tasks.push(task);
    this.queuedAt.push(performance.now());
    if (!this.scheduled) this.pump();
  }

  private pump(): void {
    this.scheduled = false;
    let budget = this.chunkSize;
    while (budget > 0 && this.tasks.length > 0) {
      const task = this.tasks[0]!;
      this.current ??= task.targets()[Symbol.iterator]();
      for (;;) {
        if (budget === 0) break;
        const next = this.current.next();
        if (next.done) {
          this.current = undefined;
          this.tasks.shift();
          const queued = this.queuedAt.shift()!;
          this.observe?.((performance.now() - queued) / 1000, task.kind);
          task.done?.();
          break;
        }
        budget--;
        const stream = next.value;
        if (stream.phase !== 'live') continue;
        this.delivered += task.deliver(stream);
      }
    }
    if (this.tasks.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }
}
