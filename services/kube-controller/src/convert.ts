// Kubernetes objects → Calico v3 documents, with Calico's names and rules (libcalico-go's
// Kubernetes conversion, re-expressed here; nothing copied):
//   Namespace n          → Profile kns.<n>, labelsToApply pcns.<k>=<v> + pcns.projectcalico.org/name,
//                          allow-all ingress and egress (pods of a namespace talk unless policed)
//   ServiceAccount s in n → Profile ksa.<n>.<s>, labelsToApply pcsa.<k>=<v> + pcsa.projectcalico.org/name
//   Pod                  → the labels its WorkloadEndpoint carries
//   NetworkPolicy p in n → NetworkPolicy knp.default.<p> in n, order 1000
//   Node                 → Node (addresses, BGP addresses/AS from Calico's annotations)
import type { KubeObject } from './kube/reflector.js';

export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SA_PROFILE_PREFIX = 'ksa.';
export const KNP_PREFIX = 'knp.default.';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SA_LABEL_PREFIX = 'pcsa.';
const NAME_LABEL = 'projectcalico.org/name';
export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const ANNOTATION_IPV4 = 'projectcalico.org/IPv4Address';
export const ANNOTATION_IPV6 = 'projectcalico.org/IPv6Address';
export const ANNOTATION_ASN = 'projectcalico.org/ASNumber';
const V3 = 'projectcalico.org/v3';
/** Calico puts every converted Kubernetes policy at this order. */
const KNP_ORDER = 1000;

export type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
};

const prefixed = (prefix: string, labels: Record<string, string> | undefined, name: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[prefix + k] = v;
  out[prefix + NAME_LABEL] = name;
  return out;
};

export function namespaceProfile(ns: KubeObject): Doc {
  return {
    apiVersion: V3,
    kind: 'Profile',
    metadata: { name: NAMESPACE_PROFILE_PREFIX + ns.metadata.name },
    spec: {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
      labelsToApply: prefixed(NAMESPACE_LABEL_PREFIX, ns.metadata.labels, ns.metadata.name),
    },
  };
}

export function serviceAccountProfile(sa: KubeObject): Doc {
  const ns = sa.metadata.namespace || 'default';
  return {
    apiVersion: V3,
    kind: 'Profile',
    metadata: { name: `${SA_PROFILE_PREFIX}${ns}.${sa.metadata.name}` },
    spec: { labelsToApply: prefixed(SA_LABEL_PREFIX, sa.metadata.labels, sa.metadata.name) },
  };
}

