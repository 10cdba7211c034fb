// Where streams live: the gRPC server, each call's ClientStream, the request decoding (hello,
// pongs), the live sets and the fan-out writing to them, and the ping rounds. One per sync
// server with `workers: 1`; one per worker process otherwise (workers/child.ts), where the
// decisions a valid hello needs (authorization, admission, resume or snapshot) are the main
// process's. What happens after a valid hello is `events.hello`'s to decide.
import { Server, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { toGrpcStatus } from '../../../shared/grpc-status/index.js';
import type { Caller } from '../../../shared/tls/index.js';
import { SyncRequest, type SyncClientHello } from '../../../../proto/gen/meshless/v1/sync.js';
import { RAW_SYNC_SERVICE, validateHello, type ValidHello } from '../protocol/index.js';
import { ClientStream, type CloseReason } from './client-stream.js';
import { Fanout } from './fanout.js';
import type { SyncMetrics } from './metrics.js';
import type { SyncServerOptions } from './options.js';
import { StreamIndex } from './stream-index.js';

export type HostOptions = Pick<
  SyncServerOptions,
  | 'serverId'
  | 'maxMessageBytes'
  | 'handshakeTimeoutMs'
  | 'pongTimeoutMs'
  | 'fanoutChunk'
  | 'directWrites'
  | 'maxLagBytes'
  | 'maxLagRevisions'
  | 'newClientGraceMs'
>;

export type HostMetrics = Pick<SyncMetrics, 'rejected' | 'fanoutDuration' | 'clientLag' | 'pingLatency'>;

export interface HostEvents {
  /** A hello passed validation; the stream waits in handshake for a decision. */
  hello(stream: ClientStream, hello: ValidHello, caller: Caller): void;
  /** A stream closed, whoever closed it. */
  closed(stream: ClientStream): void;
}

export class StreamHost {
  readonly grpc: Server;
  readonly index = new StreamIndex<ClientStream>();
  readonly fanout: Fanout;
  private nextStreamId = 0;
  /** What waits for the decision on a stream's hello (a second hello's refusal). */
  private readonly deferred = new WeakMap<ClientStream, () => void>();
  /** Set once closing: new calls get UNAVAILABLE. */
  closing = false;

  constructor(
    private readonly options: HostOptions,
    private readonly metrics: HostMetrics,
    private readonly events: HostEvents,
    private readonly callerOf: (call: ServerDuplexStream<Buffer, Buffer>) => Caller,
  ) {
    this.fanout = new Fanout(options.fanoutChunk, (sec, kind) => metrics.fanoutDuration(sec, kind));
    this.grpc = new Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': -1,
      // Channelz (grpc-js's introspection, unused here) registers every HTTP/2 session and call
      // and formats a trace line per connection: per-agent work when thousands reconnect at once.
      'grpc.enable_channelz': 0,
    });
    this.grpc.addService(RAW_SYNC_SERVICE, {
      sync: (call: ServerDuplexStream<Buffer, Buffer>) => this.handleCall(call),
    });
  }

  /** The decision on STREAM's hello was applied: run what waited for it. */
  settled(stream: ClientStream): void {
    const run = this.deferred.get(stream);
    this.deferred.delete(stream);
    if (run && stream.phase !== 'closed') run();
  }

  /**
   * One slice of a ping round: for the live streams whose id is `slice` modulo `slices`, pong
   * timeouts and lag samples, then a ping (one shared frame). The server pings one slice at a
   * time across the interval (sync-server.ts, `pingSlices`), so each stream is still pinged once
   * per interval.
   */
  pingRound(frame: Buffer, id: number, revision: number, slice = 0, slices = 1): void {
    const now = Date.now();
    const index = this.index;
    function* sliceOf(): IterableIterator<ClientStream> {
      for (const s of index.liveStreams()) if (s.id % slices === slice) yield s;
    }
    for (const s of sliceOf()) {
      if (now - s.lastPongAt > this.options.pongTimeoutMs) {
        s.fail(
          status.DEADLINE_EXCEEDED,
          `no SyncPong for ${now - s.lastPongAt} ms (pong timeout ${this.options.pongTimeoutMs} ms)`,
          'pong-timeout',
        );
        continue;
      }
      this.metrics.clientLag(s.lag(revision).revisions);
    }
    this.fanout.push({
      kind: 'ping',
      revision,
      targets: sliceOf,
      deliver: (s) => {
        s.ping(frame, id, revision);
        return 1;
      },
    });
  }

  /** Ends every open stream with UNAVAILABLE. */
  failAll(details: string): void {
    for (const s of [...this.index.open]) s.fail(status.UNAVAILABLE, details, 'shutdown');
  }

  /** Closes the gRPC server (forcibly after 2 s); `destroy` drops what an injector still holds. */
  shutdown(destroy?: () => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        destroy?.();
        this.grpc.forceShutdown();
        resolve();
      }, 2000);
      force.unref();
      this.grpc.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  reject(stream: ClientStream, code: status, details: string, reason: CloseReason): void {
    this.metrics.rejected(reason);
    stream.fail(code, details, reason);
  }

  private handleCall(call: ServerDuplexStream<Buffer, Buffer>): void {
    const stream = new ClientStream(
      ++this.nextStreamId,
      call,
      this.options,
      (s) => this.events.closed(s),
      this.options.directWrites,
    );
    if (this.closing) {
      stream.fail(status.UNAVAILABLE, `sync server ${this.options.serverId} is shutting down`, 'shutdown');
      return;
    }
    this.index.add(stream, this.callerOf(call));
    stream.awaitHello(this.options.handshakeTimeoutMs, () =>
      this.reject(
        stream,
        status.DEADLINE_EXCEEDED,
        `no SyncClientHello within ${this.options.handshakeTimeoutMs} ms`,
        'handshake-timeout',
      ),
    );
    call.on('data', (buf: Buffer) => this.onRequest(stream, buf));
    call.on('end', () => stream.end('client'));
    call.on('cancelled', () => stream.gone());
    call.on('error', () => stream.gone());
    call.on('close', () => stream.gone());
  }

  private onRequest(stream: ClientStream, buf: Buffer): void {
    if (stream.phase === 'closed') return;
    let request: SyncRequest;
    try {
      request = SyncRequest.decode(buf);
    } catch (err) {
      this.reject(stream, status.INVALID_ARGUMENT, `malformed SyncRequest: ${(err as Error).message}`, 'invalid');
      return;
    }
    const m = request.message;
    if (!m) {
      this.reject(
        stream,
        status.INVALID_ARGUMENT,
        'SyncRequest with no message set (expected client_hello, then pong)',
        'invalid',
      );
    } else if (m.$case === 'clientHello') {
      const twice = () =>
        this.reject(stream, status.INVALID_ARGUMENT, 'client_hello: sent twice on one stream', 'invalid');
      // Still waiting for the main process's decision on the first (worker processes): answer the
      // first, then refuse, as a server deciding at once does.
      if (stream.phase === 'handshake' && stream.hello) this.deferred.set(stream, twice);
      else if (stream.phase !== 'handshake') twice();
      else this.onHello(stream, m.value);
    } else if (stream.phase === 'handshake') {
      this.reject(stream, status.INVALID_ARGUMENT, 'pong: received before client_hello', 'invalid');
    } else {
      const seconds = stream.pong(m.value.id);
      if (seconds !== undefined) this.metrics.pingLatency(seconds);
    }
  }

  private onHello(stream: ClientStream, raw: SyncClientHello): void {
    stream.helloArrived();
    let hello: ValidHello;
    try {
      hello = validateHello(raw);
    } catch (err) {
      const st = toGrpcStatus(err);
      this.metrics.rejected('invalid');
      stream.fail(st.code, st.details, 'invalid', st.metadata);
      return;
    }
    stream.greeted(hello);
    this.events.hello(stream, hello, this.index.caller(stream));
  }
}
