// What a datastore-mode reflector follows, for its tests: a real nats-server, and a datastore and
// a sync server in this process (plain text), with a client of the datastore.
import type { Logger } from 'pino';
import { loadConfig } from '../../../shared/config/index.js';
import { startNatsServer } from '../../../shared/testing/index.js';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { datastoreConfig, runDatastore } from '../../../datastore/index.js';
import { runSync, syncConfigSpec } from '../../../sync/index.js';

export interface TestControlPlane {
  /** HOST:PORT of the datastore API. */
  readonly datastore: string;
  /** HOST:PORT of the sync server. */
  readonly sync: string;
  readonly client: DatastoreClient;
  /** Closes the client, then the sync server, the datastore and nats-server. */
  stop(): Promise<void>;
}

export async function startTestControlPlane(serverId: string, log: Logger): Promise<TestControlPlane> {
  const nats = await startNatsServer();
  const ds = await runDatastore(
    loadConfig(datastoreConfig, {
      env: {},
      overrides: { listen: '127.0.0.1:0', nats: nats.url, metricsPort: 0, insecure: true },
    }),
    log,
  );
  const sync = await runSync(
    loadConfig(syncConfigSpec, {
      env: {},
      overrides: { nats: nats.url, listen: '127.0.0.1:0', stateDir: '', metricsPort: -1, serverId, insecure: true },
    }),
    { log },
  );
  const client = createDatastoreClient(ds.address);
  return {
    datastore: ds.address,
    sync: sync.server.address,
    client,
    async stop() {
      client.close();
      await sync.stop();
      await ds.close();
      await nats.stop();
    },
  };
}

/** A projectcalico.org/v3 resource document. */
export function res(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): object {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec };
}
