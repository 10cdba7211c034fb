export {
  SUPPORTED_COMPRESSION,
  compressionName,
  chooseCompression,
  encodeFrame,
  FRAME_HEADER_BYTES,
  updateBlock,
  updateBlockAsync,
  updateSize,
} from './codec.js';
export type { BuiltBlock } from './codec.js';
export { RAW_SYNC_SERVICE } from './service.js';
export { validateHello, MAX_NODE_SCOPED_KEYS } from './hello.js';
export type { ValidHello } from './hello.js';
