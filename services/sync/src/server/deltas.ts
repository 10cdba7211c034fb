// Live changes as fan-out tasks: for each syncer type, one SyncDeltas every client of the type
// shares and one per affected node for its endpoints, each encoded once per negotiated
// compression (lazily, so at most three encodings whatever the number of clients). A client
// with a node part gets the shared message in its "partial" variant (revision 0), then its node
// message (the commit); the others get the shared message with the commit revision. The same
// Buffer objects go to every stream. Live updates carry their commit time and trace context
// (change-trace.ts).
import type { SyncCompression, SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import type { Change } from '../cache/index.js';
import { encodeFrame, updateBlock } from '../protocol/index.js';
import { SYNCER_TYPES, scopeOf, type SyncerType } from '../view/index.js';
import type { ClientStream } from './client-stream.js';
import type { Fanout, FanoutTask } from './fanout.js';
import { ChangeSpans, liveUpdate } from './change-trace.js';

/** The live streams of each syncer type, and of each node within it. */
export interface LiveIndex {
  readonly live: Record<SyncerType, Set<ClientStream>>;
  readonly liveByNode: Record<SyncerType, Map<string, Set<ClientStream>>>;
}

export interface DeltaOptions {
  /** Deltas smaller than this stay uncompressed. */
  compressMinBytes: number;
  /** Per task, once its last stream is visited: updates and messages written. */
  fannedOut(updates: number, messages: number): void;
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
  for (const syncer of SYNCER_TYPES) {
    if (live.live[syncer].size === 0) continue;
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
    if (shared.length === 0 && perNode.size === 0) continue;
    spans?.hold();
    fanout.push(deltaTask(syncer, revision, shared, perNode, live, options, spans));
  }
  spans?.close();
}

function deltaTask(
  syncer: SyncerType,
  revision: number,
  shared: SyncUpdate[],
  perNode: Map<string, SyncUpdate[]>,
  index: LiveIndex,
  options: DeltaOptions,
  spans: ChangeSpans | undefined,
): FanoutTask {
  const min = options.compressMinBytes;
  const deltas = (updates: SyncUpdate[], rev: number) => (c: SyncCompression) =>
    encodeFrame({ message: { $case: 'deltas', value: { block: updateBlock(updates, c, min).block, revision: rev } } });
  const sharedCommit = perCompression(deltas(shared, revision));
  const sharedPartial = perCompression(deltas(shared, 0));
  const nodeMessages = new Map<string, (c: SyncCompression) => Buffer>();
  for (const [node, updates] of perNode) nodeMessages.set(node, perCompression(deltas(updates, revision)));
  const live = index.live[syncer];
  const byNode = index.liveByNode[syncer];
  let updatesOut = 0;
  let messagesOut = 0;
  let streamsOut = 0;
  return {
    kind: 'deltas',
    revision,
    targets: () =>
      shared.length > 0
        ? live
        : (function* () {
            for (const node of perNode.keys()) yield* byNode.get(node) ?? [];
          })(),
    deliver: (s) => {
      if (s.sentRevision >= revision) return 0;
      const { node, compression } = s.hello!;
      const mine = nodeMessages.get(node);
      let n = 0;
      if (mine) {
        if (shared.length > 0) {
          s.send(sharedPartial(compression), revision, false);
          n++;
        }
        s.send(mine(compression), revision, true);
        updatesOut += shared.length + perNode.get(node)!.length;
        n++;
      } else if (shared.length > 0) {
        s.send(sharedCommit(compression), revision, true);
        updatesOut += shared.length;
        n++;
      }
      messagesOut += n;
      if (n > 0) streamsOut++;
      return n;
    },
    done: () => {
      options.fannedOut(updatesOut, messagesOut);
      spans?.release(streamsOut);
    },
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
