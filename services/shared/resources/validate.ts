// validateResource: the one entry point that turns untrusted input into a Resource. Order of
// checks: shape, apiVersion, kind, metadata (name rules, namespace, labels, annotations), then
// the kind's spec (types, unknown fields, Calico's rules, defaults) and finally rules that need
// both. The first problem found is reported, naming source, document, kind, name and field.

import { ResourceError, type ResourceContext } from './errors.js';
import { KINDS, kindInfo, resolveKind } from './kinds.js';
import { ANNOTATIONS_MAX_BYTES, checkDns1123Label, checkDns1123Subdomain, checkLabelKey } from './names.js';
import {
  FieldError,
  boolean,
  describe,
  fail,
  integer,
  isPlainObject,
  list,
  object,
  optional,
  required,
  string,
  stringMap,
  type Check,
} from './schema.js';
import { labelMap, GLOBALNETWORKPOLICY, NETWORKPOLICY, PROFILE } from './kinds-policy.js';
import { BLOCKAFFINITY, IPAMBLOCK, IPAMHANDLE, IPPOOL } from './kinds-ipam.js';
import { HOSTENDPOINT, NODE, WORKLOADENDPOINT } from './kinds-node.js';
import { BGPCONFIGURATION, BGPPEER, LEARNEDROUTE } from './kinds-bgp.js';
import { BGPFILTER } from './kinds-bgpfilter.js';
import { FELIXCONFIGURATION } from './kinds-felix.js';
import { CALICONODESTATUS, KUBECONTROLLERSCONFIGURATION } from './kinds-controllers.js';
import {
  CLUSTERINFORMATION,
  GLOBALNETWORKSET,
  IPAMCONFIGURATION,
  IPRESERVATION,
  NETWORKSET,
  TIER,
} from './kinds-sets.js';
import { STAGEDGLOBALNETWORKPOLICY, STAGEDKUBERNETESNETWORKPOLICY, STAGEDNETWORKPOLICY } from './kinds-staged.js';
import type { KindSpec } from './kind-spec.js';
import { API_VERSION, type Kind, type Resource } from './types.js';

const SPECS: Record<Kind, KindSpec> = {
  Node: NODE,
  IPPool: IPPOOL,
  IPAMBlock: IPAMBLOCK,
  BlockAffinity: BLOCKAFFINITY,
  IPAMHandle: IPAMHANDLE,
  WorkloadEndpoint: WORKLOADENDPOINT,
  HostEndpoint: HOSTENDPOINT,
  Profile: PROFILE,
  NetworkPolicy: NETWORKPOLICY,
  GlobalNetworkPolicy: GLOBALNETWORKPOLICY,
  BGPPeer: BGPPEER,
  BGPConfiguration: BGPCONFIGURATION,
  BGPFilter: BGPFILTER,
  FelixConfiguration: FELIXCONFIGURATION,
  KubeControllersConfiguration: KUBECONTROLLERSCONFIGURATION,
  ClusterInformation: CLUSTERINFORMATION,
  IPAMConfiguration: IPAMCONFIGURATION,
  IPReservation: IPRESERVATION,
  GlobalNetworkSet: GLOBALNETWORKSET,
  NetworkSet: NETWORKSET,
  Tier: TIER,
  StagedNetworkPolicy: STAGEDNETWORKPOLICY,
  StagedGlobalNetworkPolicy: STAGEDGLOBALNETWORKPOLICY,
  StagedKubernetesNetworkPolicy: STAGEDKUBERNETESNETWORKPOLICY,
  CalicoNodeStatus: CALICONODESTATUS,
  LearnedRoute: LEARNEDROUTE,
};

const annotations: Check<Record<string, string>> = (value, path) => {
  const out = stringMap((k) => checkLabelKey(k.toLowerCase()))(value, path);
  let size = 0;
  for (const [k, v] of Object.entries(out)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > ANNOTATIONS_MAX_BYTES)
    fail(path, `total size of annotations is ${size} bytes, more than the limit of ${ANNOTATIONS_MAX_BYTES}`);
  return out;
};

