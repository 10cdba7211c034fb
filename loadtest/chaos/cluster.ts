// The chaos suite's cluster on loopback: a 3-node JetStream cluster, the datastore as its own
// process (`meshless datastore`), two sync server processes, `meshless agent` processes, a route
// reflector process (`meshless rr` in datastore mode, on 127.0.0.2) with a BIRD "switch" (eBGP, on
// 127.0.0.3) as its peer, and a direct view of the KV (read at the stream leader) to compare the
// agents, the reflector's table and the switch's table with.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ResourceStore } from '../../services/datastore/index.js';
import { createDatastoreClient, type DatastoreClient } from '../../services/shared/datastore-client/index.js';
import { createLogger } from '../../services/shared/log/index.js';
import {
  connectNats,
  KIND_TOKENS,
  resourceKey,
  type NatsConnection,
  type StoredKind,
} from '../../services/shared/nats/index.js';
import { MESHLESS_BIN } from '../../services/shared/paths/index.js';
import {
  freePort,
  httpOk,
  startNatsCluster,
  waitFor,
  type NatsClusterHandle,
} from '../../services/shared/testing/index.js';
import { spawnSyncServer, viewHash, viewOf, type SyncProcess } from '../../services/sync/testing.js';
import { AgentState } from '../../services/sync/index.js';
import type { SyncerType } from '../../services/sync/index.js';
import { createRrAdminClient, type RrAdminClient } from '../../services/rr/index.js';
import { startBird, type BirdHandle } from '../../services/testing/index.js';
import { AgentProcess, RrProcess } from './processes.js';

export interface DatastoreProcess {
  child: ChildProcess;
  address: string;
  exited: Promise<void>;
  /** Its last log lines (warnings and errors: refusals, retries), time first. */
  recent: string[];
}

