// validateResource: the one entry point that turns untrusted input into a Resource. Order of
// checks: shape, apiVersion, kind, metadata (name rules, namespace, labels, annotations), then
// the kind's spec (types, unknown fields, Calico's rules, defaults) and finally rules that need
// both. The first problem found is reported, naming source, document, kind, name and field.

import { ResourceError, type ResourceContext } from './errors.js';
import { KINDS, kindInfo, resolveKind } from './kinds.js';
import { ANNOTATIONS_MAX_BYTES, checkDns1123Label, checkDns1123Subdomain, checkLabelKey } from './names.js';
import { FieldError, describe, fail, integer, isPlainObject, object, optional, string, stringMap, type Check } from './schema.js';
import { labelMap, GLOBALNETWORKPOLICY, NETWORKPOLICY, PROFILE } from './kinds-policy.js';
import { BLOCKAFFINITY, IPAMBLOCK, IPAMHANDLE, IPPOOL } from './kinds-ipam.js';
import { HOSTENDPOINT, NODE, WORKLOADENDPOINT } from './kinds-node.js';
import { BGPCONFIGURATION, BGPPEER, LEARNEDROUTE } from './kinds-bgp.js';
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
  LearnedRoute: LEARNEDROUTE,
};

const annotations: Check<Record<string, string>> = (value, path) => {
  const out = stringMap((k) => checkLabelKey(k.toLowerCase()))(value, path);
  let size = 0;
  for (const [k, v] of Object.entries(out)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > ANNOTATIONS_MAX_BYTES) fail(path, `total size of annotations is ${size} bytes, more than the limit of ${ANNOTATIONS_MAX_BYTES}`);
  return out;
};

const metadataFields = object({
  name: optional(string()),
  namespace: optional(string()),
  labels: optional(labelMap),
  annotations: optional(annotations),
  uid: optional(string({ maxLength: 128 })),
  // Kubernetes writes a string; a plain number is accepted and written as text.
  resourceVersion: optional((v, p) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : string({ maxLength: 64 })(v, p))),
  creationTimestamp: optional(string({ maxLength: 64 })),
  generation: optional(integer(0, Number.MAX_SAFE_INTEGER)),
});

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
    throw new ResourceError(`expected a resource (a mapping with apiVersion, kind, metadata and spec), got ${describe(obj)}`, where);
  }
  const rawName = isPlainObject(obj.metadata) && typeof obj.metadata.name === 'string' ? clip(obj.metadata.name) : undefined;
  const rawKind = typeof obj.kind === 'string' && kindInfo(obj.kind) ? obj.kind : undefined;
  const error = (field: string, reason: string) =>
    new ResourceError(reason, {
      ...where,
      field,
      ...(rawKind === undefined ? {} : { kind: rawKind }),
      ...(rawName === undefined ? {} : { name: rawName }),
    });

  try {
    return check(obj);
  } catch (e) {
    if (e instanceof FieldError) throw error(e.field, e.reason);
    throw e;
  }
}

function check(obj: Record<string, unknown>): Resource {
  const { apiVersion, kind } = obj;
  if (apiVersion === undefined || apiVersion === null) fail('apiVersion', `is required (${API_VERSION})`);
  if (apiVersion !== API_VERSION) fail('apiVersion', `${JSON.stringify(apiVersion)} is not supported: use ${API_VERSION}`);
  if (typeof kind !== 'string' || kind === '') return fail('kind', `is required (one of ${KINDS.map((k) => k.kind).join(', ')})`);
  const info = kindInfo(kind);
  if (!info) {
    const near = resolveKind(kind);
    return fail('kind', `unknown kind '${clip(kind)}'${near ? ` (did you mean '${near}'?)` : ` (known kinds: ${KINDS.map((k) => k.kind).join(', ')})`}`);
  }
  const spec = SPECS[info.kind];
  for (const key of Object.keys(obj)) {
    if (!TOP_LEVEL.includes(key) || (key === 'status' && !spec.status)) fail(key, `unknown field '${key}'`);
  }

  if (obj.metadata === undefined || obj.metadata === null) fail('metadata', 'is required (at least metadata.name)');
  const metadata = metadataFields(obj.metadata, 'metadata');
  const name = metadata.name as string | undefined;
  if (name === undefined || name === '') return fail('metadata.name', 'is required');
  const nameProblem = (spec.nameRule ?? checkDns1123Subdomain)(name);
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
  spec.finish?.({ name, ...(typeof namespace === 'string' ? { namespace } : {}) }, specValue);
  const out: Record<string, unknown> = { apiVersion: API_VERSION, kind: info.kind, metadata: meta, spec: specValue };
  if (spec.status && obj.status !== undefined && obj.status !== null) out.status = spec.status(obj.status, 'status');
  return out as unknown as Resource;
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