const metadataFields = object({
  name: optional(string()),
  namespace: optional(string()),
  labels: optional(labelMap),
  annotations: optional(annotations),
  uid: optional(string({ maxLength: 128 })),
  // Kubernetes writes a string; a plain number is accepted and written as text.
  resourceVersion: optional((v, p) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : string({ maxLength: 64 })(v, p),
  ),
  creationTimestamp: optional(string({ maxLength: 64 })),
  generation: optional(integer(0, Number.MAX_SAFE_INTEGER)),
  // Kubernetes ObjectMeta fields calicoctl accepts. Kept: what a user or controller sets and
  // means (generateName, finalizers, ownerReferences). Dropped after a type check: what only an
  // API server writes (selfLink, deletionTimestamp, deletionGracePeriodSeconds, managedFields),
  // as `calicoctl get --export` and `kubectl apply` ignore them.
  generateName: optional(string({ maxLength: 253 })),
  finalizers: optional(list(string({ nonEmpty: true, maxLength: 253 }), { maxItems: 64 })),
  ownerReferences: optional(
    list(
      object({
        apiVersion: required(string({ nonEmpty: true, maxLength: 253 })),
        kind: required(string({ nonEmpty: true, maxLength: 253 })),
        name: required(string({ nonEmpty: true, maxLength: 253 })),
        uid: required(string({ nonEmpty: true, maxLength: 128 })),
        controller: optional(boolean),
        blockOwnerDeletion: optional(boolean),
      }),
      { maxItems: 64 },
    ),
  ),
  selfLink: optional(string({ maxLength: 1024 })),
  deletionTimestamp: optional(string({ maxLength: 64 })),
  deletionGracePeriodSeconds: optional(integer(0, Number.MAX_SAFE_INTEGER)),
  managedFields: optional(list((v, p) => (isPlainObject(v) ? v : fail(p, `expected a mapping, got ${describe(v)}`)))),
});

/** Metadata fields accepted on input but never stored (see metadataFields). */
const DROPPED_METADATA = ['selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields'] as const;

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * Validates an untrusted object as a Calico v3 resource and returns it normalized, with defaults
 * filled in. Throws ResourceError (an InvalidArgumentError) with `field` set.
 */
export function validateResource(obj: unknown, ctx: ResourceContext = {}): Resource {
  const where = {
    ...(ctx.source === undefined ? {} : { source: ctx.source }),
    ...(ctx.document === undefined ? {} : { document: ctx.document }),
    ...(ctx.item === undefined ? {} : { item: ctx.item }),
  };
  if (!isPlainObject(obj)) {
    throw new ResourceError(
      `expected a resource (a mapping with apiVersion, kind, metadata and spec), got ${describe(obj)}`,
      where,
    );
  }
  // For messages only: the name and kind as given, whatever the case of their field names.
  const anyCase = (o: Record<string, unknown>, f: string) =>
    o[f] ?? o[Object.keys(o).find((k) => k.toLowerCase() === f) ?? f];
  const meta = anyCase(obj, 'metadata');
  const givenName = isPlainObject(meta) ? anyCase(meta, 'name') : undefined;
  const givenKind = anyCase(obj, 'kind');
  const rawName = typeof givenName === 'string' ? clip(givenName) : undefined;
  const rawKind = typeof givenKind === 'string' && kindInfo(givenKind) ? givenKind : undefined;
  const error = (field: string, reason: string) =>
    new ResourceError(reason, {
      ...where,
      field,
      ...(rawKind === undefined ? {} : { kind: rawKind }),
      ...(rawName === undefined ? {} : { name: rawName }),
    });

  try {
    return check(obj, ctx.converted === true);
  } catch (e) {
    if (e instanceof FieldError) throw error(e.field, e.reason);
    throw e;
  }
}

