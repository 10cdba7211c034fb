// The datastore as the plugin reaches it: the configured addresses tried in order within one
// overall deadline (timeout_seconds), so a datastore that is down gives a clear error well
// inside the runtime's CNI timeout. Service errors become CNI errors: unreachable → 11 ("try
// again later": the runtime retries), anything the datastore refused → 100 with its message.
import { createDatastoreClient, type DatastoreClient } from '../../shared/datastore-client/index.js';
import { UnavailableError } from '../../shared/errors/index.js';
import { CniCode, CniError } from './errors.js';

export async function withDatastore<T>(addresses: readonly string[], timeoutMs: number, fn: (client: DatastoreClient) => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const failures: string[] = [];
  for (const [i, address] of addresses.entries()) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    // Earlier addresses get an even share of what is left, the last one all of it.
    const share = i === addresses.length - 1 ? left : Math.max(250, Math.floor(left / (addresses.length - i)));
    const client = createDatastoreClient(address, { deadlineMs: share });
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
    `the Meshless datastore is unreachable (${addresses.join(', ')})`,
    failures.join('; ') || `no answer within ${timeoutMs} ms`,
  );
}
