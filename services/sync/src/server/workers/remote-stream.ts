// A stream served by a worker process, as the main process's decisions see it (the same surface
// as a local ClientStream, `ServedStream`): phase and admission live here, writes become
// messages to the worker, which owns the HTTP/2 stream, its queue, lag limit and pings. Whatever
// closes the stream first wins: the main process (end, fail) or the worker (client gone, lag,
// pong timeout; `closedRemotely`).
import type { status } from '@grpc/grpc-js';
import type { ValidHello } from '../../protocol/index.js';
import type { CloseReason, StreamPhase } from '../client-stream.js';
import type { IndexedStream } from '../stream-index.js';
import { RevisionWait } from '../revision-wait.js';

/** What the server's decisions use of a stream, local or on a worker. */
export interface ServedStream extends IndexedStream {
  readonly id: number;
  readonly phase: StreamPhase;
  readonly closeReason: CloseReason | undefined;
  send(buf: Buffer, revision: number, commit: boolean, endsGrace?: boolean): boolean;
  end(reason: CloseReason): void;
  fail(code: status, details: string, reason: CloseReason): void;
  accept(): void;
  waitForRevision(ms: number, onTimeout: () => void): void;
  stopWaiting(): void;
  goLive(): void;
}

/** The messages a RemoteStream sends to its worker. */
export interface StreamLink {
  send(id: number, buf: Buffer, revision: number, commit: boolean, endsGrace: boolean): void;
  accept(id: number): void;
  live(id: number): void;
  end(id: number, reason: CloseReason): void;
  fail(id: number, code: number, details: string, reason: CloseReason): void;
}

export class RemoteStream implements ServedStream {
  private _phase: StreamPhase = 'handshake';
  private _accepted = false;
  closeReason: CloseReason | undefined;
  private readonly revisionWait = new RevisionWait();

  constructor(
    /** Unique in the server (the worker's id is `localId`). */
    readonly id: number,
    readonly localId: number,
    readonly worker: number,
    readonly hello: ValidHello,
    private readonly link: StreamLink,
    private readonly onClosed: (s: RemoteStream) => void,
  ) {}

  get phase(): StreamPhase {
    return this._phase;
  }

  get accepted(): boolean {
    return this._accepted;
  }

  send(buf: Buffer, revision: number, commit: boolean, endsGrace = false): boolean {
    if (this._phase === 'closed') return false;
    this.link.send(this.localId, buf, revision, commit, endsGrace);
    return true;
  }

  accept(): void {
    this._accepted = true;
    this._phase = 'syncing';
    this.link.accept(this.localId);
  }

  goLive(): void {
    if (this._phase === 'closed') return;
    this._phase = 'live';
    this.link.live(this.localId);
  }

  waitForRevision(ms: number, onTimeout: () => void): void {
    this.revisionWait.start(ms, onTimeout);
  }

  stopWaiting(): void {
    this.revisionWait.stop();
  }

  end(reason: CloseReason): void {
    if (this.markClosed(reason)) this.link.end(this.localId, reason);
  }

  fail(code: status, details: string, reason: CloseReason): void {
    if (this.markClosed(reason)) this.link.fail(this.localId, code, details, reason);
  }

  /** The worker closed the stream (or the worker is gone). */
  closedRemotely(reason: CloseReason): void {
    this.markClosed(reason);
  }

  private markClosed(reason: CloseReason): boolean {
    if (this._phase === 'closed') return false;
    this.stopWaiting();
    this._phase = 'closed';
    this.closeReason = reason;
    this.onClosed(this);
    return true;
  }
}
