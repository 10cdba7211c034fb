// Static routes from configuration (rr.yaml `routes:`) as originated routes.

import { Origin, parsePrefix, type PathAttributes, type Prefix } from '../../../bgp/index.js';
import { parseCommunity } from '../policy/filter.js';
import type { StaticRoute } from '../config/types.js';

export interface OriginatedRoute {
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
  /** '' = ourselves. */
  readonly nextHop: string;
}

/** The attributes a static route is originated with: ORIGIN IGP, empty AS_PATH (RFC 4271 §5.1.2). */
export function staticRouteToOriginated(r: StaticRoute): OriginatedRoute {
  const communities: number[] = [];
  const large: { globalAdmin: number; localData1: number; localData2: number }[] = [];
  r.communities.forEach((c, i) => {
    const v = parseCommunity(c, `routes.communities[${i}]`);
    if (v.kind === 'standard') communities.push(v.value);
    else large.push(v.value);
  });
  return {
    prefix: parsePrefix(r.prefix),
    nextHop: r.nextHop ?? '',
    attrs: {
      origin: Origin.Igp,
      asPath: [],
      atomicAggregate: false,
      unknown: [],
      ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
      ...(r.med !== undefined ? { med: r.med } : {}),
      ...(communities.length ? { communities } : {}),
      ...(large.length ? { largeCommunities: large } : {}),
    },
  };
}