/** `meshless datastore` on a fixed port (so a restart keeps the address); resolves once ready. */
export async function spawnDatastore(nats: string, port: number, metricsPort: number): Promise<DatastoreProcess> {
  const child = spawn(
    process.execPath,
    [
      MESHLESS_BIN,
      'datastore',
      '--insecure',
      '--listen',
      `127.0.0.1:${port}`,
      '--nats',
      nats,
      '--metrics-port',
      String(metricsPort),
    ],
    {
      env: {
        ...process.env,
        MESHLESS_LOG_LEVEL: 'warn',
        MESHLESS_TOMBSTONE_RETENTION: '3s',
        MESHLESS_COMPACTION_INTERVAL: '1s',
        MESHLESS_KV_PROBE_INTERVAL: '500ms',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const recent: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const { time, msg, err } = JSON.parse(text) as { time?: string; msg?: string; err?: string };
        recent.push(`${String(time).slice(11, 23)} ${msg} ${err ?? ''}`.slice(0, 240));
        if (recent.length > 20) recent.shift();
      } catch {
        // not a log line
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    waitFor('the datastore to be ready', () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`), 60_000, 100),
    exited.then(() => {
      throw new Error(`the datastore exited: ${stderr}`);
    }),
  ]);
  return { child, address: `127.0.0.1:${port}`, exited, recent };
}

/** Where the reflector and its BIRD peer live: loopback addresses other than 127.0.0.1, own ports. */
const RR_ADDRESS = '127.0.0.2';
const SWITCH_ADDRESS = '127.0.0.3';
const RR_AS = 64512;
const SWITCH_AS = 65100;
export const POOL = '10.244.0.0/16';
/** Node i's BGP address (the next hop of its blocks): in 127/8, so BIRD resolves it on lo. */
const nodeAddress = (i: number) => `127.0.1.${i + 1}`;

export interface ChaosCluster {
  nats: NatsClusterHandle;
  datastore: DatastoreProcess;
  sync: SyncProcess[];
  agents: AgentProcess[];
  rr: RrProcess;
  rrAdmin: RrAdminClient;
  bird: BirdHandle;
  /** The KV's live content (key → stored JSON bytes) and each key's revision, read at the stream leader. */
  contents(): Promise<Map<string, Uint8Array>>;
  revisions: Map<string, { revision: number }>;
  restartDatastore(): Promise<void>;
  restartSync(i: number): Promise<void>;
  /** Starts agent i again (after a kill) on its state directory. */
  restartAgent(i: number): void;
  /** Starts the reflector again (after a kill). */
  restartRr(): void;
  /** Stops agent i and lists how its stored state differs from `contents` (for a failure's message). */
  explainAgent(i: number, contents: Map<string, Uint8Array>): Promise<string>;
  /** The agent's and the sync servers' last log lines, for a round that did not converge. */
  recentLogs(agent: number): string;
  /** Why the agents, the reflector or the switch differ from `contents`; undefined when all equal it. */
  difference(contents: Map<string, Uint8Array>): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** The blocks the reflector must originate: every confirmed host BlockAffinity's CIDR. */
export function confirmedBlocks(contents: Map<string, Uint8Array>): string[] {
  const out: string[] = [];
  for (const [key, bytes] of contents) {
    if (!key.startsWith(`${KIND_TOKENS.BlockAffinity}.`)) continue;
    const spec = (
      JSON.parse(Buffer.from(bytes).toString()) as {
        spec: { cidr: string; state?: string; type?: string; deleted?: string | boolean };
      }
    ).spec;
    if (
      spec.state === 'confirmed' &&
      (spec.type ?? 'host') === 'host' &&
      spec.deleted !== true &&
      spec.deleted !== 'true'
    )
      out.push(spec.cidr);
  }
  return out.sort();
}

const res = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});

/** Nodes, the pool and the BGP resources: the reflector peers with the switch and originates every node's blocks. */
async function seed(
  client: DatastoreClient,
  nodes: readonly string[],
  rrPort: number,
  switchPort: number,
): Promise<void> {
  await client.apply(res('BGPConfiguration', 'default', { asNumber: RR_AS, bindMode: 'NodeIP' }));
  await client.apply(res('BGPConfiguration', 'node.rr-0', { listenPort: rrPort }));
  await client.apply(res('IPPool', 'pods', { cidr: POOL, blockSize: 26 }));
  await client.apply(
    res(
      'Node',
      'rr-0',
      { bgp: { ipv4Address: `${RR_ADDRESS}/32`, routeReflectorClusterID: '224.0.0.1' } },
      { 'route-reflector': 'true' },
    ),
  );
  for (const [i, n] of nodes.entries())
    await client.apply(res('Node', n, { bgp: { ipv4Address: `${nodeAddress(i)}/32` } }));
  await client.apply(
    res('BGPPeer', 'tor', {
      nodeSelector: 'has(route-reflector)',
      peerIP: `${SWITCH_ADDRESS}:${switchPort}`,
      asNumber: SWITCH_AS,
    }),
  );
}

export async function startChaosCluster(dir: string, nodes: readonly string[]): Promise<ChaosCluster> {
  const nats = await startNatsCluster(3);
  const dsPort = await freePort();
  const dsMetrics = await freePort();
  const datastore = await spawnDatastore(nats.urls, dsPort, dsMetrics);
  const nc: NatsConnection = await connectNats(nats.urls, 'chaos-checker');
  const store = await ResourceStore.open(nc, { log: createLogger('chaos-checker') });
  const [rrPort, switchPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const client = createDatastoreClient(datastore.address, { deadlineMs: 30_000 });
  await seed(client, nodes, rrPort, switchPort);
  client.close();
  const syncPorts = [await freePort(), await freePort()];
  const sync = await Promise.all(
    syncPorts.map((p, i) => spawnSyncServer(nats.urls, join(dir, `sync-${i}`), `sync-${i}`, `127.0.0.1:${p}`)),
  );
  await Promise.all(sync.map((s) => s.ready));
  const endpoints = sync.map((s) => s.address);
  const newAgent = (i: number) =>
    new AgentProcess(nodes[i]!, i % 2 ? endpoints : [...endpoints].reverse(), join(dir, 'agents'));
  const admin = `127.0.0.1:${adminPort}`;
  const bird = await startBird({
    address: SWITCH_ADDRESS,
    config: [
      `router id ${SWITCH_ADDRESS};`,
      'protocol device {}',
      // Resolves the next hops (the nodes' 127.0.1.x addresses) recursively, as an IGP would.
      'protocol static { ipv4; route 127.0.0.0/8 via "lo"; }',
      // The reflector is eBGP to the switch: it sends only what it originates (the IPAM blocks).
      `protocol bgp refl { local ${SWITCH_ADDRESS} port ${switchPort} as ${SWITCH_AS}; neighbor ${RR_ADDRESS} port ${rrPort} as ${RR_AS}; multihop; strict bind;`,
      '  connect delay time 1; connect retry time 1; error wait time 1, 2; ipv4 { import all; export none; }; }',
    ].join('\n'),
  });
  const c: ChaosCluster = {
    nats,
    datastore,
    sync,
    agents: nodes.map((_, i) => newAgent(i)),
    rr: new RrProcess('rr-0', endpoints, admin),
    rrAdmin: createRrAdminClient(admin, { deadlineMs: 5_000 }),
    bird,
    revisions: new Map(),
    async contents() {
      const out = new Map<string, Uint8Array>();
      c.revisions = new Map();
      // Every kind at once: one after the other, the Lists took seconds of each round at load 20+.
      const lists = await Promise.all((Object.keys(KIND_TOKENS) as StoredKind[]).map((kind) => store.list(kind)));
      for (const { items } of lists) {
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
    restartAgent(i) {
      c.agents[i] = newAgent(i);
    },
    restartRr() {
      c.rr = new RrProcess('rr-0', endpoints, admin);
    },
    recentLogs(i) {
      const a = c.agents[i]!;
      const sync = c.sync.map(
        (sp, j) =>
          `sync-${j}:\n${sp.lines
            .slice(-12)
            .map((l) => `  ${String(l.time).slice(11, 23)} ${String(l.msg)}`)
            .join('\n')}`,
      );
      return [`agent ${a.node}:`, ...a.recent.map((l) => `  ${l}`), ...sync].join('\n');
    },
    async explainAgent(i, contents) {
      const a = c.agents[i]!;
      await a.kill('SIGTERM');
      const state = AgentState.open(join(dir, 'agents', a.node), a.node, a.syncer);
      try {
        const view = viewOf(contents, a.syncer as SyncerType, a.node);
        const diff: string[] = [];
        for (const [k, v] of view)
          if (!state.get(k)) diff.push(`missing ${k}`);
          else if (!state.get(k)!.value.equals(Buffer.from(v)))
            diff.push(`different ${k} (agent at ${state.get(k)!.revision})`);
        for (const k of state.keys()) if (!view.has(k)) diff.push(`extra ${k} (revision ${state.get(k)!.revision})`);
        return `stored state at revision ${state.revision}, hash ${state.contentHash === a.contentHash ? 'as logged' : `${state.contentHash}, logged ${a.contentHash}`}: ${diff.slice(0, 8).join('; ') || 'equal'}`;
      } finally {
        await state.close();
      }
    },
    async difference(contents) {
      for (const a of c.agents) {
        if (!a.alive) throw new Error(`agent ${a.node} ${a.describeExit()}`);
        if (a.status !== 'in-sync') return `agent ${a.node}: ${a.status}`;
        if (a.contentHash !== viewHash(contents, a.syncer as SyncerType, a.node))
          return `agent ${a.node}: in sync but different`;
      }
      if (c.rr.child.exitCode !== null) throw new Error(`the reflector ${c.rr.describeExit()}`);
      const blocks = confirmedBlocks(contents).join(' ');
      const rib = await c.rrAdmin.routes({ prefix: POOL, longer: true, limit: 100_000 }).catch((err: Error) => err);
      if (rib instanceof Error) return `reflector admin API: ${rib.message}`;
      const originated = rib.prefixes
        .filter((p) => p.paths.some((x) => x.source === 'local'))
        .map((p) => p.prefix)
        .sort()
        .join(' ');
      if (originated !== blocks) return `reflector originates [${originated}], the datastore has [${blocks}]`;
      const proto = await bird.protocol('refl').catch((err: Error) => err);
      if (proto instanceof Error || proto.bgpState !== 'Established')
        return `switch session: ${proto instanceof Error ? proto.message : `${proto.bgpState} ${proto.lastError ?? ''}`}`;
      const atSwitch = (await bird.routes({ protocol: 'refl' }).catch(() => []))
        .map((r) => r.prefix)
        .sort()
        .join(' ');
      if (atSwitch !== blocks) return `switch has [${atSwitch}], the datastore [${blocks}]`;
      return undefined;
    },
    async stop() {
      await Promise.all(c.agents.map((a) => a.kill('SIGTERM')));
      await c.rr.kill();
      c.rrAdmin.close();
      await bird.stop();
      for (const s of c.sync) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      if (c.datastore.child.exitCode === null) c.datastore.child.kill('SIGKILL');
      await nc.close().catch(() => undefined);
      await nats.stop();
    },
  };
  return c;
}
