// Test fixtures for the sync service's tests: the datastore buckets on a real nats-server, written
// directly with the KV client (as the datastore writes them: Calico v3 JSON under resourceKey),
// compaction as the datastore does it (raise META_COMPACTED_REVISION, then purge tombstones), the
// expected filtered view computed from the KV itself, and server options with short timers.
import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { pino } from 'pino';
import { hashEntries, SyncAgent } from '../client/index.js';
import { insecureSyncArgs } from './args.js';
import { MESHLESS_BIN } from '../../../shared/paths/index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../../shared/testing/index.js';
import { after, before, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  META_BUCKET,
  META_COMPACTED_REVISION,
  RESOURCES_BUCKET,
  connectNats,
  parseResourceKey,
  resourceKey,
  type NatsConnection,
  type StoredKind,
} from '../../../shared/nats/index.js';
import type { SyncServerOptions } from '../server/index.js';
import { SyncRequest, type SyncClientHello } from '../../../../proto/gen/meshless/v1/sync.js';
import { inView, NODE_SCOPED_KINDS, nodeOfResource, type SyncerType } from '../view/index.js';

export const silentLog = pino({ level: process.env.MESHLESS_TEST_LOG ?? 'silent' });

export interface TestDatastore {
  nc: NatsConnection;
  kv: KV;
  meta: KV;
  jsm: JetStreamManager;
  put(
    kind: StoredKind,
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    labels?: Record<string, string>,
  ): Promise<number>;
  del(kind: StoredKind, namespace: string, name: string): Promise<number>;
  /** Every live key → JSON bytes. */
  contents(): Promise<Map<string, Uint8Array>>;
  /** Raises the compacted revision to the highest tombstone and purges every tombstone. */
  compact(): Promise<number>;
  close(): Promise<void>;
}

export function resourceDoc(
  kind: StoredKind,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): string {
  return JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
    spec,
  });
}

export async function openTestDatastore(natsUrl: string): Promise<TestDatastore> {
  const nc = await connectNats(natsUrl, 'test-datastore');
  const kvm = new Kvm(nc);
  const kv = await kvm.create(RESOURCES_BUCKET, { history: 1 });
  const meta = await kvm.create(META_BUCKET, { history: 1 });
  const jsm = await jetstreamManager(nc);
  const ds: TestDatastore = {
    nc,
    kv,
    meta,
    jsm,
    put: (kind, ns, name, spec, labels) =>
      kv.put(resourceKey(kind, ns, name), resourceDoc(kind, ns, name, spec, labels)),
    del: async (kind, ns, name) => {
      await kv.delete(resourceKey(kind, ns, name));
      const e = await kv.get(resourceKey(kind, ns, name));
      return e?.revision ?? 0;
    },
    async contents() {
      const out = new Map<string, Uint8Array>();
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      for (const k of keys) {
        const e = await kv.get(k);
        if (e && e.operation === 'PUT') out.set(k, e.value);
      }
      return out;
    },
    async compact() {
      const tombstones: Array<{ key: string; revision: number }> = [];
      const w = await kv.history({});
      for await (const e of w) if (e.operation !== 'PUT') tombstones.push({ key: e.key, revision: e.revision });
      const highest = tombstones.reduce((m, t) => Math.max(m, t.revision), 0);
      if (highest === 0) return 0;
      await meta.put(META_COMPACTED_REVISION, String(highest));
      for (const t of tombstones)
        await jsm.streams.purge(`KV_${RESOURCES_BUCKET}`, {
          filter: `$KV.${RESOURCES_BUCKET}.${t.key}`,
          seq: t.revision + 1,
        });
      return highest;
    },
    close: () => nc.close(),
  };
  return ds;
}

/** The entries of the (syncer, node) view of `contents`. */
export function viewOf(contents: Map<string, Uint8Array>, syncer: SyncerType, node: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of contents) {
    const parsed = parseResourceKey(k);
    if (!parsed) continue;
    const owner = NODE_SCOPED_KINDS.has(parsed.kind) ? nodeOfResource(v) : undefined;
    if (inView(syncer, node, parsed.kind, owner)) out.set(k, v);
  }
  return out;
}

export function viewHash(contents: Map<string, Uint8Array>, syncer: SyncerType, node: string): string {
  return hashEntries(viewOf(contents, syncer, node));
}

