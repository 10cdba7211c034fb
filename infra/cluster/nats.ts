// The local cluster's NATS: one nats-server with JetStream (the default), or `natsCluster` of them
// clustered on loopback (`npm start -- --nats-cluster 3`, or MESHLESS_NATS_CLUSTER=3): the
// datastore then creates its buckets with 3 replicas, and killing one server (its pid:
// `pgrep -f 'nats-server.*-n meshless-local-1 '`) loses nothing. Client ports are natsPort,
// natsPort+1, ...; route ports natsPort+100+i.
import { join } from 'node:path';
import { freePort, httpOk } from '../../services/shared/testing/index.js';
import type { ChildSpec } from './supervisor.js';

export interface NatsLayout {
  children: ChildSpec[];
  /** Every server's client URL, comma-separated (what the services take). */
  url: string;
}

export async function natsLayout(dataDir: string, size: number, firstPort: number, portOrFree: (port: number) => Promise<number>): Promise<NatsLayout> {
  const command = process.env.MESHLESS_NATS_SERVER ?? 'nats-server';
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
          args: ['-js', '-sd', join(dataDir, 'nats'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-n', 'meshless-local'],
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
      args: [
        '-js', '-sd', join(dataDir, `nats-${i}`), '-a', '127.0.0.1', '-p', String(ports[i]), '-m', String(monitor), '-n', `meshless-local-${i}`,
        '--cluster_name', 'meshless-local', '--cluster', `nats://127.0.0.1:${routes[i]}`,
        '--routes', routes.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(','),
      ],
      // JetStream needs a quorum of the cluster, which the first server alone does not have:
      // ready once it runs with JetStream enabled; the datastore waits for the quorum.
      ready: () => httpOk(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`),
      endpoints: [`nats-${i}      nats://127.0.0.1:${ports[i]}   (cluster meshless-local, ${size} servers)`],
    });
  }
  return { url, children };
}
