// The datastore's JetStream KV buckets (RESOURCES_BUCKET, META_BUCKET): created when absent with
// the replica count asked for, and reconciled on every start (a bucket created with fewer
// replicas, e.g. before the NATS cluster grew, is scaled up in place; JetStream copies the data
// to the new peers).
//
// Consistency: both buckets are read without JetStream's direct get (allow_direct false in the
// client), so every Get goes to the stream leader, which is also where every write is ordered:
// a Get after an acknowledged write sees that write or a later one, on any datastore replica,
// once the leader has applied it; a just-elected leader may not have (shared/nats read-floor.ts).
// (Rejected: direct get, which any replica answers, with a revision check and retry: cheaper
// for the leader but it needs the caller's last revision, which the Get API does not carry.)
import {
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { META_BUCKET, RESOURCES_BUCKET, StorageJsCodes } from '../../../shared/nats/index.js';
import { FailedPreconditionError } from '../../../shared/errors/index.js';
import { withRetry, type RetryBudget } from './nats-errors.js';

/**
 * Timeout of one JetStream API request for a single key (get, publish, stream info). Short,
 * because a lost request is retried (withRetry) rather than waited out; the whole operation has
 * KEY_OP_BUDGET.
 */
export const KEY_REQUEST_TIMEOUT_MS = 1000;
/** Timeout of bucket administration (create, update), which waits on the meta group's consensus. */
const ADMIN_TIMEOUT_MS = 10_000;
/** How long start-up waits for JetStream to answer (a cluster electing its first meta leader). */
const START_BUDGET: RetryBudget = { totalMs: 60_000, firstDelayMs: 100, maxDelayMs: 1000 };
/** JetStream clusters replicate a stream 1, 3 or 5 times (an odd Raft group). */
const MAX_REPLICAS = 5;

export interface BucketOptions {
  /** Replicas per bucket; 0 = 3 when the NATS cluster has at least 3 servers, else 1. */
  replicas: number;
  log: Logger;
}

export interface Buckets {
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
  meta: KV;
  /** The replica count the buckets were reconciled to. */
  replicas: number;
}

/**
 * Servers in the NATS cluster as seen from the connection: the one we are on plus the client
 * URLs it gossips (`connect_urls`, every other server of the cluster that accepts clients).
 * Servers running without JetStream cannot hold a replica; creation with too many replicas fails
 * with insufficient resources and the automatic setting falls back to 1.
 */
export function clusterSize(nc: NatsConnection): number {
  const info = nc.info;
  if (!info?.cluster) return 1;
  return 1 + (info.connect_urls?.length ?? 0);
}

export function autoReplicas(nc: NatsConnection): number {
  return clusterSize(nc) >= 3 ? 3 : 1;
}

export async function openBuckets(nc: NatsConnection, options: BucketOptions): Promise<Buckets> {
  if (!Number.isInteger(options.replicas) || options.replicas < 0 || options.replicas > MAX_REPLICAS) {
    throw new FailedPreconditionError(`replicas must be 0 (automatic) or 1..${MAX_REPLICAS}, got ${options.replicas}`);
  }
  const js = jetstream(nc, { timeout: KEY_REQUEST_TIMEOUT_MS });
  // A cluster that is still forming (no meta leader yet) answers nothing for a few seconds.
  const admin = await withRetry(() => jetstreamManager(nc, { timeout: ADMIN_TIMEOUT_MS }), START_BUDGET);
  const automatic = options.replicas === 0;
  let replicas = automatic ? autoReplicas(nc) : options.replicas;
  const kvm = new Kvm(js);
  const specs = [
    { name: RESOURCES_BUCKET, description: 'Meshless resources: one key per resource, revision = stream sequence' },
    { name: META_BUCKET, description: 'Meshless datastore bookkeeping' },
  ];
  const opened: KV[] = [];
  for (const spec of specs) {
    for (;;) {
      try {
        // allow_direct false: see the consistency note at the top.
        const kv = await withRetry(
          () => kvm.create(spec.name, { history: 1, description: spec.description, replicas, allow_direct: false }),
          START_BUDGET,
        );
        await reconcileReplicas(admin, `KV_${spec.name}`, replicas, options.log);
        opened.push(kv);
        break;
      } catch (err) {
        const insufficient = err instanceof JetStreamApiError && err.code === StorageJsCodes.InsufficientResources;
        if (!automatic || !insufficient || replicas === 1) throw err;
        options.log.warn(
          { bucket: spec.name, replicas, err: String(err) },
          'the NATS cluster cannot place this many replicas; using 1',
        );
        replicas = 1;
      }
    }
  }
  return {
    js,
    jsm: await withRetry(() => jetstreamManager(nc, { timeout: KEY_REQUEST_TIMEOUT_MS }), START_BUDGET),
    kv: opened[0]!,
    meta: opened[1]!,
    replicas,
  };
}

/** Scales an existing stream up to `replicas` (never down: fewer copies is an operator's call). */
async function reconcileReplicas(jsm: JetStreamManager, stream: string, replicas: number, log: Logger): Promise<void> {
  const info = await withRetry(() => jsm.streams.info(stream));
  const have = info.config.num_replicas || 1;
  if (have >= replicas) {
    if (have > replicas)
      log.info({ stream, replicas: have, asked: replicas }, 'bucket has more replicas than asked; leaving it');
    return;
  }
  log.warn({ stream, from: have, to: replicas }, 'bucket has fewer replicas than asked: scaling it up');
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
}
