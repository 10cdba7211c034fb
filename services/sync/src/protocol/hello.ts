// Validation of the client's first message. Every problem is an InvalidArgumentError naming the
// field (the client sees INVALID_ARGUMENT with that text and the meshless-field header).
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { parseResourceKey } from '../../../shared/nats/index.js';
import { SyncFeature, type SyncClientHello, type SyncCompression } from '../../../../proto/gen/meshless/v1/sync.js';
import { NODE_SCOPED_KINDS, SYNCER_TYPES, isSyncerType, type SyncerType } from '../view/index.js';
import { chooseCompression } from './codec.js';

/** Kubernetes node names are DNS subdomains (RFC 1123). */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NODE_NAME = 253;
const MAX_TEXT = 256;
/** More endpoints than any node can run (Kubernetes caps pods per node far below this). */
export const MAX_NODE_SCOPED_KEYS = 100_000;

export interface ValidHello {
  node: string;
  syncer: SyncerType;
  clientVersion: string;
  /** 0 when the client holds nothing. */
  revision: number;
  datastoreId: string;
  compression: SyncCompression;
  reconnect: boolean;
  nodeScopedKeys: string[];
}

function invalid(field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`client_hello.${field}: ${problem}`, { field: `client_hello.${field}` });
}

export function validateHello(h: SyncClientHello): ValidHello {
  if (h.node === '') throw invalid('node', "required (the name of the client's node)");
  if (h.node.length > MAX_NODE_NAME || !NODE_NAME.test(h.node)) {
    throw invalid(
      'node',
      `'${h.node.slice(0, 64)}' is not a valid node name (lower-case DNS subdomain, at most ${MAX_NODE_NAME} characters)`,
    );
  }
  if (h.syncerType === '') throw invalid('syncer_type', `required (one of ${SYNCER_TYPES.join(', ')})`);
  if (!isSyncerType(h.syncerType))
    throw invalid(
      'syncer_type',
      `unknown syncer type '${h.syncerType.slice(0, 64)}' (known: ${SYNCER_TYPES.join(', ')})`,
    );
  if (h.clientVersion.length > MAX_TEXT) throw invalid('client_version', `longer than ${MAX_TEXT} characters`);
  if (h.datastoreId.length > MAX_TEXT) throw invalid('datastore_id', `longer than ${MAX_TEXT} characters`);
  if (h.nodeScopedKeys.length > MAX_NODE_SCOPED_KEYS)
    throw invalid('node_scoped_keys', `${h.nodeScopedKeys.length} keys, more than ${MAX_NODE_SCOPED_KEYS}`);
  for (const [i, key] of h.nodeScopedKeys.entries()) {
    const parsed = parseResourceKey(key);
    if (!parsed || !NODE_SCOPED_KINDS.has(parsed.kind)) {
      throw invalid(
        `node_scoped_keys[${i}]`,
        `'${key.slice(0, 128)}' is not the key of a node-scoped resource (${[...NODE_SCOPED_KINDS].join(', ')})`,
      );
    }
  }
  return {
    node: h.node,
    syncer: h.syncerType,
    clientVersion: h.clientVersion,
    revision: h.revision ?? 0,
    datastoreId: h.datastoreId,
    compression: chooseCompression(h.compression),
    reconnect: h.features.includes(SyncFeature.SYNC_FEATURE_RECONNECT),
    nodeScopedKeys: h.nodeScopedKeys,
  };
}
