// Live changes as fan-out tasks: for each syncer type, one SyncDeltas every client of the type
// shares and one per affected node for its endpoints, each encoded once per negotiated
// compression (at most three encodings whatever the number of clients). A client with a node
// part gets the shared message in its "partial" variant (revision 0), then its node message (the
// commit); the others get the shared message with the commit revision. The same Buffer objects go
// to every stream. Live updates carry their commit time and trace context (change-trace.ts).
//
// Three steps, so that with worker processes (workers/) the main process plans and encodes once
// and each worker only delivers: `planDeltas` (which updates go where), `lazyFrames` (encoding,
// on first use per compression) or `toWire`/`fromWire` (the frames a worker needs, encoded in the
// main process), and `deltaTask` (the writes, where the streams are).
import { status } from '@grpc/grpc-js';
import type { SyncCompression, SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import type { Change } from '../cache/index.js';
import { encodeFrame, updateBlock } from '../protocol/index.js';
import { SYNCER_TYPES, scopeOf, type SyncerType } from '../view/index.js';
import type { ClientStream } from './client-stream.js';
import type { Fanout, FanoutTask } from './fanout.js';
import { ChangeSpans, liveUpdate } from './change-trace.js';

/** The live streams of each syncer type, and of each node within it. */
export interface LiveIndex<S = ClientStream> {
  readonly live: Record<SyncerType, Set<S>>;
  readonly liveByNode: Record<SyncerType, Map<string, Set<S>>>;
}

export interface DeltaOptions {
  /** Deltas smaller than this stay uncompressed. */
  compressMinBytes: number;
  /** Per task, once its last stream is visited: updates and messages written. */
  fannedOut(updates: number, messages: number): void;
}

/** One syncer type's share of a batch. */
export interface DeltaPlan {
  syncer: SyncerType;
  revision: number;
  shared: SyncUpdate[];
  perNode: Map<string, SyncUpdate[]>;
}

/** A plan's frames by compression; undefined when a compression was not encoded (see fromWire). */
export interface DeltaFrames {
  readonly syncer: SyncerType;
  readonly revision: number;
  readonly sharedCount: number;
  /** The nodes with a node part, and its number of updates. */
  readonly nodeCounts: ReadonlyMap<string, number>;
  sharedCommit(c: SyncCompression): Buffer | undefined;
  sharedPartial(c: SyncCompression): Buffer | undefined;
  node(node: string, c: SyncCompression): Buffer | undefined;
}

/** Splits a batch at `revision` by syncer type (those `wanted`), shared and per node. */
export function planDeltas(
  changes: Change[],
  revision: number,
  wanted: (syncer: SyncerType) => boolean,
  spans: ChangeSpans | undefined,
): DeltaPlan[] {
  const plans: DeltaPlan[] = [];
  for (const syncer of SYNCER_TYPES) {
    if (!wanted(syncer)) continue;
    const shared: SyncUpdate[] = [];
    const perNode = new Map<string, SyncUpdate[]>();
    const forNode = (node: string, u: SyncUpdate) => {
      const list = perNode.get(node);
      if (list) list.push(u);
      else perNode.set(node, [u]);
    };
    for (const change of changes) {
      const { entry, previous } = change;
      const scope = scopeOf(syncer, entry.kind);
      if (scope === 'all') shared.push(liveUpdate(change, spans));
      else if (scope === 'node') {
        if (entry.node !== undefined) forNode(entry.node, liveUpdate(change, spans));
        if (previous?.node !== undefined && previous.node !== entry.node)
          forNode(previous.node, liveUpdate(change, spans, true));
      }
    }
    if (shared.length > 0 || perNode.size > 0) plans.push({ syncer, revision, shared, perNode });
  }
  return plans;
}

/** The plan's frames, each encoded on first use. */
export function lazyFrames(plan: DeltaPlan, compressMinBytes: number): DeltaFrames {
  const deltas = (updates: SyncUpdate[], rev: number) => (c: SyncCompression) =>
    encodeFrame({
      message: { $case: 'deltas', value: { block: updateBlock(updates, c, compressMinBytes).block, revision: rev } },
    });
  const sharedCommit = perCompression(deltas(plan.shared, plan.revision));
  const sharedPartial = perCompression(deltas(plan.shared, 0));
  const nodes = new Map<string, (c: SyncCompression) => Buffer>();
  const nodeCounts = new Map<string, number>();
  for (const [node, updates] of plan.perNode) {
    nodes.set(node, perCompression(deltas(updates, plan.revision)));
    nodeCounts.set(node, updates.length);
  }
  return {
    syncer: plan.syncer,
    revision: plan.revision,
    sharedCount: plan.shared.length,
    nodeCounts,
    sharedCommit,
    sharedPartial,
    node: (node, c) => nodes.get(node)?.(c),
  };
}

/** Frames as sent to a worker: only the compressions (and nodes) its live streams use. */
export interface WireDeltas {
  syncer: SyncerType;
  revision: number;
  sharedCount: number;
  /** [compression, commit frame, partial frame (only when some node has a part)] */
  shared: Array<[SyncCompression, Uint8Array, Uint8Array | null]>;
  /** [node, updates, [compression, frame][]] */
  nodes: Array<[string, number, Array<[SyncCompression, Uint8Array]>]>;
}

/**
 * Encodes what streams of `frames.syncer` need: the shared frames in `compressions`, and each
 * node's part in the compressions `nodeCompressions(node)` returns (none: no live stream there).
 */
export function toWire(
  frames: DeltaFrames,
  compressions: readonly SyncCompression[],
  nodeCompressions: (node: string) => Iterable<SyncCompression>,
): WireDeltas {
  const nodes: WireDeltas['nodes'] = [];
  for (const [node, count] of frames.nodeCounts) {
    const list: Array<[SyncCompression, Uint8Array]> = [];
    for (const c of nodeCompressions(node)) list.push([c, frames.node(node, c)!]);
    if (list.length > 0) nodes.push([node, count, list]);
  }
  const shared: WireDeltas['shared'] = [];
  if (frames.sharedCount > 0)
    for (const c of compressions)
      shared.push([c, frames.sharedCommit(c)!, nodes.length > 0 ? frames.sharedPartial(c)! : null]);
  return { syncer: frames.syncer, revision: frames.revision, sharedCount: frames.sharedCount, shared, nodes };
}

export function fromWire(w: WireDeltas): DeltaFrames {
  const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const commit = new Map<SyncCompression, Buffer>();
  const partial = new Map<SyncCompression, Buffer>();
  for (const [c, f, p] of w.shared) {
    commit.set(c, buf(f));
    if (p) partial.set(c, buf(p));
  }
  const nodes = new Map<string, Map<SyncCompression, Buffer>>();
  const nodeCounts = new Map<string, number>();
  for (const [node, count, list] of w.nodes) {
    nodes.set(node, new Map(list.map(([c, f]) => [c, buf(f)])));
    nodeCounts.set(node, count);
  }
  return {
    syncer: w.syncer,
    revision: w.revision,
    sharedCount: w.sharedCount,
    nodeCounts,
    sharedCommit: (c) => commit.get(c),
    sharedPartial: (c) => partial.get(c),
    node: (node, c) => nodes.get(node)?.get(c),
  };
}

/**
 * Turns one batch of changes at `revision` into at most one task per syncer type with live
 * clients, pushed to the fan-out in syncer order.
 */
export function pushDeltaTasks(
  fanout: Pick<Fanout, 'push'>,
  changes: Change[],
  revision: number,
  live: LiveIndex,
  options: DeltaOptions,
): void {
  const spans = ChangeSpans.start(changes, revision);
  for (const plan of planDeltas(changes, revision, (s) => live.live[s].size > 0, spans)) {
    spans?.hold();
    fanout.push(
      deltaTask(lazyFrames(plan, options.compressMinBytes), live, (updates, messages, streams) => {
        options.fannedOut(updates, messages);
        spans?.release(streams);
      }),
    );
  }
  spans?.close();
}

/** The task writing `frames` to the live streams of its syncer type; `done` gets what was written. */
export function deltaTask(
  frames: DeltaFrames,
  index: LiveIndex,
  done: (updates: number, messages: number, streams: number) => void,
): FanoutTask {
  const { syncer, revision, sharedCount, nodeCounts } = frames;
  const live = index.live[syncer];
  const byNode = index.liveByNode[syncer];
  let updatesOut = 0;
  let messagesOut = 0;
  let streamsOut = 0;
  return {
    kind: 'deltas',
    revision,
    targets: () =>
      sharedCount > 0
        ? live
        : (function* () {
            for (const node of nodeCounts.keys()) yield* byNode.get(node) ?? [];
          })(),
    deliver: (s) => {
      if (s.sentRevision >= revision) return 0;
      const { node, compression } = s.hello!;
      const nodeCount = nodeCounts.get(node);
      const out: Array<[Buffer | undefined, boolean]> = [];
      if (nodeCount !== undefined) {
        if (sharedCount > 0) out.push([frames.sharedPartial(compression), false]);
        out.push([frames.node(node, compression), true]);
      } else if (sharedCount > 0) out.push([frames.sharedCommit(compression), true]);
      if (out.some(([b]) => b === undefined)) {
        // Only with workers: the main process encoded for the streams it knew live. Never expected;
        // the client resumes and loses nothing.
        s.fail(
          status.UNAVAILABLE,
          `no frame for revision ${revision}; resume from ${s.writtenRevision}`,
          'unavailable',
        );
        return 0;
      }
      for (const [b, commit] of out) s.send(b!, revision, commit);
      updatesOut += (nodeCount ?? 0) + sharedCount;
      messagesOut += out.length;
      if (out.length > 0) streamsOut++;
      return out.length;
    },
    done: () => done(updatesOut, messagesOut, streamsOut),
  };
}

function perCompression(make: (c: SyncCompression) => Buffer): (c: SyncCompression) => Buffer {
  const made = new Map<SyncCompression, Buffer>();
  return (c) => {
    let b = made.get(c);
    if (!b) made.set(c, (b = make(c)));
    return b;
  };
}
