// The sync protocol's client (proto/meshless/v1/sync.proto), beside the server as Typha keeps
// syncclient beside syncserver: SyncAgent keeps one node's view of the datastore current by following
// the sync servers, and tells its consumer what changed. Node agents (the `agent` view) and route
// reflectors (the `bgp` view) both use it.
//
//   const agent = new SyncAgent({ node: 'node-1', endpoints: ['10.0.0.5:5473', '10.0.0.6:5473'], stateDir });
//   agent.on('commit', ({ revision, updates }) => program(updates));
//   await agent.start();
//   for await (const e of agent.events()) ...        // or an async iterator of updates and status
//
// Failover: endpoints are tried in turn, starting at a random one so agents spread out; after a
// failure the agent waits an exponential backoff with jitter (reset once a session reaches
// InSync); after losing a session that was in sync, a random spread instead (its server's other
// agents lost it at the same moment), as wide as the number of agents needs, and then a random
// one of the other servers, not the next in the list (backoff.ts `failoverIndex`: they share the
// list, so the next one would take them all). A Reconnect from the server is not a failure: the
// agent goes at once to the server it suggests (or the next endpoint), and resumes there from its
// revision.
// Warm standby (option `standby`, on by default with two or more servers): once in sync, the
// agent also holds an idle, connected HTTP/2 session to the server it would fail over to (a random
// other one, as `failoverIndex` chooses), and its next stream after losing its server opens on
// that session (standby.ts). The failover then goes where the standby is, and the reconnect
// spread is narrower (`WARM_RESUMES_PER_SECOND`): there is no accept queue to protect.
// Revisions only go forward: a commit below the agent's revision is a protocol violation (the
// session ends and the agent tries elsewhere), except after a replace from another datastore.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { SyncCompression, SyncReconnectReason, type SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import { KIND_TOKENS, parseResourceKey } from '../../../shared/nats/index.js';
import { WARM_RESUMES_PER_SECOND, failoverIndex, nextBackoff, reconnectSpread } from './backoff.js';
import { SyncStream, SyncProtocolError, clientHello, syncClient, type StreamOutcome } from './stream.js';
import { Standby } from './standby.js';
import { AgentState, type AgentUpdate, type StateEntry } from './state.js';
import { clientChannel, type ClientChannel } from '../../../shared/tls/index.js';
import { NODE_SCOPED_KINDS } from '../view/index.js';
import { continueTraces, SPAN_KIND } from '../../../shared/tracing/index.js';

export const AGENT_VERSION = 'meshless-agent/0.1';

export type AgentStatus = 'connecting' | 'syncing' | 'in-sync' | 'stopped';

export interface AgentStatusEvent {
  readonly status: AgentStatus;
  /** The server this is about. */
  readonly endpoint: string;
  readonly revision: number;
  /** Why the agent left its previous server, when it did. */
  readonly reason?: string;
  /** For 'syncing': whether the server resumes (deltas only) or sends a snapshot. */
  readonly resume?: boolean;
}

export interface AgentCommit {
  readonly revision: number;
  readonly updates: readonly AgentUpdate[];
  /** True for the commit that ends a resume or snapshot. */
  readonly inSync: boolean;
}

export type AgentEvent = { type: 'update'; update: AgentUpdate } | { type: 'status'; status: AgentStatusEvent };

export interface SyncAgentOptions {
  node: string;
  /** 'agent' (default) or 'bgp'. */
  syncer?: string;
  /** Sync servers, HOST:PORT. */
  endpoints: readonly string[];
  /** LMDB directory for the state; without it the agent starts empty (a snapshot) every time. */
  stateDir?: string;
  compression?: readonly SyncCompression[];
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /**
   * After losing a session that was in sync (its server died), wait a random time up to this
   * before reconnecting: every agent of that server loses it at the same moment, and spreading
   * them keeps the surviving servers' accept queues from overflowing. Default: from the number
   * of Nodes in the view and of endpoints (backoff.ts `reconnectSpread`: ~1 s for 10,000 agents
   * on two servers, a few ms for a small cluster).
   */
  reconnectSpreadMs?: number;
  handshakeTimeoutMs?: number;
  maxMessageBytes?: number;
  /** Credentials directory (ca.crt, tls.crt, tls.key): mutual TLS to servers holding a sync-server certificate; absent: plain text. */
  credentials?: string;
  /**
   * Keep a warm standby session to the server this agent would fail over to (standby.ts).
   * Default: true when there are two or more endpoints. Costs each server one idle connection
   * per agent that has it as standby (a descriptor, ~15 KB); takes up to half of the surviving
   * server's CPU per orphan off a failover (services/sync/DESIGN.md, "Warm standby").
   */
  standby?: boolean;
  log?: Logger;
}

