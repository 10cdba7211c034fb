// Messages between the main process of a sync server and its worker processes (child.ts), over
// a pipe of their own (pipe.ts, v8 serialization), batched: each write carries every message of
// one event-loop turn. The init and the connections use Node's IPC channel: a connection is the
// handle of a `socket` message (SCM_RIGHTS). Stream ids are the worker's.
//
// Frames are referenced: the first time the main process sends a Buffer object to a worker it is
// defined (`frame`, copied once into that worker), later sends of the same Buffer name its number,
// and `forget` drops it once the main process no longer holds the Buffer. A shared snapshot is
// thus copied once per worker whatever the number of its clients there.
import type { Caller, ServerTlsSettings } from '../../../../shared/tls/index.js';
import type { ValidHello } from '../../protocol/index.js';
import type { CloseReason } from '../client-stream.js';
import type { WireDeltas } from '../deltas.js';
import type { HostOptions } from '../stream-host.js';

export interface ChildInit {
  t: 'init';
  worker: number;
  host: HostOptions;
  /** How the worker builds its TLS credentials; absent: plain text. */
  tls: ServerTlsSettings | undefined;
  /** Sockets the worker may hold (SyncServerOptions.maxSockets); absent: from its own open-file limit. */
  maxSockets?: number;
}

export type ToChild =
  | { t: 'frame'; ref: number; b: Uint8Array }
  | { t: 'forget'; refs: number[] }
  | { t: 'send'; id: number; ref: number; rev: number; commit: boolean; grace: boolean }
  | { t: 'accept'; id: number }
  | { t: 'live'; id: number }
  | { t: 'end'; id: number; reason: CloseReason }
  | { t: 'fail'; id: number; code: number; details: string; reason: CloseReason }
  | { t: 'deltas'; task: number; w: WireDeltas }
  | { t: 'ping'; id: number; revision: number; f: Uint8Array; slice: number; slices: number }
  | { t: 'close'; details: string };

export type FromChild =
  | { t: 'ready' }
  | { t: 'hello'; id: number; hello: ValidHello; caller: Caller }
  | { t: 'closed'; id: number; reason: CloseReason }
  | { t: 'done'; task: number; updates: number; messages: number; streams: number }
  /** Metric calls made in the worker, replayed on the main process's instruments. */
  | { t: 'metrics'; calls: Array<[string, ...unknown[]]> }
  | { t: 'sockets-closed'; count: number };

/** A batch: every message of one turn, in order. */
export interface Batch<T> {
  batch: T[];
}