/** Server options for tests: loopback, port 0, short timers, quiet. */
export function testServerOptions(nc: NatsConnection, overrides: Partial<SyncServerOptions> = {}): SyncServerOptions {
  return {
    serverId: `test-${Math.random().toString(36).slice(2, 8)}`,
    nc,
    listen: '127.0.0.1:0',
    maxConnections: 10_000,
    pingIntervalMs: 500,
    pongTimeoutMs: 5000,
    handshakeTimeoutMs: 2000,
    snapshotWindowMs: 200,
    chunkBytes: 16 * 1024,
    compressMinBytes: 512,
    maxLagBytes: 4 * 1024 * 1024,
    maxLagRevisions: 50_000,
    newClientGraceMs: 10_000,
    resumeWaitMs: 3000,
    heartbeatIntervalMs: 200,
    shedPerSecond: 50,
    shedSlack: 0.05,
    fanoutChunk: 500,
    drainTimeoutMs: 5000,
    horizonPollMs: 200,
    maxMessageBytes: 4 * 1024 * 1024,
    directWrites: true,
    listenBacklog: 4096,
    log: silentLog,
    // MESHLESS_WORKERS=N runs the suites' servers with N worker processes (as it does `meshless sync`).
    workers: Number(process.env.MESHLESS_WORKERS ?? 1) || 1,
    ...overrides,
  };
}

/** A small seeded PRNG (mulberry32), so a failing random sequence can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random creates, updates, deletions and endpoint moves between `nodes`, over every kind the
 * views care about (and some they do not).
 */
export class RandomWorkload {
  readonly existing = new Map<string, { kind: StoredKind; namespace: string; name: string }>();
  private readonly rand: () => number;
  private counter = 0;

  constructor(
    private readonly ds: TestDatastore,
    readonly seed: number,
    private readonly nodes: readonly string[],
  ) {
    this.rand = prng(seed);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }

  async step(): Promise<void> {
    const r = this.rand();
    const n = ++this.counter;
    const node = this.pick(this.nodes);
    const name = `r${Math.floor(this.rand() * 12)}`;
    if (r < 0.2 && this.existing.size > 0) {
      const [key, id] = this.pick([...this.existing]);
      await this.ds.del(id.kind, id.namespace, id.name);
      this.existing.delete(key);
      return;
    }
    let kind: StoredKind;
    let namespace = '';
    let spec: Record<string, unknown>;
    if (r < 0.6) {
      kind = 'WorkloadEndpoint';
      namespace = this.pick(['default', 'prod']);
      spec = {
        node,
        orchestrator: 'k8s',
        pod: `pod-${name}`,
        endpoint: 'eth0',
        interfaceName: `cali${n}`,
        ipNetworks: [`10.65.${n % 250}.${n % 200}/32`],
      };
    } else if (r < 0.7) {
      kind = 'HostEndpoint';
      spec = { node, interfaceName: `eth${n % 4}`, expectedIPs: [`192.168.0.${n % 250}`] };
    } else {
      kind = this.pick([
        'Node',
        'IPPool',
        'GlobalNetworkPolicy',
        'BGPPeer',
        'BlockAffinity',
        'LearnedRoute',
        'Profile',
        'BGPConfiguration',
      ] as const);
      spec = { generation: n, node, cidr: `10.${n % 250}.0.0/16` };
    }
    await this.ds.put(kind, namespace, name, spec, { gen: String(n) });
    this.existing.set(resourceKey(kind, namespace, name), { kind, namespace, name });
  }

  async steps(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.step();
  }
}

/** What an agent must never do, recorded as it happens: see another node's endpoint, go backwards. */
export interface AgentWatch {
  violations: string[];
  commits: number;
}

export function watchAgent(agent: SyncAgent): AgentWatch {
  const w: AgentWatch = { violations: [], commits: 0 };
  let last = 0;
  agent.on('update', (u) => {
    if (u.value && NODE_SCOPED_KINDS.has(u.kind) && agent.syncer === 'agent') {
      const owner = nodeOfResource(u.value);
      if (owner !== agent.node) w.violations.push(`${agent.node} received ${u.key} of node ${owner}`);
    }
    if (u.value && agent.syncer === 'bgp' && NODE_SCOPED_KINDS.has(u.kind))
      w.violations.push(`bgp client received ${u.key}`);
  });
  agent.on('commit', (c) => {
    w.commits++;
    if (c.revision < last) w.violations.push(`${agent.node}: revision went from ${last} to ${c.revision}`);
    last = c.revision;
  });
  return w;
}

/** Waits until every agent's content hash equals its view of the datastore now. */
export async function waitConverged(
  ds: TestDatastore,
  agents: readonly SyncAgent[],
  timeoutMs = 20_000,
): Promise<void> {
  const contents = await ds.contents();
  for (const a of agents) {
    const want = viewHash(contents, a.syncer as SyncerType, a.node);
    try {
      await waitFor(
        `${a.node} (${a.syncer}) to converge`,
        () => a.status === 'in-sync' && a.contentHash === want,
        timeoutMs,
      );
    } catch (err) {
      const view = viewOf(contents, a.syncer as SyncerType, a.node);
      const missing = [...view.keys()].filter((k) => !a.get(k) || !a.get(k)!.value.equals(view.get(k)!));
      const extra = a.keys().filter((k) => !view.has(k));
      throw new Error(
        `${(err as Error).message}: status ${a.status} at ${a.endpoint}, missing or different ${JSON.stringify(missing.slice(0, 5))}, extra ${JSON.stringify(extra.slice(0, 5))}`,
      );
    }
  }
}

