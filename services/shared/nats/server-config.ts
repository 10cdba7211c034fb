// The nats-server configuration of a locked-down Meshless cluster: TLS on the client (and
// cluster) port, every client authenticated by its certificate (verify_and_map: the certificate's
// URI SAN meshless://ROLE/NAME is the NATS user), and per-user subject permissions:
//
//   datastore     everything: it alone creates the buckets and writes the KV (`$KV.>`)
//   sync-server   reads the KV through JetStream consumers and publishes and reads its own
//                 subjects (heartbeats, drain notices); every subject that writes or reshapes a
//                 stream is denied, so a sync server cannot write the KV or forge datastore state
//   anyone else   no user, so no connection: nodes, reflectors, CLIs never talk to NATS
//
// The sync servers' publish permission is an allow-all with denials (JetStream's read path uses
// many API subjects, and nats.js changes which ones); the denials cover every subject that
// changes stored data or stream configuration.
import { identityUri } from '../tls/index.js';
import { Subjects } from './names.js';

/** Subjects a sync server may never publish to. */
export const SYNC_SERVER_DENIED_PUBLISH = [
  '$KV.>',
  '$JS.API.STREAM.CREATE.>',
  '$JS.API.STREAM.UPDATE.>',
  '$JS.API.STREAM.DELETE.>',
  '$JS.API.STREAM.PURGE.>',
  '$JS.API.STREAM.MSG.DELETE.>',
  '$JS.API.STREAM.RESTORE.>',
  '$JS.API.STREAM.SNAPSHOT.>',
  '$JS.API.STREAM.PEER.>',
  '$JS.API.STREAM.LEADER.>',
  '$JS.API.ACCOUNT.>',
  '$JS.API.META.>',
  '$JS.API.SERVER.>',
  '$JS.API.CONSUMER.DURABLE.CREATE.>',
  '$SYS.>',
] as const;

export interface NatsServerConfigOptions {
  host: string;
  port: number;
  /** HTTP monitoring port (0: none). */
  monitorPort?: number;
  serverName: string;
  storeDir: string;
  /** Credentials directory of the NATS server (its certificate must name the host clients dial). */
  credentials: string;
  /** Names in the datastore certificates (role datastore). */
  datastores: readonly string[];
  /** Names in the sync server certificates (role sync-server). */
  syncServers: readonly string[];
  /** Clustering (routes in plain text for now: see the README's security section). */
  cluster?: { name: string; port: number; routes: readonly number[] };
}

const q = (s: string) => JSON.stringify(s);

export function natsServerConfig(o: NatsServerConfigOptions): string {
  const dir = o.credentials;
  const syncPermissions = `{ publish: { allow: [">"], deny: [${SYNC_SERVER_DENIED_PUBLISH.map(q).join(', ')}] }, subscribe: { allow: ["_INBOX.>", ${q(Subjects.syncHeartbeat)}, ${q(Subjects.syncDrain)}] } }`;
  const users = [
    ...o.datastores.map((name) => `    { user: ${q(identityUri({ role: 'datastore', name }))} }`),
    ...o.syncServers.map((name) => `    { user: ${q(identityUri({ role: 'sync-server', name }))}, permissions: ${syncPermissions} }`),
  ];
  return [
    '# Written by Meshless (services/shared/nats/server-config.ts): TLS, users from client certificates, subject permissions.',
    `listen: ${q(`${o.host}:${o.port}`)}`,
    ...(o.monitorPort ? [`http: ${q(`${o.host}:${o.monitorPort}`)}`] : []),
    `server_name: ${q(o.serverName)}`,
    `jetstream { store_dir: ${q(o.storeDir)} }`,
    ...(o.cluster
      ? [
          'cluster {',
          `  name: ${q(o.cluster.name)}`,
          `  listen: ${q(`${o.host}:${o.cluster.port}`)}`,
          `  routes: [${o.cluster.routes.map((p) => q(`nats://${o.host}:${p}`)).join(', ')}]`,
          '}',
        ]
      : []),
    'tls {',
    `  cert_file: ${q(`${dir}/tls.crt`)}`,
    `  key_file: ${q(`${dir}/tls.key`)}`,
    `  ca_file: ${q(`${dir}/ca.crt`)}`,
    '  verify_and_map: true',
    '}',
    'authorization {',
    '  users = [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
}