/** The labels and profiles a pod's WorkloadEndpoint carries. */
export function podEndpointFields(pod: KubeObject): { labels: Record<string, string>; profiles: string[] } {
  const ns = pod.metadata.namespace ?? 'default';
  const sa = (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName;
  const labels: Record<string, string> = {
    ...(pod.metadata.labels ?? {}),
    [LABEL_NAMESPACE]: ns,
    [LABEL_ORCHESTRATOR]: 'k8s',
  };
  if (sa) labels[LABEL_SERVICE_ACCOUNT] = sa;
  return { labels, profiles: [NAMESPACE_PROFILE_PREFIX + ns, ...(sa ? [`${SA_PROFILE_PREFIX}${ns}.${sa}`] : [])] };
}

/** Node spec fields owned by the controller (the rest, e.g. routeReflectorClusterID, is kept). */
export function nodeFields(node: KubeObject): {
  bgp?: Record<string, unknown>;
  addresses: { address: string; type: string }[];
} {
  const ann = node.metadata.annotations ?? {};
  const status = node.status as { addresses?: { type: string; address: string }[] } | undefined;
  const addresses = (status?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
    .map((a) => ({ address: a.address, type: a.type }));
  const internal = addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const bgp: Record<string, unknown> = {};
  const v4 = ann[ANNOTATION_IPV4] ?? internal.find((a) => !a.includes(':'));
  const v6 = ann[ANNOTATION_IPV6] ?? internal.find((a) => a.includes(':'));
  if (v4) bgp.ipv4Address = v4;
  if (v6) bgp.ipv6Address = v6;
  if (ann[ANNOTATION_ASN] !== undefined) {
    const asn = Number(ann[ANNOTATION_ASN]);
    // Calico also accepts 4-byte ASNs in dotted ("asdot", RFC 5396) form.
    const dotted = /^(\d+)\.(\d+)$/.exec(ann[ANNOTATION_ASN]);
    bgp.asNumber = dotted ? Number(dotted[1]) * 65536 + Number(dotted[2]) : asn;
  }
  return { ...(Object.keys(bgp).length ? { bgp } : {}), addresses };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * A Kubernetes label selector as a Calico selector. Pod selectors also require
 * `projectcalico.org/orchestrator == 'k8s'` (a Kubernetes policy selects only pods); a present but
 * empty namespace selector means every namespace, `all()`; an absent one is '' (this namespace).
 */
export function selectorToCalico(s: LabelSelector | undefined, type: 'pod' | 'namespace'): string {
  const terms: string[] = type === 'pod' ? [`${LABEL_ORCHESTRATOR} == 'k8s'`] : [];
  if (!s) return terms.join(' && ');
  const ml = s.matchLabels ?? {};
  const me = s.matchExpressions ?? [];
  if (type === 'namespace' && Object.keys(ml).length === 0 && me.length === 0) return 'all()';
  for (const k of Object.keys(ml).sort()) terms.push(`${k} == '${ml[k]}'`);
  for (const e of me) {
    const values = (e.values ?? []).map((v) => `'${v}'`).join(', ');
    if (e.operator === 'In') terms.push(`${e.key} in { ${values} }`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} not in { ${values} }`);
    else if (e.operator === 'Exists') terms.push(`has(${e.key})`);
    else if (e.operator === 'DoesNotExist') terms.push(`! has(${e.key})`);
    else throw new Error(`matchExpressions operator '${e.operator}' is not In, NotIn, Exists or DoesNotExist`);
  }
  return terms.join(' && ');
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Port {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

/** Consecutive numeric ports merged into ranges ("80:82"); named ports pass through. */
function simplifyPorts(ports: (number | string)[]): (number | string)[] {
  if (ports.length <= 1) return ports;
  const named = ports.filter((p) => typeof p === 'string' && !/^\d+(:\d+)?$/.test(p));
  const nums = new Set<number>();
  for (const p of ports) {
    if (named.includes(p)) continue;
    const [lo, hi] = String(p).split(':').map(Number) as [number, number | undefined];
    for (let i = lo; i <= (hi ?? lo); i++) nums.add(i);
  }
  const sorted = [...nums].sort((a, b) => a - b);
  const out: (number | string)[] = [...named];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? sorted[i]! : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return out;
}

function portValue(p: Port): number | string {
  const base = typeof p.port === 'string' && /^\d+$/.test(p.port) ? Number(p.port) : p.port!;
  return p.endPort !== undefined ? `${base}:${p.endPort}` : base;
}

/** One Kubernetes rule → Calico rules: one per protocol (all its ports) per peer. */
function ruleToCalico(
  peers: Peer[] | undefined,
  ports: Port[] | undefined,
  ingress: boolean,
): Record<string, unknown>[] {
  // protocol '' = any protocol, any port; a protocol with no port list = every port of it.
  let byProtocol = new Map<string, (number | string)[] | undefined>();
  for (const p of ports?.length ? ports : [undefined]) {
    if (!p || (p.port === undefined && p.protocol === undefined)) {
      byProtocol = new Map([['', undefined]]);
      break;
    }
    const proto = p.protocol ?? 'TCP';
    if (p.port === undefined) byProtocol.set(proto, undefined);
    else if (!byProtocol.has(proto) || byProtocol.get(proto) !== undefined)
      byProtocol.set(proto, [...(byProtocol.get(proto) ?? []), portValue(p)]);
  }
  const rules: Record<string, unknown>[] = [];
  for (const proto of [...byProtocol.keys()].sort()) {
    const list = byProtocol.get(proto);
    const calicoPorts = list ? simplifyPorts(list) : undefined;
    for (const peer of peers?.length ? peers : [undefined]) {
      const entity: Record<string, unknown> = {};
      if (peer?.ipBlock) {
        entity.nets = [peer.ipBlock.cidr];
        if (peer.ipBlock.except?.length) entity.notNets = peer.ipBlock.except;
      } else if (peer) {
        entity.selector = selectorToCalico(peer.podSelector, 'pod');
        const ns = selectorToCalico(peer.namespaceSelector, 'namespace');
        if (ns) entity.namespaceSelector = ns;
      }
      const rule: Record<string, unknown> = { action: 'Allow' };
      if (proto) rule.protocol = proto;
      const portsPart = calicoPorts ? { ports: calicoPorts } : {};
      if (ingress) {
        if (Object.keys(entity).length) rule.source = entity;
        if (calicoPorts) rule.destination = portsPart;
      } else if (Object.keys(entity).length || calicoPorts) {
        rule.destination = { ...entity, ...portsPart };
      }
      rules.push(rule);
    }
  }
  return rules;
}

export function networkPolicy(np: KubeObject): Doc {
  const spec = (np.spec ?? {}) as {
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: Peer[]; ports?: Port[] }[];
    egress?: { to?: Peer[]; ports?: Port[] }[];
  };
  const ingress = (spec.ingress ?? []).flatMap((r) => ruleToCalico(r.from, r.ports, true));
  const egress = (spec.egress ?? []).flatMap((r) => ruleToCalico(r.to, r.ports, false));
  // Without policyTypes (clusters older than the field) a policy is ingress-only: Calico's rule.
  const types = ['Ingress', 'Egress'].filter((t) => spec.policyTypes?.includes(t));
  if (types.length === 0) types.push('Ingress');
  return {
    apiVersion: V3,
    kind: 'NetworkPolicy',
    metadata: { name: KNP_PREFIX + np.metadata.name, namespace: np.metadata.namespace ?? 'default' },
    spec: {
      order: KNP_ORDER,
      selector: selectorToCalico(spec.podSelector ?? {}, 'pod'),
      ...(ingress.length ? { ingress } : {}),
      ...(egress.length ? { egress } : {}),
      types,
    },
  };
}
