// The datastore's compacted revision (META_BUCKET key META_COMPACTED_REVISION): the highest
// revision whose tombstones may have been purged. The datastore raises it *before* purging, so a
// value read after a read of the KV covers every tombstone that read could have missed.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { META_BUCKET, META_COMPACTED_REVISION } from '../../../shared/nats/index.js';

/** 0 when the meta bucket or the key does not exist (nothing was ever compacted). */
export async function readCompactedRevision(jsm: JetStreamManager, bucket = META_BUCKET): Promise<number> {
  try {
    const m = await jsm.streams.getMessage(`KV_${bucket}`, {
      last_by_subj: `$KV.${bucket}.${META_COMPACTED_REVISION}`,
    });
    if (!m || m.data.byteLength === 0) return 0;
    const n = Number(Buffer.from(m.data).toString('utf8'));
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return 0;
    throw err;
  }
}
