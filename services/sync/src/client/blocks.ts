// Reading a SyncUpdateBlock: plain updates, or an encoded SyncUpdateList compressed with the
// algorithm the server chose in its hello (proto/meshless/v1/sync.proto).
import { gunzipSync, inflateSync } from 'node:zlib';
import {
  SyncCompression,
  SyncUpdateList,
  type SyncUpdate,
  type SyncUpdateBlock,
} from '../../../../proto/gen/meshless/v1/sync.js';

/** The updates of a block; throws when it is compressed without a negotiated algorithm or corrupt. */
export function blockUpdates(block: SyncUpdateBlock | undefined, compression: SyncCompression): SyncUpdate[] {
  if (!block) return [];
  if (block.compressed.byteLength === 0) return block.updates;
  let raw: Buffer;
  if (compression === SyncCompression.SYNC_COMPRESSION_GZIP) raw = gunzipSync(block.compressed);
  else if (compression === SyncCompression.SYNC_COMPRESSION_DEFLATE) raw = inflateSync(block.compressed);
  else throw new Error('the server sent a compressed block but no compression was negotiated');
  const inner = SyncUpdateList.decode(raw).updates;
  return block.updates.length === 0 ? inner : [...block.updates, ...inner];
}
