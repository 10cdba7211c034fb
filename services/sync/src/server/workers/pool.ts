// The worker processes of one sync server (`workers` > 1): the main process keeps the one
// datastore follower, the cache, the snapshots and every decision (handshake, resume or snapshot,
// shedding, draining); each worker serves the gRPC streams of the connections it is handed, and
// writes to them what the main process encoded once (child.ts).
//
// Why processes and not worker_threads (Node 20): a connection cannot move to a thread (no
// handle transfer between threads), and threads sharing one listening descriptor (`listen({fd})`)
// both accept unevenly (one thread takes most of a burst) and close that descriptor for all when
// one of them exits, so a crashed thread would take the port down. Processes receive each accepted
// socket as a handle (SCM_RIGHTS), the main process picks the least-loaded worker, and a crashed
// worker is restarted while the others keep serving. The price: each frame is copied once per
// worker over its pipe (pipe.ts; not per stream), and a worker's Node runtime and grpc-js.
//
// Crash: a worker that exits unexpectedly loses its connections; its streams close
// ('unavailable') and its agents reconnect to the same address, where the main process hands
// them to the live workers. It is restarted after `restartDelayMs`.
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { entryPoint } from '../../../../shared/paths/index.js';
import type { Caller, ServerTlsSettings } from '../../../../shared/tls/index.js';
import type { ValidHello } from '../../protocol/index.js';
import type { CloseReason } from '../client-stream.js';
import type { HostOptions } from '../stream-host.js';
import type { Batch, ChildInit, FromChild, ToChild } from './protocol.js';
import { MessagePipe } from './pipe.js';
import type { StreamLink } from './remote-stream.js';

const CHILD = entryPoint('services/sync/src/server/workers/child.ts');

export interface PoolEvents {
  hello(worker: number, id: number, hello: ValidHello, caller: Caller): void;
  closed(worker: number, id: number, reason: CloseReason): void;
  done(task: number, worker: number, updates: number, messages: number, streams: number): void;
  metrics(calls: Array<[string, ...unknown[]]>): void;
  /** A worker exited unexpectedly (its streams are gone). */
  lost(worker: number): void;
}

export interface PoolOptions {
  count: number;
  host: HostOptions;
  tls: ServerTlsSettings | undefined;
  maxSockets?: number;
  log: Logger;
  restartDelayMs?: number;
}

/** One worker process and the batched channel to it. */
export class WorkerLink implements StreamLink {
  child: ChildProcess | undefined;
  /** Frames and decisions (the IPC channel carries the init and the connections). */
  pipe: MessagePipe<Batch<FromChild>, Batch<ToChild>> | undefined;
  ready = false;
  /** Connections handed to it and not closed yet (what "least loaded" compares). */
  connections = 0;
  private out: ToChild[] = [];
  private scheduled = false;
  private refs = new WeakMap<Buffer, number>();
  private nextRef = 0;
  private forgotten: number[] = [];
  private readonly registry = new FinalizationRegistry<number>((ref) => {
    this.forgotten.push(ref);
  });

  constructor(readonly index: number) {}

  post(m: ToChild): void {
    if (!this.ready) return;
    this.out.push(m);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.forgotten.length > 0) this.out.push({ t: 'forget', refs: this.forgotten.splice(0) });
    if (this.out.length === 0 || !this.pipe) return void (this.out = []);
    const batch = this.out;
    this.out = [];
    this.pipe.send({ batch });
  }

  /** The worker's number for BUF, defining it (one copy to the worker) the first time. */
  ref(buf: Buffer): number {
    let ref = this.refs.get(buf);
    if (ref === undefined) {
      ref = ++this.nextRef;
      this.refs.set(buf, ref);
      this.registry.register(buf, ref);
      this.post({ t: 'frame', ref, b: buf });
    }
    return ref;
  }

  send(id: number, buf: Buffer, rev: number, commit: boolean, grace: boolean): void {
    this.post({ t: 'send', id, ref: this.ref(buf), rev, commit, grace });
  }
  accept(id: number): void {
    this.post({ t: 'accept', id });
  }
  live(id: number): void {
    this.post({ t: 'live', id });
  }
  end(id: number, reason: CloseReason): void {
    this.post({ t: 'end', id, reason });
  }
  fail(id: number, code: number, details: string, reason: CloseReason): void {
    this.post({ t: 'fail', id, code, details, reason });
  }

  /** A new process: nothing it was sent before exists there. */
  reset(child: ChildProcess, pipe: MessagePipe<Batch<FromChild>, Batch<ToChild>>): void {
    this.child = child;
    this.pipe = pipe;
    this.ready = false;
    this.connections = 0;
    this.out = [];
    this.refs = new WeakMap();
    this.forgotten = [];
  }
}

