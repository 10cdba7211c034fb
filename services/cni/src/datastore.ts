// The datastore as the plugin reaches it: the configured addresses tried in order within one
// overall deadline (timeout_seconds), so a datastore that is down gives a clear error well
// inside the runtime's CNI timeout. Service errors become CNI errors: unreachable → 11 ("try
// again later": the runtime retries), anything the datastore refused → 100 with its message.
import { createDatastoreClient, type DatastoreClient } from '../../shared/datastore-client/index.js';
import type { CredentialPaths } from '../../shared/tls/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { CniCode, CniError } from './errors.js';

/** `conf.tls`: the network configuration's credentials (mutual TLS); undefined: plain text. */
export async function withDatastore<T>(
  conf: {
    readonly datastore: readonly string[];
    readonly timeoutMs: number;
    readonly tls: CredentialPaths | undefined;
  },
  fn: (client: DatastoreClient) => Promise<T>,
): Promise<T> {
  const { datastore: addresses, timeoutMs, tls } = conf;
  const deadline = Date.now() + timeoutMs;
  const failures: string[] = [];
  for (const [i, address] of addresses.entries()) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    // Earlier addresses get an even share of what is left, the last one all of it.
    const share = i === addresses.length - 1 ? left : Math.max(250, Math.floor(left / (addresses.length - i)));
    const client = createDatastoreClient(address, { deadlineMs: share, ...(tls ? { credentials: tls } : {}) });
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof CniError) throw err;
      const deadlineHit = (err as { cause?: { code?: number } }).cause?.code === 4;
      if (err instanceof UnavailableError || deadlineHit) {
        failures.push(`${address}: ${deadlineHit ? `no answer within ${share} ms` : (err as Error).message}`);
        continue;
      }
      throw new CniError(CniCode.Datastore, (err as Error).message, `datastore ${address}`, { cause: err });
    } finally {
      client.close();
    }
  }
  throw new CniError(
    CniCode.TryAgainLater,
    // Say how we tried: a datastore that refuses our certificate (or we its) looks unreachable too.
    `the Meshless datastore is unreachable (${addresses.join(', ')}) ${tls ? `over mutual TLS (certificate ${tls.cert}, CA ${tls.ca})` : 'in plain text (no tls in the network configuration)'}`,
    failures.join('; ') || `no answer within ${timeoutMs} ms`,
  );
}
