// The main process's side of the worker processes: a RemoteStream for every stream a worker
// forwarded a valid hello for, the fan-out of each change (planned and encoded here once, sent to
// every worker with live streams of the syncer type), ping rounds, the spans and metrics the
// workers report. The decisions stay in SyncServer, which sees RemoteStreams as it sees local
// ClientStreams.
import type { Change } from '../../cache/index.js';
import type { Caller } from '../../../../shared/tls/index.js';
import type { SyncCompression } from '../../../../../proto/gen/meshless/v1/sync.js';
import { encodeFrame, type ValidHello } from '../../protocol/index.js';
import { ChangeSpans } from '../change-trace.js';
import type { CloseReason } from '../client-stream.js';
import { lazyFrames, planDeltas, toWire } from '../deltas.js';
import type { SyncMetrics } from '../metrics.js';
import type { StreamIndex } from '../stream-index.js';
import { WorkerPool, type PoolOptions } from './pool.js';
import { RemoteStream, type ServedStream } from './remote-stream.js';

export interface WorkerStats {
  pid: number | undefined;
  connections: number;
  live: number;
}

interface PendingTask {
  waiting: Set<number>;
  updates: number;
  messages: number;
  streams: number;
  spans: ChangeSpans | undefined;
}

export interface FrontEvents {
  /** A worker's stream passed hello validation: decide (accept, resume or snapshot, or send away). */
  hello(stream: RemoteStream): void;
  /** A stream closed (by us or by its worker). */
  closed(stream: RemoteStream): void;
}

export class WorkerFront {
  readonly pool: WorkerPool;
  private readonly streams: Array<Map<number, RemoteStream>>;
  private readonly tasks = new Map<number, PendingTask>();
  private nextTask = 0;
  private nextId = 0;

  constructor(
    options: PoolOptions,
    private readonly index: StreamIndex<ServedStream>,
    private readonly metrics: SyncMetrics,
    private readonly compressMinBytes: number,
    private readonly events: FrontEvents,
  ) {
    this.streams = Array.from({ length: options.count }, () => new Map());
    this.pool = new WorkerPool(options, {
      hello: (w, id, hello, caller) => this.onHello(w, id, hello, caller),
      closed: (w, id, reason) => this.streams[w]!.get(id)?.closedRemotely(reason),
      done: (task, w, updates, messages, streams) => this.onDone(task, w, updates, messages, streams),
      metrics: (calls) => {
        const m = this.metrics as unknown as Record<string, (...args: unknown[]) => void>;
        for (const [name, ...args] of calls) m[name]?.(...args);
      },
      lost: (w) => {
        for (const s of [...this.streams[w]!.values()]) s.closedRemotely('unavailable');
        for (const [task, t] of this.tasks) if (t.waiting.delete(w) && t.waiting.size === 0) this.finish(task, t);
      },
    });
  }

  /** Plans and encodes a batch once; each worker with live streams of a syncer type gets one copy. */
  changes(changes: Change[], revision: number): void {
    const spans = ChangeSpans.start(changes, revision);
    for (const plan of planDeltas(changes, revision, (s) => this.index.live[s].size > 0, spans)) {
      const frames = lazyFrames(plan, this.compressMinBytes);
      // What the live streams negotiated, per worker (a worker gets only what its streams use).
      const byWorker = new Map<number, { shared: Set<SyncCompression>; nodes: Map<string, Set<SyncCompression>> }>();
      const of = (w: number) => {
        let e = byWorker.get(w);
        if (!e) byWorker.set(w, (e = { shared: new Set(), nodes: new Map() }));
        return e;
      };
      if (plan.shared.length > 0)
        for (const s of this.index.live[plan.syncer]) of((s as RemoteStream).worker).shared.add(s.hello!.compression);
      for (const node of plan.perNode.keys())
        for (const s of this.index.liveByNode[plan.syncer].get(node) ?? []) {
          const e = of((s as RemoteStream).worker);
          let set = e.nodes.get(node);
          if (!set) e.nodes.set(node, (set = new Set()));
          set.add(s.hello!.compression);
        }
      const task = ++this.nextTask;
      const sent = this.pool.broadcast((link) => {
        const e = byWorker.get(link.index);
        if (!e) return undefined;
        return { t: 'deltas', task, w: toWire(frames, [...e.shared], (n) => e.nodes.get(n) ?? []) };
      });
      if (sent.length === 0) continue;
      spans?.hold();
      this.tasks.set(task, {
        waiting: new Set(sent.map((l) => l.index)),
        updates: 0,
        messages: 0,
        streams: 0,
        spans,
      });
    }
    spans?.close();
  }

  /** Per worker: its process id (undefined while restarting) and its accepted and live streams. */
  stats(): WorkerStats[] {
    return this.pool.links.map((l, w) => {
      let accepted = 0;
      let live = 0;
      for (const s of this.streams[w]!.values()) {
        if (s.accepted) accepted++;
        if (s.phase === 'live') live++;
      }
      return { pid: l.ready ? l.child?.pid : undefined, connections: accepted, live };
    });
  }

  /** One Ping frame for every worker; each checks pong timeouts and pings its live streams in `slice`. */
  pingRound(id: number, revision: number, slice: number, slices: number): void {
    const f = encodeFrame({ message: { $case: 'ping', value: { id, revision } } });
    this.pool.broadcast(() => ({ t: 'ping', id, revision, f, slice, slices }));
  }

  private onHello(w: number, localId: number, hello: ValidHello, caller: Caller): void {
    const link = this.pool.links[w]!;
    const stream = new RemoteStream(++this.nextId, localId, w, hello, link, (s) => {
      this.streams[w]!.delete(localId);
      this.events.closed(s);
    });
    this.streams[w]!.set(localId, stream);
    this.index.add(stream, caller);
    this.events.hello(stream);
  }

  private onDone(task: number, w: number, updates: number, messages: number, streams: number): void {
    const t = this.tasks.get(task);
    if (!t) return;
    t.updates += updates;
    t.messages += messages;
    t.streams += streams;
    t.waiting.delete(w);
    if (t.waiting.size === 0) this.finish(task, t);
  }

  private finish(task: number, t: PendingTask): void {
    this.tasks.delete(task);
    this.metrics.fannedOut(t.updates, t.messages);
    t.spans?.release(t.streams);
  }
}

export type { CloseReason };
