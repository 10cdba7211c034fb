// NetworkPolicy, GlobalNetworkPolicy and Profile, and the rules they share.

import { checkLabelKey, checkLabelValue } from './names.js';
import { parseCidr } from './net.js';
import {
  cidr,
  isIcmp,
  isNamedPort,
  labelName,
  protocol,
  protocolHasPorts,
  nameField,
  rulePort,
  selector,
} from './fields.js';
import {
  boolean,
  fail,
  finiteNumber,
  integer,
  list,
  object,
  oneOf,
  optional,
  required,
  string,
  stringMap,
  withDefault,
  type Check,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

const ENTITY_SELECTOR_GLOBAL = 'global() can only be used in an EntityRule namespaceSelector';

const entityRule = object({
  nets: optional(list(cidr({ allowBareIp: true }), { maxItems: 256 })),
  notNets: optional(list(cidr({ allowBareIp: true }), { maxItems: 256 })),
  selector: optional(selector({ noGlobal: ENTITY_SELECTOR_GLOBAL })),
  notSelector: optional(selector({ noGlobal: ENTITY_SELECTOR_GLOBAL })),
  namespaceSelector: optional(selector({ globalAlone: true })),
  ports: optional(list(rulePort, { maxItems: 50 })),
  notPorts: optional(list(rulePort, { maxItems: 50 })),
  serviceAccounts: optional(
    object({
      names: optional(list(string({ nonEmpty: true, maxLength: 253 }))),
      selector: optional(selector({ noGlobal: ENTITY_SELECTOR_GLOBAL })),
    }),
  ),
  services: optional(
    object({ name: required(nameField, 'is required: services must name a service'), namespace: optional(nameField) }),
  ),
});

const icmpFields = object({
  type: optional(integer(0, 254, 'an ICMP type')),
  code: optional(integer(0, 255, 'an ICMP code')),
});

const httpPath: Check<Record<string, unknown>> = (value, path) => {
  const p = object({ exact: optional(string({ maxLength: 1024 })), prefix: optional(string({ maxLength: 1024 })) })(
    value,
    path,
  );
  if (p.exact !== undefined && p.prefix !== undefined) fail(path, "set either 'exact' or 'prefix', not both");
  const v = (p.exact ?? p.prefix) as string | undefined;
  if (!v) return fail(path, "one of 'exact' or 'prefix' must be set");
  if (!v.startsWith('/') || /[?# ]/.test(v))
    fail(path, `'${v}' must start with '/' and not contain '?', '#' or spaces`);
  return p;
};

const ruleObject = object({
  action: required(oneOf(['Allow', 'Deny', 'Log', 'Pass'] as const)),
  ipVersion: optional((v, p) => (v === 4 || v === 6 ? v : fail(p, `expected 4 or 6, got ${JSON.stringify(v)}`))),
  protocol: optional(protocol),
  notProtocol: optional(protocol),
  icmp: optional(icmpFields),
  notICMP: optional(icmpFields),
  source: optional(entityRule),
  destination: optional(entityRule),
  http: optional(
    object({
      methods: optional(list(string({ nonEmpty: true, maxLength: 64 }), { maxItems: 20, unique: true })),
      paths: optional(list(httpPath, { maxItems: 20 })),
    }),
  ),
  metadata: optional(object({ annotations: optional(stringMap((k) => checkLabelKey(k.toLowerCase()))) })),
});

type Entity = {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: (number | string)[];
  notPorts?: (number | string)[];
  serviceAccounts?: unknown;
  services?: { name: string; namespace?: string };
};

type RuleShape = {
  action: string;
  ipVersion?: 4 | 6;
  protocol?: string | number;
  icmp?: { type?: number; code?: number };
  notICMP?: { type?: number; code?: number };
  notProtocol?: string | number;
  source?: Entity;
  destination?: Entity;
  http?: unknown;
};

/** One policy rule, with Calico's cross-field rules. */
export const rule: Check<Record<string, unknown>> = (value, path) => {
  const r = ruleObject(value, path) as RuleShape & Record<string, unknown>;
  for (const side of ['source', 'destination'] as const) {
    const e = r[side];
    if (!e) continue;
    const ep = `${path}.${side}`;
    for (const f of ['ports', 'notPorts'] as const) {
      const ports = e[f];
      if (!ports?.length) continue;
      if (r.protocol === undefined) {
        const i = ports.findIndex((p) => !isNamedPort(p));
        if (i >= 0)
          fail(`${ep}.${f}[${i}]`, 'rules with a numeric port or port range must set protocol to TCP, UDP or SCTP');
      } else if (!protocolHasPorts(r.protocol)) {
        fail(`${ep}.${f}`, `protocol ${r.protocol} has no ports: ports need protocol TCP, UDP or SCTP`);
      }
    }
    if (e.services) {
      for (const f of ['namespaceSelector', 'selector', 'notSelector', 'serviceAccounts', 'nets', 'notNets'] as const) {
        if (e[f] !== undefined && !(Array.isArray(e[f]) && (e[f] as unknown[]).length === 0) && e[f] !== '') {
          fail(`${ep}.${f}`, `cannot be combined with ${side}.services`);
        }
      }
      if (side === 'destination' && (e.ports?.length || e.notPorts?.length)) {
        fail(
          `${ep}.${e.ports?.length ? 'ports' : 'notPorts'}`,
          'ports and notPorts cannot be combined with destination.services',
        );
      }
    }
  }
  // ICMP fields need an ICMP protocol, and ICMP / ICMPv6 fix the IP version.
  for (const [p, f, ic] of [
    [r.protocol, 'protocol', r.icmp],
    [r.notProtocol, 'notProtocol', r.notICMP],
  ] as const) {
    const fam = isIcmp(p);
    const icmpField = f === 'protocol' ? 'icmp' : 'notICMP';
    if (ic && !fam) fail(`${path}.${icmpField}`, `ICMP fields require ${f} ICMP or ICMPv6`);
    if (ic && ic.code !== undefined && ic.type === undefined)
      fail(`${path}.${icmpField}.code`, 'an ICMP code needs an ICMP type');
    if (fam && r.ipVersion !== undefined && r.ipVersion !== fam) {
      fail(`${path}.ipVersion`, `${f} ${p} requires ipVersion ${fam}`);
    }
  }
  if (r.http !== undefined) {
    if (r.action !== 'Allow') fail(`${path}.http`, 'HTTP match is only valid on Allow rules');
    if (r.protocol !== undefined && r.protocol !== 'TCP' && r.protocol !== 6)
      fail(`${path}.protocol`, 'rules with an HTTP match must have protocol TCP or none');
  }
  // Nets: one IP version per rule, matching ipVersion; a catch-all in notNets matches nothing.
  let seen: 4 | 6 | undefined;
  for (const side of ['source', 'destination'] as const) {
    for (const f of ['nets', 'notNets'] as const) {
      (r[side]?.[f] ?? []).forEach((n, i) => {
        const c = parseCidr(n);
        const fp = `${path}.${side}.${f}[${i}]`;
        if (r.ipVersion !== undefined && c.family !== r.ipVersion)
          fail(fp, `${n} is IPv${c.family} but the rule has ipVersion ${r.ipVersion}`);
        if (seen !== undefined && c.family !== seen)
          fail(fp, `${n} is IPv${c.family}: a rule cannot mix IPv4 and IPv6 CIDRs`);
        seen = c.family;
        if (f === 'notNets' && c.prefixLength === 0)
          fail(fp, `${n} in notNets matches everything, so the rule would match no traffic`);
      });
    }
  }
  return r;
};

const rules = list(rule, { maxItems: 1024 });

const POLICY_SELECTOR_GLOBAL = 'global() can only be used in an EntityRule namespaceSelector';

const policyTypes = list(oneOf(['Ingress', 'Egress'] as const), { nonEmpty: true, maxItems: 2 });

export const commonPolicyFields = {
  tier: withDefault(labelName, 'default'),
  order: optional(finiteNumber),
  selector: withDefault(selector({ noGlobal: POLICY_SELECTOR_GLOBAL }), 'all()'),
  types: optional(policyTypes),
  ingress: optional(rules),
  egress: optional(rules),
  serviceAccountSelector: optional(selector({ noGlobal: POLICY_SELECTOR_GLOBAL })),
  performanceHints: optional(list(oneOf(['AssumeNeededOnEveryNode'] as const), { unique: true })),
};

export type PolicyShape = { types?: string[]; ingress?: RuleShape[]; egress?: RuleShape[] };

export function checkPolicy(spec: PolicyShape & Record<string, unknown>, path: string, global: boolean): void {
  spec.types?.forEach((t, i) => {
    if (spec.types!.indexOf(t) !== i) fail(`${path}.types[${i}]`, `'${t}' is listed more than once`);
  });
  spec.egress?.forEach((r, i) => {
    if (r.source?.services) fail(`${path}.egress[${i}].source.services`, 'not allowed in an egress rule source');
    if (r.http !== undefined) fail(`${path}.egress[${i}].http`, 'HTTP match is not allowed in egress rules');
    if (global && r.destination?.services && !r.destination.services.namespace) {
      fail(`${path}.egress[${i}].destination.services.namespace`, 'is required in a GlobalNetworkPolicy');
    }
  });
  spec.ingress?.forEach((r, i) => {
    if (r.destination?.services)
      fail(`${path}.ingress[${i}].destination.services`, 'not allowed in an ingress rule destination');
    if (global && r.source?.services && !r.source.services.namespace) {
      fail(`${path}.ingress[${i}].source.services.namespace`, 'is required in a GlobalNetworkPolicy');
    }
  });
}

/** Calico's default for `types`: Ingress, plus Egress when there are egress rules (Egress alone without ingress rules). */
export function defaultTypes(spec: PolicyShape & Record<string, unknown>): void {
  if (spec.types !== undefined) return;
  const ingress = (spec.ingress?.length ?? 0) > 0;
  const egress = (spec.egress?.length ?? 0) > 0;
  spec.types = egress && !ingress ? ['Egress'] : egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const NP_NAME = new RegExp(`^((${LABEL})(\\.${LABEL})?|((knp|ossg)\\.default\\.${SUBDOMAIN}))$`);
const GNP_NAME = new RegExp(`^(${LABEL}\\.)?${LABEL}$`);

const npSpec = object(commonPolicyFields);

/**
 * Calico names the NetworkPolicies it converts from Kubernetes NetworkPolicies `knp.default.<name>`
 * and refuses to create one by hand (its client answers "operation Create is not supported"): such
 * a policy would collide with the converted one. The name pattern itself still admits the prefix,
 * so a name read back from Calico is described correctly.
 */
export const KNP_PREFIX = 'knp.default.';

export const NETWORKPOLICY: KindSpec = {
  nameRule: (name, converted) => networkPolicyNameRule(name, converted),
  spec: (value, path) => {
    const spec = npSpec(value, path) as PolicyShape & Record<string, unknown>;
    checkPolicy(spec, path, false);
    defaultTypes(spec);
    return spec;
  },
};

/** Calico's NetworkPolicy name rule (also StagedNetworkPolicy's), knp.default.* refused unless converted. */
export function networkPolicyNameRule(name: string, converted = false): string | undefined {
  return name.length > 253
    ? `is longer than 253 characters (${name.length})`
    : name.startsWith(KNP_PREFIX) && !converted
      ? `'${name}': names starting with '${KNP_PREFIX}' belong to policies converted from Kubernetes NetworkPolicy and cannot be created`
      : NP_NAME.test(name)
        ? undefined
        : `'${name}' is not a valid policy name: lower case letters, digits and '-', with at most one '.' (e.g. 'allow-dns' or 'default.allow-dns')`;
}

export const globalPolicyFields = {
  ...commonPolicyFields,
  namespaceSelector: optional(selector({ noGlobal: POLICY_SELECTOR_GLOBAL })),
  doNotTrack: withDefault(boolean, false),
  preDNAT: withDefault(boolean, false),
  applyOnForward: withDefault(boolean, false),
};

const gnpSpec = object(globalPolicyFields);

/** GlobalNetworkPolicy's rules beyond the common ones (doNotTrack, preDNAT, applyOnForward). */
export function checkGlobalPolicy(spec: PolicyShape & Record<string, unknown>, path: string): void {
  checkPolicy(spec, path, true);
  if (spec.doNotTrack && spec.preDNAT) fail(`${path}.preDNAT`, 'preDNAT and doNotTrack cannot both be true');
  if (spec.preDNAT) {
    if (spec.egress?.length) fail(`${path}.egress`, 'a preDNAT policy cannot have egress rules');
    if (spec.types?.includes('Egress')) fail(`${path}.types`, "a preDNAT policy cannot have the 'Egress' type");
  }
  if ((spec.preDNAT || spec.doNotTrack) && !spec.applyOnForward) {
    fail(`${path}.applyOnForward`, `must be true when ${spec.preDNAT ? 'preDNAT' : 'doNotTrack'} is true`);
  }
  defaultTypes(spec);
}

export const GLOBALNETWORKPOLICY: KindSpec = {
  nameRule: (name) => globalNetworkPolicyNameRule(name),
  spec: (value, path) => {
    const spec = gnpSpec(value, path) as PolicyShape & Record<string, unknown>;
    checkGlobalPolicy(spec, path);
    return spec;
  },
};

export function globalNetworkPolicyNameRule(name: string): string | undefined {
  return name.length > 253
    ? `is longer than 253 characters (${name.length})`
    : GNP_NAME.test(name)
      ? undefined
      : `'${name}' is not a valid policy name: lower case letters, digits and '-', with at most one '.' (e.g. 'deny-all' or 'default.deny-all')`;
}

export const labelMap = stringMap(checkLabelKey, checkLabelValue, { scalarsAsText: true });

export const PROFILE: KindSpec = {
  spec: object({
    ingress: optional(rules),
    egress: optional(rules),
    labelsToApply: optional(labelMap),
  }),
};
