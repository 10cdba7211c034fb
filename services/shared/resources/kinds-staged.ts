// StagedNetworkPolicy, StagedGlobalNetworkPolicy and StagedKubernetesNetworkPolicy: policies
// Calico evaluates without enforcing them (to preview their effect). Each spec is the enforced
// kind's spec plus `stagedAction`: Set (the default, also when absent) previews the policy as
// given; Delete previews its removal, and then every field but `tier` must be empty (Calico's
// validateStaged* rules). The StagedKubernetesNetworkPolicy spec is Kubernetes' NetworkPolicySpec.

import { checkLabelKey, checkLabelValue } from './names.js';
import { cidr, rulePort } from './fields.js';
import {
  checkGlobalPolicy,
  checkPolicy,
  commonPolicyFields,
  defaultTypes,
  globalNetworkPolicyNameRule,
  globalPolicyFields,
  networkPolicyNameRule,
  type PolicyShape,
} from './kinds-policy.js';
import {
  describe,
  fail,
  isPlainObject,
  list,
  object,
  oneOf,
  optional,
  required,
  stringMap,
  type Check,
  type Field,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

const stagedAction = optional(oneOf(['Set', 'Delete'] as const));

/** Fields that may be set with stagedAction Delete. */
const DELETE_FIELDS = new Set(['stagedaction', 'tier']);

function staged(
  fields: Record<string, Field>,
  check: (spec: PolicyShape & Record<string, unknown>, path: string) => void,
): Check<Record<string, unknown>> {
  const full = object({ stagedAction, ...fields });
  return (value, path) => {
    if (isPlainObject(value) && typeof value.stagedAction === 'string' && value.stagedAction === 'Delete') {
      const extra = Object.keys(value).find(
        (k) => !DELETE_FIELDS.has(k.toLowerCase()) && value[k] !== null && value[k] !== undefined,
      );
      if (extra) fail(`${path}.${extra}`, 'must be empty when stagedAction is Delete (only tier may be set)');
      const out = object({ stagedAction, tier: fields.tier! })(value, path);
      return out;
    }
    const spec = full(value, path) as PolicyShape & Record<string, unknown>;
    check(spec, path);
    return spec;
  };
}

export const STAGEDNETWORKPOLICY: KindSpec = {
  nameRule: networkPolicyNameRule,
  spec: staged(commonPolicyFields, (spec, path) => {
    checkPolicy(spec, path, false);
    defaultTypes(spec);
  }),
};

export const STAGEDGLOBALNETWORKPOLICY: KindSpec = {
  nameRule: globalNetworkPolicyNameRule,
  spec: staged(globalPolicyFields, checkGlobalPolicy),
};

// ---------------------------------------------------------------- Kubernetes NetworkPolicySpec

const labelValue: Check<string> = (v, p) => {
  if (typeof v !== 'string') return fail(p, `expected a string, got ${describe(v)}`);
  const problem = checkLabelValue(v);
  return problem ? fail(p, problem) : v;
};

/** metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
const labelSelector: Check<Record<string, unknown>> = (value, path) => {
  const s = object({
    matchLabels: optional(stringMap(checkLabelKey, checkLabelValue)),
    matchExpressions: optional(
      list(
        object({
          key: required((v, p) => {
            if (typeof v !== 'string') return fail(p, `expected a label key, got ${describe(v)}`);
            const problem = checkLabelKey(v);
            return problem ? fail(p, problem) : v;
          }),
          operator: required(oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const)),
          values: optional(list(labelValue)),
        }),
      ),
    ),
  })(value, path);
  ((s.matchExpressions as { operator: string; values?: string[] }[] | undefined) ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}].values`;
    const n = e.values?.length ?? 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0)
      fail(p, `must be non-empty for operator ${e.operator}`);
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0)
      fail(p, `must be empty for operator ${e.operator}`);
  });
  return s;
};

const peer: Check<Record<string, unknown>> = (value, path) => {
  const p = object({
    podSelector: optional(labelSelector),
    namespaceSelector: optional(labelSelector),
    ipBlock: optional(object({ cidr: required(cidr()), except: optional(list(cidr())) })),
  })(value, path);
  if (p.ipBlock !== undefined && (p.podSelector !== undefined || p.namespaceSelector !== undefined)) {
    fail(`${path}.ipBlock`, 'cannot be combined with podSelector or namespaceSelector');
  }
  if (p.ipBlock === undefined && p.podSelector === undefined && p.namespaceSelector === undefined) {
    fail(path, 'must set one of podSelector, namespaceSelector or ipBlock');
  }
  return p;
};

const k8sPort: Check<Record<string, unknown>> = (value, path) => {
  const p = object({
    protocol: optional(oneOf(['TCP', 'UDP', 'SCTP'] as const)),
    port: optional(rulePort),
    endPort: optional((v, q) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535
        ? v
        : fail(q, `expected a port 1-65535, got ${describe(v)}`),
    ),
  })(value, path);
  if (p.endPort !== undefined) {
    if (typeof p.port !== 'number') fail(`${path}.endPort`, 'needs a numeric port');
    else if ((p.endPort as number) < p.port)
      fail(`${path}.endPort`, `must be greater than or equal to port (${p.port})`);
  }
  return p;
};

const k8sPolicySpec = object({
  stagedAction,
  podSelector: optional(labelSelector),
  ingress: optional(list(object({ from: optional(list(peer)), ports: optional(list(k8sPort)) }))),
  egress: optional(list(object({ to: optional(list(peer)), ports: optional(list(k8sPort)) }))),
  policyTypes: optional(list(oneOf(['Ingress', 'Egress'] as const), { maxItems: 2, unique: true })),
});

export const STAGEDKUBERNETESNETWORKPOLICY: KindSpec = {
  spec: (value, path) => {
    if (isPlainObject(value) && value.stagedAction === 'Delete') {
      const extra = Object.keys(value).find((k) => k !== 'stagedAction' && value[k] !== null && value[k] !== undefined);
      if (extra) fail(`${path}.${extra}`, 'must be empty when stagedAction is Delete');
    }
    const spec = k8sPolicySpec(value, path);
    // Kubernetes requires podSelector (an empty one selects every pod in the namespace).
    if (spec.stagedAction !== 'Delete') spec.podSelector ??= {};
    return spec;
  },
};
