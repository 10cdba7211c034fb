// Encoding for the sync protocol (sequence and rules: proto/meshless/v1/sync.proto). Everything
// the server writes is a ready-encoded, ready-framed SyncResponse Buffer: built once, shared by
// every stream that needs it (see server/client-stream.ts for how it reaches the stream).
import { promisify } from 'node:util';
import { constants, deflate, deflateSync, gzip, gzipSync, type ZlibOptions } from 'node:zlib';
import {
  SyncCompression,
  SyncResponse,
  SyncUpdateList,
  type SyncUpdate,
  type SyncUpdateBlock,
} from '../../../../proto/gen/meshless/v1/sync.js';

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);

/** Compression the server can apply, in its order of preference when the client lists several. */
export const SUPPORTED_COMPRESSION: readonly SyncCompression[] = [
  SyncCompression.SYNC_COMPRESSION_GZIP,
  SyncCompression.SYNC_COMPRESSION_DEFLATE,
  SyncCompression.SYNC_COMPRESSION_NONE,
];

export function compressionName(c: SyncCompression): string {
  switch (c) {
    case SyncCompression.SYNC_COMPRESSION_GZIP:
      return 'gzip';
    case SyncCompression.SYNC_COMPRESSION_DEFLATE:
      return 'deflate';
    default:
      return 'none';
  }
}

/** The first algorithm of the client's list that we support; none when there is none. */
export function chooseCompression(offered: readonly SyncCompression[]): SyncCompression {
  for (const c of offered) {
    if (c === SyncCompression.SYNC_COMPRESSION_GZIP || c === SyncCompression.SYNC_COMPRESSION_DEFLATE) return c;
    if (c === SyncCompression.SYNC_COMPRESSION_NONE) return c;
  }
  return SyncCompression.SYNC_COMPRESSION_NONE;
}

/** Bytes of the gRPC length prefix: compressed flag (0) and the message length, big-endian. */
export const FRAME_HEADER_BYTES = 5;

/**
 * A SyncResponse encoded once, with its gRPC length prefix (HTTP/2 DATA payload as grpc-js would
 * frame it), so one Buffer can be written as is to every stream that needs it. The message alone
 * is `frame.subarray(FRAME_HEADER_BYTES)`.
 */
export function encodeFrame(message: SyncResponse): Buffer {
  const bytes = SyncResponse.encode(message).finish();
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes.byteLength);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(bytes.byteLength, 1);
  frame.set(bytes, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * zlib's window and hash sized to the input. The defaults (32 KiB window, 256 KiB of state per
 * call) are set up and touched for every block, though a node's endpoints are a few KB: sized to
 * the block, the output is the same and zlib touches a quarter of the memory, a little less CPU
 * for the small blocks compressed on the event loop (node parts, deltas). Any inflater reads the
 * result: the window size is in the stream's header (RFC 1950 CINFO) and inflating with the
 * default window accepts every smaller one, so agents of any version decode it unchanged.
 */
export function zlibOptionsFor(bytes: number): ZlibOptions {
  // Below 2^9 zlib would raise the window to 9 bits anyway; 15 bits is the format's largest.
  const windowBits = Math.max(9, Math.min(15, Math.ceil(Math.log2(bytes + 262))));
  return { windowBits, memLevel: Math.max(1, Math.min(8, windowBits - 7)) };
}

/** A block and, when it was measured, the size of its updates encoded before compression. */
export interface BuiltBlock {
  block: SyncUpdateBlock;
  rawBytes: number | undefined;
}

function isCompressed(c: SyncCompression): boolean {
  return c === SyncCompression.SYNC_COMPRESSION_GZIP || c === SyncCompression.SYNC_COMPRESSION_DEFLATE;
}

function encodeList(updates: SyncUpdate[]): Uint8Array {
  return SyncUpdateList.encode({ updates }).finish();
}

/**
 * A block of updates, compressed with `compression` when its encoding reaches `minBytes`
 * (small deltas stay plain: compressing a few hundred bytes costs the receivers more than it
 * saves; the size is estimated, not encoded twice). Synchronous, for the small blocks of the fan-out path.
 */
export function updateBlock(updates: SyncUpdate[], compression: SyncCompression, minBytes: number): BuiltBlock {
  if (!isCompressed(compression) || updates.length === 0)
    return { block: { updates, compressed: Buffer.alloc(0) }, rawBytes: undefined };
  let estimate = 0;
  for (const u of updates) estimate += updateSize(u);
  if (estimate < minBytes) return { block: { updates, compressed: Buffer.alloc(0) }, rawBytes: undefined };
  const raw = encodeList(updates);
  // The fastest level: these blocks are compressed on the event loop, and a node's part is built
  // once per node, so once per agent in a cluster of one agent per node: per-agent work at a cold
  // start. On a node part of 23 endpoints (12 KB) level 1 took 39-42 µs of CPU against 66-68 µs
  // at the default level 6 (interleaved rounds after a warm-up), for 1,241 bytes against 1,106
  // (issue 17). The shared snapshot, built once per view off the loop (updateBlockAsync), keeps
  // the default level: it is most of the bytes.
  const options = { ...zlibOptionsFor(raw.byteLength), level: constants.Z_BEST_SPEED };
  const compressed =
    compression === SyncCompression.SYNC_COMPRESSION_GZIP ? gzipSync(raw, options) : deflateSync(raw, options);
  return { block: { updates: [], compressed }, rawBytes: raw.byteLength };
}

/** The same for snapshot chunks, compressing on the libuv thread pool. */
export async function updateBlockAsync(updates: SyncUpdate[], compression: SyncCompression): Promise<BuiltBlock> {
  if (!isCompressed(compression) || updates.length === 0)
    return { block: { updates, compressed: Buffer.alloc(0) }, rawBytes: undefined };
  const raw = encodeList(updates);
  const options = zlibOptionsFor(raw.byteLength);
  const compressed =
    compression === SyncCompression.SYNC_COMPRESSION_GZIP
      ? await gzipAsync(raw, options)
      : await deflateAsync(raw, options);
  return { block: { updates: [], compressed }, rawBytes: raw.byteLength };
}

/** Rough encoded size of an update, for cutting chunks without encoding twice. */
export function updateSize(u: SyncUpdate): number {
  return u.key.length + u.value.byteLength + 24;
}
