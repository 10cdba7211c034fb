// KubeControllersConfiguration and CalicoNodeStatus: configuration and status objects of Calico
// components Meshless replaces. Stored, validated with Calico's rules and synced, so that a Calico
// export imports unchanged; nothing in Meshless acts on them.

import { checkLabelKey, checkLabelValue } from './names.js';
import { cidr, duration, ipAddress, nameField, selector } from './fields.js';
import { logSeverity } from './kinds-bgp.js';
import {
  describe,
  fail,
  integer,
  isPlainObject,
  list,
  object,
  oneOf,
  optional,
  required,
  stringMap,
  withDefault,
  type Check,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

const enabled = oneOf(['Enabled', 'Disabled'] as const);
const reconciler = object({ reconcilerPeriod: optional(duration) });

const template = object({
  generateName: optional(nameField),
  interfaceCIDRs: optional(list(cidr({ allowBareIp: true }))),
  interfacePattern: optional((v, p) => {
    if (typeof v !== 'string') return fail(p, `expected a regular expression, got ${describe(v)}`);
    try {
      new RegExp(v);
    } catch {
      fail(p, `'${v}' is not a valid regular expression`);
    }
    return v;
  }),
  labels: optional(stringMap(checkLabelKey, checkLabelValue)),
  annotations: optional(stringMap(() => undefined)),
  nodeSelector: optional(selector()),
});

const controllers = object({
  node: optional(
    object({
      reconcilerPeriod: optional(duration),
      syncLabels: optional(enabled),
      hostEndpoint: optional(
        object({
          autoCreate: optional(enabled),
          createDefaultHostEndpoint: optional(enabled),
          templates: optional(list(template)),
        }),
      ),
      leakGracePeriod: optional(duration),
    }),
  ),
  policy: optional(reconciler),
  workloadEndpoint: optional(reconciler),
  serviceAccount: optional(reconciler),
  namespace: optional(reconciler),
  loadBalancer: optional(object({ assignIPs: optional(oneOf(['AllServices', 'RequestedServicesOnly'] as const)) })),
  migration: optional(object({ policyNameMigrator: optional(enabled) })),
});

const port = (what: string) => integer(0, 65535, what);

const kubeControllersSpec = object({
  logSeverityScreen: optional(logSeverity),
  healthChecks: optional(enabled),
  etcdV3CompactionPeriod: optional(duration),
  prometheusMetricsPort: optional(port('a port')),
  controllers: withDefault(controllers, {}),
  debugProfilePort: optional(port('a port')),
});

export const KUBECONTROLLERSCONFIGURATION: KindSpec = {
  nameRule: (name) =>
    name === 'default' ? undefined : `a KubeControllersConfiguration must be named 'default', got '${name}'`,
  spec: kubeControllersSpec,
  // Written by calico-kube-controllers: what it runs with. Kept as given when valid.
  status: object({
    runningConfig: optional(kubeControllersSpec),
    environmentVars: optional(stringMap(() => undefined)),
  }),
};

const NODE_STATUS_CLASSES = ['Agent', 'BGP', 'Routes'] as const;

/** Free-form status written by calico-node; checked for shape only (a mapping, bounded). */
const nodeStatusStatus: Check<Record<string, unknown>> = (value, path) => {
  if (!isPlainObject(value)) return fail(path, `expected a mapping, got ${describe(value)}`);
  if (JSON.stringify(value).length > 1024 * 1024) fail(path, 'is larger than 1 MiB');
  const peers = (value.bgp as { peersV4?: unknown; peersV6?: unknown } | undefined) ?? {};
  for (const f of ['peersV4', 'peersV6'] as const) {
    const list = peers[f];
    if (Array.isArray(list)) {
      list.forEach((p, i) => {
        if (isPlainObject(p) && p.peerIP !== undefined && p.peerIP !== '')
          ipAddress()(p.peerIP, `${path}.bgp.${f}[${i}].peerIP`);
      });
    }
  }
  return value;
};

export const CALICONODESTATUS: KindSpec = {
  spec: object({
    node: required(nameField),
    classes: required(list(oneOf(NODE_STATUS_CLASSES), { nonEmpty: true, unique: true })),
    updatePeriodSeconds: required(integer(0, 86400, 'updatePeriodSeconds')),
  }),
  status: nodeStatusStatus,
};