export interface AgentStats {
  /** Streams opened to sync servers (SyncStream). */
  sessions: number;
  snapshots: number;
  resumes: number;
  /** Bytes of snapshot chunks received, over the agent's life. */
  snapshotBytes: number;
  bytesReceived: number;
  commits: number;
  updates: number;
  reconnects: number;
  failures: number;
  /** Streams opened on the warm standby session (no connection set-up). */
  warmStreams: number;
}

export declare interface SyncAgent {
  on(event: 'update', listener: (u: AgentUpdate) => void): this;
  on(event: 'commit', listener: (c: AgentCommit) => void): this;
  on(event: 'status', listener: (s: AgentStatusEvent) => void): this;
}

export class SyncAgent extends EventEmitter {
  readonly node: string;
  readonly syncer: string;
  private state: AgentState | undefined;
  private stream: SyncStream | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Set by SyncReconnect(RESYNC): the next hello asks for a snapshot, whatever revision we hold. */
  private snapshotNext = false;
  private endpointIndex: number;
  private _status: AgentStatus = 'stopped';
  private _endpoint = '';
  /** One set of credentials for every session: redirects are followed only to servers it accepts. */
  private readonly channel: ClientChannel;
  readonly stats: AgentStats = {
    sessions: 0,
    snapshots: 0,
    resumes: 0,
    snapshotBytes: 0,
    bytesReceived: 0,
    commits: 0,
    updates: 0,
    reconnects: 0,
    failures: 0,
    warmStreams: 0,
  };
  /** The server whose in-sync stream was lost last, until the next InSync (the standby avoids it). */
  private lostInSync: string | undefined;
  /** The warm standby session, when enabled (option `standby`) and there is another server. */
  private readonly standby: Standby | undefined;

  constructor(private readonly options: SyncAgentOptions) {
    super();
    if (options.endpoints.length === 0)
      throw new Error('SyncAgent: endpoints: at least one sync server HOST:PORT is required');
    this.node = options.node;
    this.syncer = options.syncer ?? 'agent';
    this.endpointIndex = Math.floor(Math.random() * options.endpoints.length);
    this.channel = clientChannel(options.credentials, ['sync-server']);
    if (options.standby !== undefined && typeof options.standby !== 'boolean')
      throw new Error(`SyncAgent: standby: expected true or false, got ${JSON.stringify(options.standby)}`);
    const endpoints = options.endpoints;
    if ((options.standby ?? true) && endpoints.length > 1)
      this.standby = new Standby({
        connect: (endpoint) => syncClient(endpoint, this.channel, this.maxMessageBytes),
        // As after a loss (failoverIndex): a random one of the others, so orphans spread out.
        pick: (exclude) => {
          const others = endpoints.filter((e) => !exclude.includes(e));
          return others[Math.floor(Math.random() * others.length)];
        },
        log: options.log,
      });
  }

  private get maxMessageBytes(): number {
    return this.options.maxMessageBytes ?? 64 * 1024 * 1024;
  }

  /** The warm standby's connections: armed, connected, taken by a stream, failed (all 0 without one). */
  get standbyCounts(): Readonly<Standby['counts']> {
    return this.standby?.counts ?? { armed: 0, connected: 0, taken: 0, failed: 0 };
  }

  /** The warm standby's server when its session is up (undefined: none, or not connected). */
  get standbyEndpoint(): string | undefined {
    return this.standby?.endpoint;
  }

  get revision(): number {
    return this.state?.revision ?? 0;
  }

  get contentHash(): string {
    return this.requireState().contentHash;
  }

  get status(): AgentStatus {
    return this._status;
  }

  /** The server of the current (or last) session. */
  get endpoint(): string {
    return this._endpoint;
  }

  get size(): number {
    return this.state?.size ?? 0;
  }

  get(key: string): StateEntry | undefined {
    return this.state?.get(key);
  }

  keys(): string[] {
    return [...(this.state?.keys() ?? [])];
  }

