// SyncStream: one stream to one sync server, from ClientHello to its end (protocol:
// proto/meshless/v1/sync.proto); "stream", as the server's ClientStream, so that "session" keeps
// meaning a BGP session (services/bgp). AgentStats still counts them as `sessions`. The stream stages what the server sends until a commit point (InSync, a live
// Deltas with a revision, a Ping's bookmark), checks the sequence and that revisions never go
// backwards, and hands each commit to the state. It ends with an outcome the agent acts on:
// Reconnect (go where the server says, no backoff), or a failure (back off, try the next server).
import { Client, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { ClientChannel } from '../../../shared/tls/index.js';
import {
  SyncCompression,
  SyncFeature,
  SyncReconnectReason,
  SyncRequest,
  SyncResponse,
  SyncServiceService,
  type SyncClientHello,
  type SyncUpdate,
} from '../../../../proto/gen/meshless/v1/sync.js';
import { blockUpdates } from './blocks.js';

/** The HTTP/2 window the client grants (stream and connection): a snapshot of most clusters. */
export const FLOW_CONTROL_WINDOW_BYTES = 4 * 2 ** 20;

export type StreamOutcome =
  | { kind: 'reconnect'; suggested: string; reason: SyncReconnectReason; message: string; reachedInSync: boolean }
  | { kind: 'failed'; error: Error; reachedInSync: boolean }
  | { kind: 'stopped'; reachedInSync: boolean };

export interface StreamHooks {
  /** The server's hello: whether a resume (deltas) or a snapshot follows. */
  hello(serverId: string, resume: boolean): void;
  /** A commit; throws to abort the stream (protocol violation). */
  commit(updates: SyncUpdate[], revision: number, replace: boolean, datastoreId: string, inSync: boolean): void;
  bookmark(revision: number): void;
  /** Bytes of each message received, and whether it was a snapshot chunk. */
  received(bytes: number, snapshot: boolean): void;
}

export interface StreamOptions {
  endpoint: string;
  /** TLS credentials (shared/tls clientChannel); absent: plain text. */
  channel?: ClientChannel;
  hello: SyncClientHello;
  /**
   * An already-connected client to `endpoint` (a warm standby, standby.ts) to open the stream on;
   * absent: a new one (TCP, TLS and HTTP/2 set-up first). Either way the stream closes it.
   */
  client?: Client;
  handshakeTimeoutMs: number;
  maxMessageBytes: number;
  hooks: StreamHooks;
}

const serialize = (r: SyncRequest): Buffer => {
  const b = SyncRequest.encode(r).finish();
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
};
const raw = (b: Buffer): Buffer => b;

/**
 * grpc-js drops a channel's connection after 30 min without a call (`grpc.client_idle_timeout_ms`):
 * a warm standby has none for as long as its agent's stream is fine. The largest timer Node takes.
 */
const NEVER_IDLE_MS = 2 ** 31 - 1;

/**
 * How often a connection without calls (a standby) pings its server, and how long it waits for
 * the ack: a server that vanished without a FIN or RST (its host lost power) is noticed while it
 * is still only the standby. One ping a minute per agent is an HTTP/2 PING frame answered by the
 * server's nghttp2 without reaching its JavaScript; grpc-js servers enforce no minimum interval.
 */
export const STANDBY_KEEPALIVE_MS = 60_000;
const STANDBY_KEEPALIVE_TIMEOUT_MS = 20_000;

/** The one way every SyncAgent connection is made, so a standby's client can carry a stream. */
export function syncClient(endpoint: string, channel: ClientChannel | undefined, maxMessageBytes: number): Client {
  return new Client(endpoint, channel?.credentials ?? credentials.createInsecure(), {
    // HTTP/2's default window (64 KiB, per stream and per connection) makes the server stop
    // after each 64 KiB of a snapshot until our WINDOW_UPDATE arrives: a round trip per 64 KiB
    // (RFC 9113 section 6.9.2). A snapshot is read as fast as it comes, so take it in one go.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    ...channel?.options,
    // One connection per client: grpc-js would otherwise share one HTTP/2 connection between
    // every client of the process (a slow stream would throttle the others), and a standby
    // would be the stream's own connection rather than a second one to another server.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.enable_retries': 0,
    'grpc.client_idle_timeout_ms': NEVER_IDLE_MS,
    'grpc.keepalive_time_ms': STANDBY_KEEPALIVE_MS,
    'grpc.keepalive_timeout_ms': STANDBY_KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
  });
}

/** A protocol violation by the server. */
export class SyncProtocolError extends Error {}

export class SyncStream {
  private readonly client: Client;
  private call: ClientDuplexStream<SyncRequest, Buffer> | undefined;
  private phase: 'hello' | 'syncing' | 'live' = 'hello';
  private compression = SyncCompression.SYNC_COMPRESSION_NONE;
  private datastoreId = '';
  private pingIntervalMs = 0;
  private staged: SyncUpdate[] = [];
  private replace = false;
  private pending: SyncUpdate[] = [];
  private readTimer: NodeJS.Timeout | undefined;
  private finish: ((o: StreamOutcome) => void) | undefined;
  private reachedInSync = false;

  constructor(private readonly options: StreamOptions) {
    this.client = options.client ?? syncClient(options.endpoint, options.channel, options.maxMessageBytes);
  }

  /** Runs the stream until it ends. */
  run(): Promise<StreamOutcome> {
    return new Promise<StreamOutcome>((resolve) => {
      this.finish = (o) => {
        this.finish = undefined;
        clearTimeout(this.readTimer);
        this.call?.cancel();
        this.client.close();
        resolve(o);
      };
      const call = this.client.makeBidiStreamRequest(SyncServiceService.sync.path, serialize, raw);
      this.call = call;
      this.armReadTimer(this.options.handshakeTimeoutMs, 'no SyncServerHello');
      call.on('data', (buf: Buffer) => {
        try {
          this.receive(buf);
        } catch (err) {
          this.end({ kind: 'failed', error: err as Error, reachedInSync: this.reachedInSync });
        }
      });
      call.on('error', (err: ServiceError) =>
        this.end({ kind: 'failed', error: err, reachedInSync: this.reachedInSync }),
      );
      call.on('end', () =>
        this.end({
          kind: 'failed',
          error: new Error(`${this.options.endpoint} ended the stream`),
          reachedInSync: this.reachedInSync,
        }),
      );
      call.write({ message: { $case: 'clientHello', value: this.options.hello } });
    });
  }

  /** Ends the stream from outside (the agent stops). */
  stop(): void {
    this.end({ kind: 'stopped', reachedInSync: this.reachedInSync });
  }

  private end(o: StreamOutcome): void {
    this.finish?.(o);
  }

  private armReadTimer(ms: number, what: string): void {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(
      () =>
        this.end({
          kind: 'failed',
          error: new Error(`${what} from ${this.options.endpoint} within ${ms} ms`),
          reachedInSync: this.reachedInSync,
        }),
      ms,
    );
    this.readTimer.unref();
  }

  private receive(buf: Buffer): void {
    if (!this.finish) return;
    const message = SyncResponse.decode(buf).message;
    this.options.hooks.received(buf.byteLength, message?.$case === 'snapshot');
    if (this.pingIntervalMs > 0) this.armReadTimer(3 * this.pingIntervalMs + 1000, 'no message');
    if (!message) throw new SyncProtocolError('the server sent a SyncResponse with no message set');
    switch (message.$case) {
      case 'serverHello': {
        if (this.phase !== 'hello') throw new SyncProtocolError('SyncServerHello sent twice');
        const h = message.value;
        this.compression = h.compression;
        this.datastoreId = h.datastoreId;
        this.pingIntervalMs = h.pingIntervalMs > 0 ? h.pingIntervalMs : 10_000;
        this.armReadTimer(3 * this.pingIntervalMs + 1000, 'no message');
        this.phase = 'syncing';
        this.options.hooks.hello(h.serverId, h.resume);
        return;
      }
      case 'snapshot': {
        if (this.phase !== 'syncing') throw new SyncProtocolError(`SyncSnapshotChunk while ${this.phase}`);
        if (message.value.replace) {
          this.staged = [];
          this.replace = true;
        } else if (!this.replace)
          throw new SyncProtocolError('SyncSnapshotChunk before the chunk with the replace marker');
        for (const u of blockUpdates(message.value.block, this.compression)) this.staged.push(u);
        return;
      }
      case 'deltas': {
        if (this.phase === 'hello') throw new SyncProtocolError('SyncDeltas before SyncServerHello');
        const updates = blockUpdates(message.value.block, this.compression);
        if (this.phase === 'syncing') {
          for (const u of updates) this.staged.push(u);
          return;
        }
        for (const u of updates) this.pending.push(u);
        if (message.value.revision > 0) {
          const batch = this.pending;
          this.pending = [];
          this.options.hooks.commit(batch, message.value.revision, false, this.datastoreId, false);
        }
        return;
      }
      case 'inSync': {
        if (this.phase !== 'syncing') throw new SyncProtocolError(`SyncInSync while ${this.phase}`);
        const batch = this.staged;
        this.staged = [];
        this.options.hooks.commit(batch, message.value.revision, this.replace, this.datastoreId, true);
        this.phase = 'live';
        this.reachedInSync = true;
        return;
      }
      case 'ping': {
        if (this.phase === 'hello') throw new SyncProtocolError('SyncPing before SyncServerHello');
        this.call?.write({ message: { $case: 'pong', value: { id: message.value.id } } });
        if (this.phase === 'live' && this.pending.length === 0) this.options.hooks.bookmark(message.value.revision);
        return;
      }
      case 'reconnect': {
        const r = message.value;
        this.end({
          kind: 'reconnect',
          suggested: r.suggestedAddress,
          reason: r.reason,
          message: r.message,
          reachedInSync: this.reachedInSync,
        });
        return;
      }
    }
  }
}

/** The hello this agent sends. */
export function clientHello(
  node: string,
  syncer: string,
  version: string,
  revision: number,
  datastoreId: string,
  nodeScopedKeys: string[],
  compression: SyncCompression[],
): SyncClientHello {
  return {
    node,
    syncerType: syncer,
    clientVersion: version,
    revision: revision > 0 ? revision : undefined,
    datastoreId,
    compression,
    features: [SyncFeature.SYNC_FEATURE_RECONNECT],
    nodeScopedKeys,
  };
}