export interface SyncProcess {
  readonly child: ChildProcess;
  readonly address: string;
  /** Resolves once the server logged that it caught up with the datastore. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Log lines seen so far (parsed JSON). */
  readonly lines: Array<Record<string, unknown>>;
}

/**
 * A sync server in its own process (`meshless sync`), as deployed: for kill -9 and SIGTERM
 * tests. Short timers through MESHLESS_* variables; the address comes from its log.
 */
export async function spawnSyncServer(
  natsUrl: string,
  stateDir: string,
  serverId: string,
  listen = '127.0.0.1:0',
): Promise<SyncProcess> {
  const child = spawn(
    process.execPath,
    [MESHLESS_BIN, ...insecureSyncArgs({ listen, nats: natsUrl, stateDir, serverId, metricsPort: 0 })],
    {
      env: {
        ...process.env,
        MESHLESS_LOG_LEVEL: 'info',
        MESHLESS_PING_INTERVAL: '500ms',
        MESHLESS_PONG_TIMEOUT: '5s',
        MESHLESS_HEARTBEAT_INTERVAL: '200ms',
        MESHLESS_HORIZON_POLL: '200ms',
        MESHLESS_DRAIN_TIMEOUT: '5s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let buffered = '';
  const waiters: Array<{ msg: string; resolve: (l: Record<string, unknown>) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters.filter((w) => line.msg === w.msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const logged = (msg: string) =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        const seen = lines.find((l) => l.msg === msg);
        if (seen) resolve(seen);
        else waiters.push({ msg, resolve });
      }),
      exited.then(({ code, signal }) => {
        throw new Error(`sync server ${serverId} exited (${code ?? signal}) before logging '${msg}': ${stderr}`);
      }),
    ]);
  const listening = await logged('sync server listening');
  const ready = logged('caught up with the datastore: ready').then(() => undefined);
  ready.catch(() => undefined);
  return { child, address: String(listening.address), ready, exited, lines };
}

/** What a file of sync-server process tests shares (set in its `before` hook). */
export interface ProcessRig {
  nats: NatsServerHandle;
  ds: TestDatastore;
  /** A scratch directory for the servers' and agents' state. */
  dir: string;
  /** Servers the tests spawned: each is killed after the file, whatever failed. */
  children: SyncProcess[];
}

/**
 * Registers the file's before/after hooks for a nats-server, a test datastore and a scratch
 * directory (`prefix` names it), and returns the rig they fill. The teardown runs every step even
 * when one throws, so a failed assertion never leaves a server or NATS running (the test file
 * would hang to the runner's timeout).
 */
export function processRig(prefix: string): ProcessRig {
  const rig = { children: [] as SyncProcess[] } as ProcessRig;
  before(async () => {
    rig.nats = await startNatsServer();
    rig.ds = await openTestDatastore(rig.nats.url);
    rig.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() =>
    runEvery('teardown', [
      () => {
        for (const c of rig.children)
          if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      },
      () => rig.ds?.close(),
      () => rig.nats?.stop(),
      () => rig.dir && rmSync(rig.dir, { recursive: true, force: true }),
    ]),
  );
  return rig;
}

/**
 * A raw Sync stream's first frame: an agent's ClientHello for `node` with every other field at
 * its empty default, `patch` on top (tests that speak the protocol without a SyncAgent).
 */
export function helloFrame(node: string, patch: Partial<SyncClientHello> = {}): Buffer {
  const value: SyncClientHello = {
    node,
    syncerType: 'agent',
    clientVersion: 't',
    datastoreId: '',
    compression: [],
    features: [],
    nodeScopedKeys: [],
    ...patch,
  };
  return Buffer.from(SyncRequest.encode({ message: { $case: 'clientHello', value } }).finish());
}

/**
 * `perNode` SyncAgents for each node, one endpoint list for all (as a deployment's configuration
 * gives), retrying quickly; not started. Stopped after the test whatever fails: agents left
 * reconnecting keep the file from ever exiting.
 */
export function agentFleet(
  t: TestContext,
  nodes: readonly string[],
  perNode: number,
  endpoints: string[],
  dir: string,
): SyncAgent[] {
  const agents = nodes.flatMap((node) =>
    Array.from(
      { length: perNode },
      (_, i) =>
        new SyncAgent({
          node,
          endpoints,
          stateDir: join(dir, `agent-${node}-${i}`),
          backoffInitialMs: 20,
          backoffMaxMs: 200,
        }),
    ),
  );
  t.after(() =>
    runEvery(
      'agents',
      agents.map((ag) => () => ag.stop()),
    ),
  );
  return agents;
}
