// The nats-server configuration of a locked-down Meshless cluster: TLS on the client and cluster
// ports, every client authenticated by its certificate (verify_and_map: the certificate's URI SAN
// meshless://ROLE/NAME is the NATS user), and per-user subject permissions written as allow lists
// (anything not listed is refused by the server):
//
//   datastore     the JetStream API subjects it uses, scoped to its two buckets' streams (create,
//                 scale, info, message get, purge, leader step-down, its consumers), the buckets' subjects (its
//                 writes), acks and flow control of its consumers, replies on its own inboxes
//                 (_INBOX.datastore.NAME.>, names.ts inboxPrefix); it cannot touch another
//                 stream, list, delete or restore streams, publish a sync heartbeat or drain
//                 notice, nor touch $SYS
//   sync-server   reads the resources bucket through the KV cursor's ordered pull consumer:
//                 the few API subjects that consumer, its caught-up question (a message get)
//                 and the stream look-ups use, scoped to the bucket's stream, and one message
//                 get on the meta bucket; its
//                 replies on its own inboxes only (not the datastore's); publishes and reads its own subjects (heartbeats,
//                 drain notices); it cannot write the KV, change or purge a stream, or make a
//                 durable consumer
//   anyone else   no user, so no connection: nodes, reflectors, CLIs never talk to NATS
//
// Routes (cluster port): mutual TLS from the same CA, and the peer's certificate must be the NATS
// servers' own identity (meshless://nats/NAME, verify_and_map against the cluster's one route
// user), so a node's or a sync server's certificate from the same CA cannot join as a route and
// read every stream. (Rejected: an allow-all-with-denials list for the sync servers, the first
// version: every subject JetStream adds in a later release would have been allowed by default.)
import { identityUri } from '../tls/index.js';
import { inboxPrefix, META_BUCKET, RESOURCES_BUCKET, Subjects } from './names.js';

/** The JetStream API prefix (nats.js's default domain-less prefix). */
const API = '$JS.API';

/** What a sync server may publish: the read path of services/sync (kv-source.ts, compaction.ts, sync-server.ts) and its own subjects. */
export function syncServerPermissions(
  name: string,
  bucket = RESOURCES_BUCKET,
  metaBucket = META_BUCKET,
): { publish: string[]; subscribe: string[] } {
  const stream = `KV_${bucket}`;
  return {
    publish: [
      // jetstreamManager() checks the account once.
      `${API}.INFO`,
      `${API}.STREAM.INFO.${stream}`,
      `${API}.STREAM.MSG.GET.${stream}`,
      // The compacted-revision look-up in the meta bucket (compaction.ts: a last-by-subject get;
      // the buckets have allow_direct false, so never $JS.API.DIRECT.GET).
      `${API}.STREAM.MSG.GET.KV_${metaBucket}`,
      // The KV cursor's ordered pull consumer (kv-cursor.ts): ephemeral create (old and new
      // create APIs), info (its placement), pulls, delete.
      `${API}.CONSUMER.CREATE.${stream}`,
      `${API}.CONSUMER.CREATE.${stream}.>`,
      `${API}.CONSUMER.INFO.${stream}.>`,
      `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
      `${API}.CONSUMER.DELETE.${stream}.>`,
      // A stream leader that keeps answering below what the server has read (read-floor.ts).
      `${API}.STREAM.LEADER.STEPDOWN.${stream}`,
      Subjects.syncHeartbeat,
      Subjects.syncDrain,
    ],
    // Request replies and the push consumer's deliver subject: its own inboxes (connect.ts).
    subscribe: [`${inboxPrefix({ role: 'sync-server', name })}.>`, Subjects.syncHeartbeat, Subjects.syncDrain],
  };
}

/**
 * What the datastore may publish: the JetStream API on its own buckets' streams only (store/:
 * buckets.ts creates, scales and looks them up; the store and kv-cursor.ts read by message get and
 * through ordered and pull consumers; the compactor purges), its buckets' subjects (its writes),
 * acks and flow control of its own consumers. Never another stream's API, no stream listing,
 * deletion, snapshot or restore, no direct get (the buckets have allow_direct false).
 */
export function datastorePermissions(
  name: string,
  buckets: readonly string[] = [RESOURCES_BUCKET, META_BUCKET],
): { publish: string[]; subscribe: string[] } {
  return {
    publish: [
      // jetstreamManager() checks the account once.
      `${API}.INFO`,
      ...buckets.flatMap((bucket) => {
        const stream = `KV_${bucket}`;
        return [
          `${API}.STREAM.CREATE.${stream}`,
          `${API}.STREAM.UPDATE.${stream}`,
          `${API}.STREAM.INFO.${stream}`,
          `${API}.STREAM.MSG.GET.${stream}`,
          `${API}.STREAM.PURGE.${stream}`,
          // A leader that keeps answering below acknowledged revisions is asked to step down
          // (read-floor.ts).
          `${API}.STREAM.LEADER.STEPDOWN.${stream}`,
          // Consumers: ephemeral create (old and new create APIs), info, delete, pull.
          `${API}.CONSUMER.CREATE.${stream}`,
          `${API}.CONSUMER.CREATE.${stream}.>`,
          `${API}.CONSUMER.INFO.${stream}.>`,
          `${API}.CONSUMER.DELETE.${stream}.>`,
          `${API}.CONSUMER.MSG.NEXT.${stream}.>`,
          `$KV.${bucket}.>`,
          `$JS.ACK.${stream}.>`,
          `$JS.FC.${stream}.>`,
        ];
      }),
    ],
    subscribe: [`${inboxPrefix({ role: 'datastore', name })}.>`],
  };
}

export interface NatsServerConfigOptions {
  host: string;
  port: number;
  /** HTTP monitoring port (0: none). */
  monitorPort?: number;
  serverName: string;
  storeDir: string;
  /** Credentials directory of the NATS server (its certificate must name the host clients and routes dial). */
  credentials: string;
  /** Names in the datastore certificates (role datastore). */
  datastores: readonly string[];
  /** Names in the sync server certificates (role sync-server). */
  syncServers: readonly string[];
  /** The name in the NATS servers' certificate (role nats), the one identity a route may present; default `nats`. */
  routeName?: string;
  /** Clustering: routes over mutual TLS, each peer authenticated as routeName. */
  cluster?: { name: string; port: number; routes: readonly number[] };
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;
const perms = (p: { publish: string[]; subscribe: string[] }) =>
  `{ publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} } }`;

export function natsServerConfig(o: NatsServerConfigOptions): string {
  const dir = o.credentials;
  const tlsFiles = [
    `cert_file: ${q(`${dir}/tls.crt`)}`,
    `key_file: ${q(`${dir}/tls.key`)}`,
    `ca_file: ${q(`${dir}/ca.crt`)}`,
  ];
  const users = [
    ...o.datastores.map(
      (name) =>
        `    { user: ${q(identityUri({ role: 'datastore', name }))}, permissions: ${perms(datastorePermissions(name))} }`,
    ),
    ...o.syncServers.map(
      (name) =>
        `    { user: ${q(identityUri({ role: 'sync-server', name }))}, permissions: ${perms(syncServerPermissions(name))} }`,
    ),
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
          // verify_and_map on routes: the peer's certificate must map to this one user.
          `  authorization { user: ${q(identityUri({ role: 'nats', name: o.routeName ?? 'nats' }))} }`,
          '  tls {',
          ...tlsFiles.map((l) => `    ${l}`),
          '    verify_and_map: true',
          '    timeout: 5',
          '  }',
          '}',
        ]
      : []),
    'tls {',
    ...tlsFiles.map((l) => `  ${l}`),
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
