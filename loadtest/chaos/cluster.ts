// The chaos suite's cluster on loopback: a 3-node JetStream cluster, the datastore as its own
// process (`meshless datastore`), two sync server processes, in-process agents, and a direct
// view of the KV (read at the stream leader) to compare the agents with.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncAgent } from '../../services/agent/index.js';
import { ResourceStore } from '../../services/datastore/src/store/index.js';
import { createLogger } from '../../services/shared/log/index.js';
import { connectNats, KIND_TOKENS, resourceKey, type NatsConnection, type StoredKind } from '../../services/shared/nats/index.js';
import { freePort, httpOk, startNatsCluster, waitFor, type NatsClusterHandle } from '../../services/shared/testing/index.js';
import { spawnSyncServer, viewHash, type SyncProcess } from '../../services/sync/src/testing/fixtures.js';
import type { SyncerType } from '../../services/sync/src/view/index.js';

const BIN = fileURLToPath(new URL('../../bin/meshless.mjs', import.meta.url));

export interface DatastoreProcess {
  child: ChildProcess;
  address: string;
  exited: Promise<void>;
}

/** `meshless datastore` on a fixed port (so a restart keeps the address); resolves once ready. */
export async function spawnDatastore(nats: string, port: number, metricsPort: number): Promise<DatastoreProcess> {
  const child = spawn(process.execPath, [BIN, 'datastore', '--insecure', '--listen', `127.0.0.1:${port}`, '--nats', nats, '--metrics-port', String(metricsPort)], {
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'warn', MESHLESS_TOMBSTONE_RETENTION: '3s', MESHLESS_COMPACTION_INTERVAL: '1s', MESHLESS_KV_PROBE_INTERVAL: '500ms' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitFor('the datastore to be ready', () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`), 60_000, 100),
    exited.then(() => {
      throw new Error(`the datastore exited: ${stderr}`);
    }),
  ]);
  return { child, address: `127.0.0.1:${port}`, exited };
}

export interface ChaosCluster {
  nats: NatsClusterHandle;
  datastore: DatastoreProcess;
  sync: SyncProcess[];
  agents: SyncAgent[];
  /** The KV's live content (key → stored JSON bytes) and each key's revision, read at the stream leader. */
  contents(): Promise<Map<string, Uint8Array>>;
  revisions: Map<string, { revision: number }>;
  restartDatastore(): Promise<void>;
  restartSync(i: number): Promise<void>;
  /** Stops agent i and starts it again on its state directory. */
  restartAgent(i: number): Promise<void>;
  /** Whether every agent holds its view of `contents`. */
  agentsEqual(contents: Map<string, Uint8Array>): boolean;
  stop(): Promise<void>;
}

export async function startChaosCluster(dir: string, nodes: readonly string[]): Promise<ChaosCluster> {
  const nats = await startNatsCluster(3);
  const dsPort = await freePort();
  const dsMetrics = await freePort();
  const datastore = await spawnDatastore(nats.urls, dsPort, dsMetrics);
  const nc: NatsConnection = await connectNats(nats.urls, 'chaos-checker');
  const store = await ResourceStore.open(nc, { log: createLogger('chaos-checker') });
  const syncPorts = [await freePort(), await freePort()];
  const sync = await Promise.all(syncPorts.map((p, i) => spawnSyncServer(nats.urls, join(dir, `sync-${i}`), `sync-${i}`, `127.0.0.1:${p}`)));
  await Promise.all(sync.map((s) => s.ready));
  const endpoints = sync.map((s) => s.address);
  const newAgent = (node: string, i: number) =>
    new SyncAgent({ node, endpoints: i % 2 ? endpoints : [...endpoints].reverse(), stateDir: join(dir, `agent-${node}`), backoffInitialMs: 20, backoffMaxMs: 500, reconnectSpreadMs: 200 });
  const agents = nodes.map(newAgent);
  await Promise.all(agents.map((a) => a.start()));
  const c: ChaosCluster = {
    nats,
    datastore,
    sync,
    agents,
    revisions: new Map(),
    async contents() {
      const out = new Map<string, Uint8Array>();
      c.revisions = new Map();
      for (const kind of Object.keys(KIND_TOKENS) as StoredKind[]) {
        const { items } = await store.list(kind);
        for (const r of items) {
          const key = resourceKey(r.kind, r.namespace, r.name);
          out.set(key, Buffer.from(JSON.stringify(r.document)));
          c.revisions.set(key, { revision: r.revision });
        }
      }
      return out;
    },
    async restartDatastore() {
      c.datastore = await spawnDatastore(nats.urls, dsPort, dsMetrics);
    },
    async restartSync(i) {
      c.sync[i] = await spawnSyncServer(nats.urls, join(dir, `sync-${i}`), `sync-${i}`, endpoints[i]);
      await c.sync[i]!.ready;
    },
    async restartAgent(i) {
      await c.agents[i]!.stop();
      c.agents[i] = newAgent(nodes[i]!, i);
      await c.agents[i]!.start();
    },
    agentsEqual(contents) {
      return c.agents.every((a) => a.status === 'in-sync' && a.contentHash === viewHash(contents, a.syncer as SyncerType, a.node));
    },
    async stop() {
      await Promise.all(c.agents.map((a) => a.stop().catch(() => undefined)));
      for (const s of c.sync) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      if (c.datastore.child.exitCode === null) c.datastore.child.kill('SIGKILL');
      await nc.close().catch(() => undefined);
      await nats.stop();
    },
  };
  return c;
}
