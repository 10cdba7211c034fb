export {
  SYNCER_TYPES,
  NODE_SCOPED_KINDS,
  isSyncerType,
  scopeOf,
  hasNodeScope,
  nodeOfResource,
  inView,
} from './views.js';
export type { SyncerType, Scope } from './views.js';
