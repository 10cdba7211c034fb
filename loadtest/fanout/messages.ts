// IPC between the benchmark coordinator (main.ts) and its processes (worker.ts, floor-server.ts).
import type { SyncCompression } from '../../proto/gen/meshless/v1/sync.js';

export type ToWorker =
  | {
      type: 'connect';
      endpoints: string[];
      compression: SyncCompression[];
      agents: Array<{ index: number; node: string }>;
      totalAgents: number;
      /** --tls: the CA, client certificate and key (PEM) every stream presents to the servers. */
      tls?: { ca: string; cert: string; key: string };
    }
  | { type: 'failover-watch'; endpoint: string }
  | { type: 'floor-connect'; ports: number[]; count: number; frameBytes: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'hello' }
  | { type: 'progress'; inSync: number }
  | {
      type: 'insync';
      snapshotBytes: number[];
      bytes: number[];
      endpoints: string[];
      /** Per agent: CRC-32 of the snapshot chunks it received (content.ts), and its node. */
      digests: number[];
      nodes: string[];
    }
  | { type: 'received'; change: number; times: number[] }
  /** The first time an agent of this worker received ping `id` of the server at `endpoint`. */
  | { type: 'ping-seen'; endpoint: string; id: number; at: number }
  | { type: 'watching'; count: number }
  /** `warm`: of the `count` streams, those that resumed over their standby session. */
  | { type: 'resynced'; count: number; snapshotBytes: number; warm: number; at: number; moments: number[][] }
  | { type: 'floor-connected' }
  | { type: 'floor-received'; change: number; latencies: number[] };

/** `t0`: when the write loop counts from (default: when it starts in the floor process). */
export type ToFloor = { type: 'send'; change: number; t0?: number } | { type: 'stop' };
export type FromFloor =
  | { type: 'listening'; port: number }
  | { type: 'connections'; count: number }
  | { type: 'sent'; change: number; writeMs: number };