  /** Opens the state and starts following the servers; resolves at once (watch 'status'). */
  async start(): Promise<void> {
    if (this.running) return;
    this.state ??= AgentState.open(this.options.stateDir, this.node, this.syncer);
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Resolves once the agent is in sync at a revision of at least `revision` (0: any). */
  waitInSync(revision = 0): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this._status === 'in-sync' && this.revision >= revision) {
          this.off('status', check);
          this.off('commit', check);
          resolve();
        }
      };
      this.on('status', check);
      this.on('commit', check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.standby?.close();
    this.stream?.stop();
    this.wake?.();
    await this.loopDone;
    await this.state?.close();
    this.state = undefined;
    this.setStatus({ status: 'stopped', endpoint: this._endpoint, revision: this.revision });
  }

  /** Every update and status change from now on, until the agent stops. */
  events(): AsyncIterableIterator<AgentEvent> {
    const queue: AgentEvent[] = [];
    let notify: (() => void) | undefined;
    let done = false;
    const onUpdate = (update: AgentUpdate) => push({ type: 'update', update });
    const onStatus = (status: AgentStatusEvent) => {
      push({ type: 'status', status });
      if (status.status === 'stopped') finish();
    };
    const push = (e: AgentEvent) => {
      queue.push(e);
      notify?.();
    };
    const finish = () => {
      done = true;
      this.off('update', onUpdate);
      this.off('status', onStatus);
      notify?.();
    };
    this.on('update', onUpdate);
    this.on('status', onStatus);
    const iterator: AsyncIterableIterator<AgentEvent> = {
      next: async () => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (notify = r));
        notify = undefined;
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private requireState(): AgentState {
    if (!this.state) throw new Error('SyncAgent: not started');
    return this.state;
  }

  private setStatus(s: AgentStatusEvent): void {
    this._status = s.status;
    this.emit('status', s);
  }

  private nextEndpoint(): string {
    const e = this.options.endpoints[this.endpointIndex % this.options.endpoints.length]!;
    this.endpointIndex++;
    return e;
  }

  private async loop(): Promise<void> {
    const log = this.options.log;
    let attempt = 0;
    let next: string | undefined;
    let reason: string | undefined;
    while (this.running) {
      const endpoint = next ?? this.nextEndpoint();
      next = undefined;
      this._endpoint = endpoint;
      this.setStatus({ status: 'connecting', endpoint, revision: this.revision, reason });
      const outcome = await this.runStream(endpoint);
      if (!this.running || outcome.kind === 'stopped') break;
      if (outcome.reachedInSync) attempt = 0;
      if (outcome.kind === 'reconnect') {
        this.stats.reconnects++;
        reason = `${SyncReconnectReason[outcome.reason] ?? outcome.reason}: ${outcome.message}`;
        // The server may have sent wrong state: the next hello carries no revision (a snapshot).
        if (outcome.reason === SyncReconnectReason.SYNC_RECONNECT_REASON_RESYNC) this.snapshotNext = true;
        next = outcome.suggested && outcome.suggested !== endpoint ? outcome.suggested : this.nextEndpoint();
        if (next === endpoint && this.options.endpoints.length > 1) next = this.nextEndpoint();
        log?.info({ from: endpoint, to: next, reason }, 'server asked us to reconnect elsewhere');
        continue;
      }
      this.stats.failures++;
      reason = outcome.error.message;
      const count = this.options.endpoints.length;
      // After losing a server we were in sync with: where the standby is connected, else a random other.
      const warm = outcome.reachedInSync ? this.standby?.endpoint : undefined;
      if (outcome.reachedInSync) this.lostInSync = endpoint;
      if (warm !== undefined) this.endpointIndex = this.options.endpoints.indexOf(warm);
      else if (outcome.reachedInSync)
        this.endpointIndex = failoverIndex(count, this.options.endpoints.indexOf(endpoint), Math.random);
      const delay = outcome.reachedInSync
        ? Math.round(Math.random() * this.spreadMs(warm !== undefined))
        : nextBackoff(attempt++, this.options.backoffInitialMs ?? 100, this.options.backoffMaxMs ?? 10_000);
      log?.warn(
        { endpoint, err: reason, retryInMs: delay, protocolError: outcome.error instanceof SyncProtocolError },
        'sync session ended',
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /**
   * How wide the reconnects after losing an in-sync server are spread (reconnectSpread): with a
   * warm session there is no TCP accept queue to overflow and less CPU per orphan, so narrower.
   */
  private spreadMs(warm: boolean): number {
    if (this.options.reconnectSpreadMs !== undefined) return this.options.reconnectSpreadMs;
    const servers = this.options.endpoints.length;
    return warm
      ? reconnectSpread(this.clusterNodes(), servers, WARM_RESUMES_PER_SECOND)
      : reconnectSpread(this.clusterNodes(), servers);
  }

  /** Nodes in our view: one agent each, so the number of agents that may lose a server with us. */
  private clusterNodes(): number {
    const prefix = `${KIND_TOKENS.Node}.`;
    let n = 0;
    for (const key of this.state?.keys() ?? []) if (key.startsWith(prefix)) n++;
    return n;
  }

  private runStream(endpoint: string): Promise<StreamOutcome> {
    const state = this.requireState();
    // The hello lists the keys of the kinds the server scopes by node (one list, the view's).
    const nodeScopedKeys = [...state.keys()].filter((k) => {
      const kind = parseResourceKey(k)?.kind;
      return kind !== undefined && NODE_SCOPED_KINDS.has(kind);
    });
    this.stats.sessions++;
    const warm = this.standby?.take(endpoint);
    if (warm) this.stats.warmStreams++;
    let armed = false;
    const stream = new SyncStream({
      endpoint,
      channel: this.channel,
      client: warm,
      hello: clientHello(
        this.node,
        this.syncer,
        AGENT_VERSION,
        this.snapshotNext ? 0 : state.revision,
        state.datastoreId,
        nodeScopedKeys,
        [
          ...(this.options.compression ?? [
            SyncCompression.SYNC_COMPRESSION_GZIP,
            SyncCompression.SYNC_COMPRESSION_DEFLATE,
            SyncCompression.SYNC_COMPRESSION_NONE,
          ]),
        ],
      ),
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 10_000,
      maxMessageBytes: this.maxMessageBytes,
      hooks: {
        hello: (serverId, resume) => {
          if (resume) this.stats.resumes++;
          else this.stats.snapshots++;
          this.options.log?.debug({ endpoint, serverId, resume }, 'sync session started');
          this.setStatus({ status: 'syncing', endpoint, revision: state.revision, resume });
        },
        commit: (updates, revision, replace, datastoreId, inSync) => {
          this.commit(state, endpoint, updates, revision, replace, datastoreId, inSync);
          if (replace) this.snapshotNext = false;
          // In sync: (re-)arm the standby on another server. After a random part of a spread:
          // after a cold start or a failover, the agents of a server reach InSync together, and
          // a standby is not urgent enough to set up thousands of sessions at once.
          if (inSync && !armed && this.standby) {
            armed = true;
            this.standby.follow(
              endpoint,
              Math.round(Math.random() * Math.max(1000, 2 * this.spreadMs(false))),
              this.lostInSync,
            );
            this.lostInSync = undefined;
          }
        },
        bookmark: (revision) => {
          state.bookmark(revision);
          state.flushRevision();
        },
        received: (bytes, snapshot) => {
          this.stats.bytesReceived += bytes;
          if (snapshot) this.stats.snapshotBytes += bytes;
        },
      },
    });
    this.stream = stream;
    return stream.run();
  }

  private commit(
    state: AgentState,
    endpoint: string,
    updates: SyncUpdate[],
    revision: number,
    replace: boolean,
    datastoreId: string,
    inSync: boolean,
  ): void {
    const newDatastore = datastoreId !== state.datastoreId && state.datastoreId !== '';
    if (revision < state.revision && !(replace && newDatastore)) {
      throw new SyncProtocolError(
        `${endpoint} sent revision ${revision}, below our revision ${state.revision}: revisions only go forward`,
      );
    }
    if (!replace && newDatastore)
      throw new SyncProtocolError(
        `${endpoint} sent deltas of another datastore (${datastoreId}, ours ${state.datastoreId})`,
      );
    for (const u of updates) {
      if (u.revision > revision)
        throw new SyncProtocolError(
          `${endpoint} sent an update of ${u.key} at revision ${u.revision}, after its commit revision ${revision}`,
        );
      if (!parseResourceKey(u.key))
        throw new SyncProtocolError(`${endpoint} sent an update with an invalid key '${u.key.slice(0, 100)}'`);
    }
    // Traced changes (live deltas only): a span each, which the consumers' spans continue.
    const hop = continueTraces(
      'agent receive',
      updates,
      (u) => ({ 'meshless.node': this.node, 'meshless.revision': u.revision, 'meshless.key': u.key }),
      SPAN_KIND.CONSUMER,
    );
    try {
      const changes = state.commit(updates, revision, replace, datastoreId);
      this.stats.commits++;
      this.stats.updates += changes.length;
      for (const c of changes) this.emit('update', c);
      this.emit('commit', { revision, updates: changes, inSync } satisfies AgentCommit);
    } catch (err) {
      hop?.end(err);
      throw err;
    }
    hop?.end();
    if (inSync) this.setStatus({ status: 'in-sync', endpoint, revision });
  }
}
