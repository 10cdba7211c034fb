// Where datastore mode gets its resources. The reflector is a sync client like the node agents
// (the `bgp` syncer: Nodes, IPPools, IPAM blocks and affinities, BGPPeers, BGPConfiguration), so
// the datastore only ever sees sync servers. Behind a small interface so another source (a direct
// KV watch, a file) can replace it.

import type { Logger } from 'pino';
import { SyncAgent } from '../../../sync/index.js';
import { parseResourceKey } from '../../../shared/nats/index.js';
import type { ResourceChange } from './model.js';

export interface ResourceSource {
  /**
   * Starts delivering changes: first everything already known (from local state), then each
   * commit. `inSync` is true on a batch that ends a snapshot or resume (the view is complete).
   */
  start(onChanges: (changes: readonly ResourceChange[], inSync: boolean, revision: number) => void): Promise<void>;
  close(): Promise<void>;
}

export interface SyncSourceOptions {
  /** The reflector's Node name (its identity towards the sync servers). */
  readonly node: string;
  /** Sync servers, HOST:PORT. */
  readonly endpoints: readonly string[];
  /** LMDB directory for the synced view (resume instead of snapshot after a restart). */
  readonly stateDir?: string;
  /** Credentials directory for mutual TLS to the sync servers; absent: plain text. */
  readonly credentials?: string;
  readonly log: Logger;
}

export function syncSource(o: SyncSourceOptions): ResourceSource {
  const agent = new SyncAgent({
    node: o.node,
    syncer: 'bgp',
    endpoints: o.endpoints,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    log: o.log.child({ subsystem: 'sync-client' }),
  });
  return {
    async start(onChanges) {
      agent.on('commit', (c) =>
        onChanges(
          c.updates.map((u) =>
            u.traceparent
              ? { kind: u.kind, name: u.name, value: u.value, traceparent: u.traceparent, revision: u.revision }
              : { kind: u.kind, name: u.name, value: u.value },
          ),
          c.inSync,
          c.revision,
        ),
      );
      agent.on('status', (s) =>
        o.log.info({ status: s.status, endpoint: s.endpoint, revision: s.revision, reason: s.reason }, 'sync status'),
      );
      await agent.start();
      const known: ResourceChange[] = [];
      for (const key of agent.keys()) {
        const e = agent.get(key);
        const k = parseResourceKey(key);
        if (e && k) known.push({ kind: k.kind, name: k.name, value: e.value });
      }
      if (known.length) onChanges(known, false, agent.revision);
    },
    async close() {
      await agent.stop();
    },
  };
}
