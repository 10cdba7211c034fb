// A real JetStream cluster of `size` nats-servers on loopback (random client and route ports,
// one store directory each), for replication and chaos tests. Members can be killed (-9) and
// started again on the same ports and stores, as an operator's node restart would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { freePort, waitFor } from './ports.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

export interface NatsClusterHandle {
  readonly members: readonly NatsServerHandle[];
  /** Every member's client URL, comma-separated (what services take as `nats`). */
  readonly urls: string;
  stop(): Promise<void>;
}

/** One member's ports and names, for a configuration file that replaces the flags. */
export interface NatsClusterMemberConfig {
  port: number;
  storeDir: string;
  serverName: string;
  clusterName: string;
  clusterPort: number;
  /** Route ports of the other members. */
  routes: number[];
}

export async function startNatsCluster(
  size = 3,
  options: {
    extraArgs?: string[];
    /** A configuration file's text per member (e.g. shared/nats natsServerConfig with TLS routes). */
    config?: (member: NatsClusterMemberConfig) => string;
  } = {},
): Promise<NatsClusterHandle> {
  const root = mkdtempSync(join(tmpdir(), 'meshless-nats-cluster-'));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const members = await Promise.all(
    clientPorts.map((port, i) => {
      const cluster = {
        serverName: `n${i}`,
        clusterName: 'meshless-test',
        clusterPort: routePorts[i]!,
        routes: routePorts.filter((_, j) => j !== i),
      };
      const config = options.config;
      return startNatsServer({
        port,
        storeDir: join(root, `n${i}`),
        extraArgs: options.extraArgs,
        cluster,
        ...(config ? { config: (p: number, storeDir: string) => config({ ...cluster, port: p, storeDir }) } : {}),
      });
    }),
  );
  return {
    members,
    urls: members.map((m) => m.url).join(','),
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until STREAM runs at REPLICAS replicas with every follower current (the cluster formed and caught up). */
export async function waitForReplicas(
  jsm: JetStreamManager,
  stream: string,
  replicas: number,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  await waitFor(
    `stream ${stream} at ${replicas} replicas, every replica current`,
    async () => {
      const info = await jsm.streams.info(stream);
      const followers = info.cluster?.replicas ?? [];
      return (
        info.config.num_replicas === replicas && followers.length === replicas - 1 && followers.every((r) => r.current)
      );
    },
    timeoutMs,
    intervalMs,
  );
}
