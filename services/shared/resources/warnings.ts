// Remarks about valid resources. Where Meshless would be stricter than Calico, the document is
// accepted (Calico accepts it, and an export must import unchanged) and the remark names the
// field; the CLI prints each one as `Warning: ...` and the datastore logs them.

import { bgpPeerWarnings } from './kinds-bgp.js';
import type { Resource } from './types.js';

export interface ResourceWarning {
  /** Dotted path of the field the remark is about, e.g. `spec.asNumber`. */
  field: string;
  message: string;
}

/** The remarks about a validated resource (empty for most). */
export function resourceWarnings(resource: Resource): ResourceWarning[] {
  switch (resource.kind) {
    case 'BGPPeer':
      return bgpPeerWarnings(resource.spec as unknown as Record<string, unknown>);
    default:
      return [];
  }
}