export class WorkerPool {
  readonly links: WorkerLink[];
  private closing = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly events: PoolEvents,
  ) {
    this.links = Array.from({ length: options.count }, (_, i) => new WorkerLink(i));
  }

  /** Starts every worker; resolves once all are ready (rejects if one fails to start). */
  async start(): Promise<void> {
    await Promise.all(this.links.map((l) => this.spawn(l)));
  }

  /** Hands an accepted connection to the ready worker holding the fewest. */
  handOff(socket: Socket): void {
    let best: WorkerLink | undefined;
    for (const l of this.links) if (l.ready && (!best || l.connections < best.connections)) best = l;
    if (!best) {
      socket.destroy();
      return;
    }
    best.flush();
    best.connections++;
    best.child!.send({ t: 'socket' }, socket, { keepOpen: false }, (err) => {
      if (err) socket.destroy();
    });
  }

  broadcast(make: (link: WorkerLink) => ToChild | undefined): WorkerLink[] {
    const sent: WorkerLink[] = [];
    for (const l of this.links) {
      if (!l.ready) continue;
      const m = make(l);
      if (m) {
        l.post(m);
        sent.push(l);
      }
    }
    return sent;
  }

  /** Asks every worker to end its streams and exit; resolves when they did (killed after 5 s). */
  async close(details: string): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.links.map(async (l) => {
        const child = l.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        if (l.ready) {
          l.post({ t: 'close', details });
          l.flush();
        } else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private spawn(link: WorkerLink): Promise<void> {
    const child = fork(CHILD.script, [], {
      execArgv: CHILD.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    });
    // The listening socket keeps a server's process alive; the workers alone must not (a process
    // that forgot to close its server still exits, and the workers with it: they exit on disconnect).
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    const stream = child.stdio[4] as Duplex & { unref?: () => void };
    stream.unref?.();
    let onBatch: (m: Batch<FromChild>) => void = () => undefined;
    link.reset(child, new MessagePipe<Batch<FromChild>, Batch<ToChild>>(stream, (m) => onBatch(m)));
    const init: ChildInit = {
      t: 'init',
      worker: link.index,
      host: this.options.host,
      tls: this.options.tls,
      ...(this.options.maxSockets !== undefined ? { maxSockets: this.options.maxSockets } : {}),
    };
    child.send(init);
    return new Promise<void>((resolve, reject) => {
      onBatch = (m) => {
        for (const e of m.batch) {
          if (e.t === 'ready') {
            link.ready = true;
            resolve();
          } else this.onMessage(link, e);
        }
      };
      child.once('exit', (code, signal) => {
        const wasReady = link.ready;
        link.ready = false;
        if (!wasReady) reject(new Error(`sync worker ${link.index} exited while starting (${signal ?? code})`));
        if (this.closing || link.child !== child) return;
        this.options.log.error(
          { worker: link.index, code, signal },
          'sync worker exited; its agents reconnect; restarting it',
        );
        this.events.lost(link.index);
        setTimeout(() => {
          if (this.closing) return;
          this.spawn(link).catch((err: unknown) =>
            this.options.log.error({ worker: link.index, err: String(err) }, 'restarting a sync worker failed'),
          );
        }, this.options.restartDelayMs ?? 1000).unref();
      });
    });
  }

  private onMessage(link: WorkerLink, e: FromChild): void {
    switch (e.t) {
      case 'hello':
        this.events.hello(link.index, e.id, e.hello, e.caller);
        return;
      case 'closed':
        this.events.closed(link.index, e.id, e.reason);
        return;
      case 'done':
        this.events.done(e.task, link.index, e.updates, e.messages, e.streams);
        return;
      case 'metrics':
        this.events.metrics(e.calls);
        return;
      case 'sockets-closed':
        link.connections = Math.max(0, link.connections - e.count);
        return;
    }
  }
}
