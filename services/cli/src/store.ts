// The datastore as the CLI sees it: the calls the commands make, with resources as parsed
// documents and errors already phrased for the operator. Built on the shared datastore client.
import { createConnection } from 'node:net';
import { status, type ServiceError } from '@grpc/grpc-js';
import { createDatastoreClient, type ResourceObject, type WatchEvent } from '../../shared/datastore-client/index.js';
import { AlreadyExistsError, ConflictError, NotFoundError, UnavailableError } from '../../shared/errors/index.js';
import type { Kind, Resource } from '../../shared/resources/index.js';
import { CliError, identifier, oneLine } from './failure.js';

export { identifier };

export interface IpamPoolUsage {
  name: string;
  cidr: string;
  addressesTotal: number;
  addressesInUse: number;
}

export interface IpamBlockUsage {
  name: string;
  cidr: string;
  /** Containing pool's name, empty when no pool contains the block any more. */
  pool: string;
  node: string;
  addressesTotal: number;
  addressesInUse: number;
}

export interface IpamUsage {
  pools: IpamPoolUsage[];
  blocks: IpamBlockUsage[];
}

export interface Store {
  readonly address: string;
  create(resource: Resource): Promise<Resource>;
  /** Compare-and-set when the document carries metadata.resourceVersion, else unconditional. */
  replace(resource: Resource): Promise<Resource>;
  /** `unchanged`: the datastore already held exactly this; nothing was written. */
  apply(resource: Resource): Promise<{ resource: Resource; created: boolean; unchanged: boolean }>;
  delete(kind: Kind, namespace: string, name: string): Promise<Resource>;
  get(kind: Kind, namespace: string, name: string): Promise<Resource>;
  /** `get`, or undefined when the resource does not exist. */
  find(kind: Kind, namespace: string, name: string): Promise<Resource | undefined>;
  /** namespace "" = every namespace; selector "" = everything. */
  list(kind: Kind, namespace: string, labelSelector: string): Promise<{ items: Resource[]; revision: number }>;
  ipamShow(): Promise<IpamUsage>;
  releaseIps(addresses: string[]): Promise<{ released: string[]; notAllocated: string[] }>;
  releaseHandle(handleId: string): Promise<string[]>;
  /** Releases the blocks affine to a node (blocks still in use stay, without affinity). */
  releaseBlocks(node: string): Promise<{ released: string[]; deleted: string[] }>;
  /** The datastore's change stream after `revision` (0: current state first); kinds empty = all. */
  watch(kinds: Kind[], revision: number, signal: AbortSignal): AsyncGenerator<WatchEvent, void, undefined>;
  close(): void;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

/**
 * Whether something accepts TCP connections at `address`. This tells "nothing is listening" (the
 * cluster is not running: say so at once) from a datastore that answers UNAVAILABLE because its
 * own NATS is down, which gRPC reports with the same status code.
 */
function probe(address: string, timeoutMs: number): Promise<string | undefined> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

function unreachable(address: string, timeoutMs: number): CliError {
  return new CliError(
    `cannot reach the datastore at ${address} within ${formatMs(timeoutMs)} (is \`npm start\` running?)`,
  );
}

/** First wait between connection attempts; doubled up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;

/**
 * Waits for something to accept TCP connections at `address`, retrying within `timeoutMs`: a
 * script that starts the cluster and then runs `meshless apply` must not fail because the
 * datastore is a few hundred milliseconds from listening (kubectl retries likewise).
 */
async function waitListening(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    const left = deadline - Date.now();
    if (left <= 0 || (await probe(address, left)) === undefined) {
      if (left > 0) return;
      throw unreachable(address, timeoutMs);
    }
    const wait = Math.min(delay, deadline - Date.now());
    if (wait <= 0) throw unreachable(address, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Rephrases a failed call: calicoctl's wording for the per-resource outcomes, the address for
 * transport failures. The class stays the shared one (NotFoundError etc.) so callers can test it.
 */
function rephrase(err: unknown, address: string, timeoutMs: number, id?: string, credentials?: string): Error {
  const grpcCode = (err as { cause?: Partial<ServiceError> }).cause?.code;
  const message = oneLine(err);
  if (grpcCode === status.DEADLINE_EXCEEDED) {
    return new CliError(`the datastore at ${address} did not answer within ${formatMs(timeoutMs)} (raise --timeout)`, {
      cause: err,
    });
  }
  if (err instanceof NotFoundError && id)
    return new NotFoundError(`resource does not exist: ${id} with error: ${message}`, { cause: err });
  if (err instanceof AlreadyExistsError && id)
    return new AlreadyExistsError(`resource already exists: ${id}`, { cause: err });
  if (err instanceof ConflictError && id)
    return new ConflictError(`update conflict: ${id}: ${message}`, { cause: err });
  if (err instanceof UnavailableError) {
    // The port answered (probe) but no HTTP/2 connection came up: most often TLS on one side only.
    const hint = credentials ? '' : ' (if it serves mutual TLS, give --credentials DIR or MESHLESS_CREDENTIALS)';
    return new UnavailableError(`the datastore at ${address} is unavailable: ${message}${hint}`, { cause: err });
  }
  if (grpcCode === status.UNIMPLEMENTED) {
    return new CliError(
      `the server at ${address} is not a Meshless datastore (or an incompatible version): ${message}`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(message);
}

/** Connects to the datastore at `address`, waiting up to `timeoutMs` for it to listen. */
export async function connectStore(address: string, timeoutMs: number, credentials?: string): Promise<Store> {
  await waitListening(address, timeoutMs);
  const client = createDatastoreClient(address, { deadlineMs: timeoutMs, ...(credentials ? { credentials } : {}) });
  const guard = async <T>(id: string | undefined, call: () => Promise<T>, idempotent = false): Promise<T> => {
    // An idempotent call that met UNAVAILABLE (a NATS leader election, a datastore restarting) is
    // tried again after the server's retry hint, doubling up to 2 s, within the --timeout budget.
    // Create, replace and delete are not: a retry after a write that did land would misreport.
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const delay = Math.min(
          2000,
          (err instanceof UnavailableError ? (err.retryAfterMs ?? 200) : 200) * 2 ** attempt,
        );
        if (
          !idempotent ||
          !(err instanceof UnavailableError) ||
          attempt >= 5 ||
          Date.now() - start + delay >= timeoutMs
        )
          throw rephrase(err, address, timeoutMs, id, credentials);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  const idOf = (r: Resource) => identifier(r.kind, r.metadata.namespace ?? '', r.metadata.name);
  const asResource = (o: ResourceObject) => o as unknown as Resource;
  return {
    address,
    create: (r) => guard(idOf(r), async () => asResource(await client.create(r))),
    replace: (r) => guard(idOf(r), async () => asResource(await client.update(r))),
    apply: (r) =>
      guard(
        idOf(r),
        async () => {
          const res = await client.apply(r);
          return { resource: asResource(res.resource), created: res.created, unchanged: res.unchanged };
        },
        true,
      ),
    delete: (kind, namespace, name) =>
      guard(identifier(kind, namespace, name), async () =>
        asResource((await client.delete(kind, name, { namespace })).resource),
      ),
    get: (kind, namespace, name) =>
      guard(identifier(kind, namespace, name), async () => asResource(await client.get(kind, name, namespace)), true),
    find: (kind, namespace, name) =>
      guard(
        identifier(kind, namespace, name),
        async () => {
          try {
            return asResource(await client.get(kind, name, namespace));
          } catch (err) {
            if (err instanceof NotFoundError) return undefined;
            throw err;
          }
        },
        true,
      ),
    list: (kind, namespace, labelSelector) =>
      guard(
        undefined,
        async () => {
          const { items, revision } = await client.list(kind, { namespace, labelSelector });
          return { items: items.map(asResource), revision };
        },
        true,
      ),
    ipamShow: () =>
      guard(
        undefined,
        async () => {
          const res = await client.ipamShow();
          return {
            pools: res.pools.map((p) => ({
              name: p.name,
              cidr: p.cidr,
              addressesTotal: p.addressesTotal,
              addressesInUse: p.addressesInUse,
            })),
            blocks: res.blocks.map((b) => ({
              name: b.name,
              cidr: b.cidr,
              pool: b.pool,
              node: b.node,
              addressesTotal: b.addressesTotal,
              addressesInUse: b.addressesInUse,
            })),
          };
        },
        true,
      ),
    releaseIps: (addresses) => guard(undefined, () => client.releaseIps(addresses)),
    releaseHandle: (handleId) => guard(undefined, () => client.releaseHandle(handleId)),
    releaseBlocks: (node) => guard(undefined, () => client.releaseBlocks(node)),
    watch: async function* (kinds, revision, signal) {
      try {
        yield* client.watch({ kinds, revision, signal });
      } catch (err) {
        throw rephrase(err, address, timeoutMs);
      }
    },
    close: () => client.close(),
  };
}