function check(given: Record<string, unknown>, converted: boolean): Resource {
  const obj = topLevelFields(given);
  const { apiVersion, kind } = obj;
  if (apiVersion === undefined || apiVersion === null) fail('apiVersion', `is required (${API_VERSION})`);
  if (apiVersion !== API_VERSION)
    fail('apiVersion', `${JSON.stringify(apiVersion)} is not supported: use ${API_VERSION}`);
  if (typeof kind !== 'string' || kind === '')
    return fail('kind', `is required (one of ${KINDS.map((k) => k.kind).join(', ')})`);
  const info = kindInfo(kind);
  if (kind === 'CalicoAPIConfig') {
    fail(
      'kind',
      "CalicoAPIConfig is calicoctl's client configuration, not a resource: give meshless the datastore address with --datastore or MESHLESS_DATASTORE",
    );
  }
  if (!info) {
    const near = resolveKind(kind);
    return fail(
      'kind',
      `unknown kind '${clip(kind)}'${near ? ` (did you mean '${near}'?)` : ` (known kinds: ${KINDS.map((k) => k.kind).join(', ')})`}`,
    );
  }
  const spec = SPECS[info.kind];
  for (const key of Object.keys(obj)) {
    if (!TOP_LEVEL.includes(key) || (key === 'status' && !spec.status)) fail(key, `unknown field '${key}'`);
  }

  if (obj.metadata === undefined || obj.metadata === null) fail('metadata', 'is required (at least metadata.name)');
  const metadata = metadataFields(obj.metadata, 'metadata');
  for (const f of DROPPED_METADATA) delete metadata[f];
  const name = metadata.name as string | undefined;
  if (name === undefined || name === '') return fail('metadata.name', 'is required');
  const nameProblem = spec.nameRule ? spec.nameRule(name, converted) : checkDns1123Subdomain(name);
  if (nameProblem) fail('metadata.name', nameProblem);
  if (info.namespaced) {
    metadata.namespace = (metadata.namespace as string | undefined) || 'default';
    const nsProblem = checkDns1123Label(metadata.namespace as string);
    if (nsProblem) fail('metadata.namespace', nsProblem);
  } else if (metadata.namespace !== undefined && metadata.namespace !== '') {
    fail('metadata.namespace', `${info.kind} is not namespaced: remove metadata.namespace`);
  } else {
    delete metadata.namespace;
  }
  // Key order: name, namespace, then the rest, as Kubernetes prints it.
  const { name: _n, namespace, ...restMeta } = metadata;
  const meta = { name, ...(namespace === undefined ? {} : { namespace }), ...restMeta };

  const specValue = spec.spec(obj.spec === undefined || obj.spec === null ? {} : obj.spec, 'spec');
  spec.finish?.(
    {
      name,
      ...(typeof namespace === 'string' ? { namespace } : {}),
      ...(metadata.labels ? { labels: metadata.labels as Record<string, string> } : {}),
    },
    specValue,
  );
  const out: Record<string, unknown> = { apiVersion: API_VERSION, kind: info.kind, metadata: meta, spec: specValue };
  if (spec.status && obj.status !== undefined && obj.status !== null) out.status = spec.status(obj.status, 'status');
  return out as unknown as Resource;
}

/** The top-level fields under their declared names (Go's decoder matches `Spec:` to spec). */
function topLevelFields(obj: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(obj).every((k) => TOP_LEVEL.includes(k))) return obj;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    const name = TOP_LEVEL.find((t) => t.toLowerCase() === key.toLowerCase()) ?? key;
    if (name in out) fail(name, `is given twice (field names match in any case)`);
    out[name] = v;
  }
  return out;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The name of a resource-like object (metadata.name), or undefined. */
export function resourceName(obj: unknown): string | undefined {
  if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) return undefined;
  const n = obj.metadata.name;
  return typeof n === 'string' ? n : undefined;
}
