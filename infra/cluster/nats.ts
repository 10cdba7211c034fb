// The local cluster's NATS: one nats-server with JetStream (the default), or `natsCluster` of them
// clustered on loopback (`npm start -- --nats-cluster 3`, or MESHLESS_NATS_CLUSTER=3): the
// datastore then creates its buckets with 3 replicas, and killing one server (its pid:
// `pgrep -f meshless-local-1.conf`) loses nothing. Client ports are natsPort,
// natsPort+1, ...; route ports natsPort+100+i. Locked down (the default), each server's
// configuration file (<dataDir>/meshless-local-N.conf) puts the routes on mutual TLS with the
// `nats` certificate of .data/pki/nats, and a route must present that identity
// (shared/nats server-config.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerConfig } from '../../services/shared/nats/index.js';
import { freePort, httpOk } from '../../services/shared/testing/index.js';
import type { ChildSpec } from './supervisor.js';

export interface NatsLayout {
  children: ChildSpec[];
  /** Every server's client URL, comma-separated (what the services take). */
  url: string;
}

/** Locks the servers down (shared/nats server-config.ts): TLS client ports, users from certificates. */
export interface NatsSecurity {
  credentials: string;
  datastores: readonly string[];
  syncServers: readonly string[];
}

export async function natsLayout(
  dataDir: string,
  size: number,
  firstPort: number,
  portOrFree: (port: number) => Promise<number>,
  security?: NatsSecurity,
): Promise<NatsLayout> {
  const command = process.env.MESHLESS_NATS_SERVER ?? 'nats-server';
  /** The args of one server: a written configuration file when locked down, else flags. */
  const withConfig = (
    flags: string[],
    o: {
      name: string;
      port: number;
      monitor: number;
      storeDir: string;
      cluster?: { name: string; port: number; routes: number[] };
    },
  ): string[] => {
    if (!security) return flags;
    const file = join(dataDir, `${o.name}.conf`);
    writeFileSync(
      file,
      natsServerConfig({
        host: '127.0.0.1',
        port: o.port,
        monitorPort: o.monitor,
        serverName: o.name,
        storeDir: o.storeDir,
        ...security,
        ...(o.cluster ? { cluster: o.cluster } : {}),
      }),
    );
    return ['-c', file];
  };
  if (size <= 1) {
    const port = await portOrFree(firstPort);
    const monitor = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    return {
      url,
      children: [
        {
          name: 'nats',
          command,
          args: withConfig(
            [
              '-js',
              '-sd',
              join(dataDir, 'nats'),
              '-a',
              '127.0.0.1',
              '-p',
              String(port),
              '-m',
              String(monitor),
              '-n',
              'meshless-local',
            ],
            {
              name: 'meshless-local',
              port,
              monitor,
              storeDir: join(dataDir, 'nats'),
            },
          ),
          ready: () => httpOk(`http://127.0.0.1:${monitor}/healthz`),
          endpoints: [`nats        ${url}`],
        },
      ],
    };
  }
  const ports: number[] = [];
  const routes: number[] = [];
  for (let i = 0; i < size; i++) {
    ports.push(await portOrFree(firstPort + i));
    routes.push(await portOrFree(firstPort + 100 + i));
  }
  const url = ports.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const children: ChildSpec[] = [];
  for (let i = 0; i < size; i++) {
    const monitor = await freePort();
    children.push({
      name: `nats-${i}`,
      command,
      args: withConfig(
        [
          '-js',
          '-sd',
          join(dataDir, `nats-${i}`),
          '-a',
          '127.0.0.1',
          '-p',
          String(ports[i]),
          '-m',
          String(monitor),
          '-n',
          `meshless-local-${i}`,
          '--cluster_name',
          'meshless-local',
          '--cluster',
          `nats://127.0.0.1:${routes[i]}`,
          '--routes',
          routes
            .filter((_, j) => j !== i)
            .map((p) => `nats://127.0.0.1:${p}`)
            .join(','),
        ],
        {
          name: `meshless-local-${i}`,
          port: ports[i]!,
          monitor,
          storeDir: join(dataDir, `nats-${i}`),
          cluster: { name: 'meshless-local', port: routes[i]!, routes: routes.filter((_, j) => j !== i) },
        },
      ),
      // JetStream needs a quorum of the cluster, which the first server alone does not have:
      // ready once it runs with JetStream enabled; the datastore waits for the quorum.
      ready: () => httpOk(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`),
      endpoints: [`nats-${i}      nats://127.0.0.1:${ports[i]}   (cluster meshless-local, ${size} servers)`],
    });
  }
  return { url, children };
}
