// BGPFilter: per address family, ordered import and export rules for BGP routes (Calico's
// api/pkg/apis/projectcalico/v3/bgpfilter.go and its validator). A BGPPeer names the filters it
// uses in spec.filters; the route reflectors compile them (services/rr/src/policy/filter.ts).

import { asNumber, checkCommunity, cidr } from './fields.js';
import { describe, fail, integer, list, object, oneOf, optional, required, type Check } from './schema.js';
import type { KindSpec } from './kind-spec.js';

/** An interface name or pattern ('*' wildcards allowed, '*' alone too): bgpFilterInterfaceRegex. */
const filterInterface: Check<string> = (v, p) => {
  if (typeof v !== 'string') return fail(p, `expected an interface name, got ${describe(v)}`);
  if (v === '*' || /^[a-zA-Z0-9_.*-]{1,15}$/.test(v)) return v;
  return fail(p, `'${v}' is not an interface name or pattern (1-15 letters, digits, '_', '.', '-', '*')`);
};

const communityValue: Check<string> = (v, p) => {
  if (typeof v !== 'string') return fail(p, `expected a community ('aa:nn' or 'aa:nn:mm'), got ${describe(v)}`);
  const problem = checkCommunity(v);
  return problem ? fail(p, problem) : v;
};

const priority = integer(1, 2147483646, 'a route priority');

const operation: Check<Record<string, unknown>> = (value, path) => {
  const op = object({
    addCommunity: optional(object({ value: required(communityValue) })),
    prependASPath: optional(object({ prefix: required(list(asNumber, { nonEmpty: true, maxItems: 10 })) })),
    setPriority: optional(object({ value: required(priority) })),
  })(value, path);
  const set = Object.keys(op);
  if (set.length !== 1)
    fail(
      path,
      `set exactly one of addCommunity, prependASPath or setPriority${set.length ? ` (got ${set.join(', ')})` : ''}`,
    );
  return op;
};

function filterRule(family: 4 | 6): Check<Record<string, unknown>> {
  const max = family === 4 ? 32 : 128;
  const rule = object({
    cidr: optional(cidr({ family })),
    prefixLength: optional(
      object({
        min: optional(integer(0, max, `an IPv${family} prefix length`)),
        max: optional(integer(0, max, `an IPv${family} prefix length`)),
      }),
    ),
    source: optional(oneOf(['RemotePeers'] as const)),
    interface: optional(filterInterface),
    matchOperator: optional(oneOf(['Equal', 'NotEqual', 'In', 'NotIn'] as const)),
    peerType: optional(oneOf(['eBGP', 'iBGP'] as const)),
    communities: optional(object({ values: required(list(communityValue, { nonEmpty: true, maxItems: 1 })) })),
    asPathPrefix: optional(list(asNumber, { maxItems: 10 })),
    priority: optional(priority),
    action: required(oneOf(['Accept', 'Reject'] as const)),
    operations: optional(list(operation, { maxItems: 10 })),
  });
  return (value, path) => {
    const r = rule(value, path);
    // Calico's CEL rules on BGPFilterRuleV4/V6.
    if ((r.cidr !== undefined) !== (r.matchOperator !== undefined)) {
      fail(
        `${path}.${r.cidr === undefined ? 'cidr' : 'matchOperator'}`,
        'cidr and matchOperator must both be set or both be empty',
      );
    }
    if (r.prefixLength !== undefined && r.cidr === undefined)
      fail(`${path}.prefixLength`, 'cidr is required when prefixLength is set');
    const pl = r.prefixLength as { min?: number; max?: number } | undefined;
    if (pl?.min !== undefined && pl.max !== undefined && pl.min > pl.max)
      fail(`${path}.prefixLength.min`, `${pl.min} is greater than max ${pl.max}`);
    if ((r.operations as unknown[] | undefined)?.length && r.action !== 'Accept')
      fail(`${path}.operations`, 'operations may only be used with action Accept');
    return r;
  };
}

const rulesV4 = list(filterRule(4), { maxItems: 1024 });
const rulesV6 = list(filterRule(6), { maxItems: 1024 });

export const BGPFILTER: KindSpec = {
  spec: object({
    exportV4: optional(rulesV4),
    importV4: optional(rulesV4),
    exportV6: optional(rulesV6),
    importV6: optional(rulesV6),
  }),
};
