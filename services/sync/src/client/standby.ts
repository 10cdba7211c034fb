// A warm standby: one idle, already-connected HTTP/2 session (a grpc-js Client with no call) to
// the sync server this agent would fail over to. When the agent's server dies, its next stream
// opens on this session: no TCP, TLS or HTTP/2 set-up on either side at the failover, when the
// surviving server takes all of the dead one's agents at once (loadtest/RESULTS.md, issue 17: the
// survivor's CPU per orphan falls by up to half; its one event loop setting up thousands of
// sessions was what made a failover take seconds). The cost is one more connection per agent on its standby
// server, idle (a descriptor and ~15 KB there), which the server counts against its open-file
// limit and closes first when it nears it (server/fd-limit.ts `ConnectionLedger`).
//
// The standby uses the same credentials as the streams (one ClientChannel, stream.ts
// `syncClient`), so a TLS server is verified exactly as for a stream. It is re-armed, after a
// backoff, when its connection fails or drops (its server died, refused, or closed idle sessions
// to make room); where to is the agent's choice (`pick`), a random other server, and not the one
// the agent just lost while in sync unless it is the only other one, and then only after a
// backoff: it most likely is still dead (with two servers, every orphan would otherwise knock on
// it the moment it is in sync on the survivor).
import type { Client } from '@grpc/grpc-js';
import { connectivityState } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { nextBackoff } from './backoff.js';

/**
 * Re-arming after a failure: the first retry after 2.5–5 s, then doubling, at most a minute
 * apart. A standby lost with its server is not urgent (the stream is fine), and that server is
 * most likely still dead a second later: quicker retries only make every agent of a cluster
 * knock on a dead server (in bench:fanout, where one process plays thousands of agents, the
 * survivors' agents re-arming every second cost more CPU than the failover's resumes).
 */
export const STANDBY_BACKOFF_INITIAL_MS = 5000;
export const STANDBY_BACKOFF_MAX_MS = 60_000;

export interface StandbyOptions {
  /** Makes a client to ENDPOINT (stream.ts `syncClient`, with the agent's credentials). */
  connect(endpoint: string): Client;
  /** A server to arm to that is none of EXCLUDE (the agent's stream's, the one it lost); undefined: none. */
  pick(exclude: readonly string[]): string | undefined;
  log?: Logger;
  random?: () => number;
}

export class Standby {
  private client: Client | undefined;
  private _endpoint: string | undefined;
  private ready = false;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  /** The server of the agent's stream, which the standby must not be on. */
  private avoid: string | undefined;
  /** The server the agent lost while in sync: last choice, and after a backoff. */
  private lost: string | undefined;
  /** Connections that reached READY, and those handed to a stream. */
  readonly counts = { armed: 0, connected: 0, taken: 0, failed: 0 };

  constructor(private readonly options: StandbyOptions) {}

  private get random(): () => number {
    return this.options.random ?? Math.random;
  }

  /** The server the standby is connected to, when it is connected. */
  get endpoint(): string | undefined {
    return this.ready ? this._endpoint : undefined;
  }

  /** Where the standby is (being) armed to, connected or not. */
  get target(): string | undefined {
    return this._endpoint;
  }

  /**
   * The agent's stream is on STREAMING: keep (or, after DELAYMS, arm) a standby to another server.
   * A standby already on another server stays; one on that same server is moved.
   */
  follow(streaming: string, delayMs = 0, lost?: string): void {
    if (this.closed) return;
    this.avoid = streaming;
    this.lost = lost;
    if (this._endpoint !== undefined && this._endpoint !== streaming) return;
    this.drop();
    if (this.timer) return;
    this.schedule(delayMs);
  }

  /**
   * The connected client to ENDPOINT, handed over (the stream now owns and closes it); undefined
   * when the standby is elsewhere or not connected. The standby is then empty until `follow`.
   */
  take(endpoint: string): Client | undefined {
    if (!this.ready || this._endpoint !== endpoint || !this.client) return undefined;
    // READY as last seen: a connection that dropped since then shows here first.
    if (this.client.getChannel().getConnectivityState(false) !== connectivityState.READY) return undefined;
    const client = this.client;
    this.client = undefined;
    this._endpoint = undefined;
    this.ready = false;
    this.counts.taken++;
    return client;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drop();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.arm();
    }, delayMs);
    // The agent's stream keeps the process alive, not a standby waiting to be armed.
    this.timer.unref();
  }

  private arm(): void {
    if (this.closed || this.client) return;
    const exclude = [this.avoid, this.lost].filter((e): e is string => e !== undefined);
    const endpoint = this.options.pick(exclude);
    if (endpoint === undefined) {
      // Only the lost server is left: try it, but after a backoff (it is most likely still dead).
      if (this.lost === undefined || this.lost === this.avoid) return;
      this.lost = undefined;
      this.schedule(nextBackoff(this.attempt++, STANDBY_BACKOFF_INITIAL_MS, STANDBY_BACKOFF_MAX_MS, this.random));
      return;
    }
    const client = this.options.connect(endpoint);
    this.client = client;
    this._endpoint = endpoint;
    this.ready = false;
    this.counts.armed++;
    const channel = client.getChannel();
    const watch = (seen: number) => {
      channel.watchConnectivityState(seen, Infinity, () => {
        if (this.client !== client) return; // taken by a stream, or dropped
        const state = channel.getConnectivityState(false);
        if (state === connectivityState.READY) {
          this.ready = true;
          this.attempt = 0;
          this.counts.connected++;
          this.options.log?.debug({ endpoint }, 'standby session up');
        } else if (
          state === connectivityState.TRANSIENT_FAILURE ||
          state === connectivityState.SHUTDOWN ||
          (state === connectivityState.IDLE && (this.ready || seen !== connectivityState.IDLE))
        ) {
          // Refused, or up and then dropped (its server died or closed idle sessions): grpc-js
          // would retry at once on its own; a dead server's agents all would. Back off instead,
          // then pick again (with three or more servers, maybe another one).
          this.failed(endpoint);
          return;
        }
        watch(state);
      });
    };
    // Connect now: a channel with no call stays IDLE otherwise.
    watch(channel.getConnectivityState(true));
  }

  private failed(endpoint: string): void {
    this.counts.failed++;
    const delay = nextBackoff(this.attempt++, STANDBY_BACKOFF_INITIAL_MS, STANDBY_BACKOFF_MAX_MS, this.random);
    this.options.log?.debug({ endpoint, retryInMs: delay }, 'standby session lost; re-arming');
    this.drop();
    this.schedule(delay);
  }

  private drop(): void {
    this.client?.close();
    this.client = undefined;
    this._endpoint = undefined;
    this.ready = false;
  }
}
