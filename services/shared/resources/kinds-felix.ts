// FelixConfiguration: Felix's settings, one resource named `default` (cluster-wide) or
// `node.<name>` (one node). Meshless stores, validates, lists and syncs it to the agents; the
// agent acts on none of it yet (see the README's table of kinds).
//
// FELIX_FIELDS is the schema of Calico's FelixConfigurationSpec as a table: each field's type and
// Calico's bounds, allowed values and pattern (from the API's validate tags and kubebuilder
// markers, Calico v3.31 API). A table rather than 188 hand-written checks: the fields change with
// every Calico release, and one row per field is what a reviewer can compare with Calico's docs.

import { cidr, duration, interfacePattern, ipAddress, rulePort } from './fields.js';
import { PROGRAM_CLUSTER_ROUTES } from './kinds-bgp.js';
import { checkDns1123Label } from './names.js';
import {
  boolean,
  describe,
  fail,
  finiteNumber,
  integer,
  isPlainObject,
  join,
  list,
  object,
  oneOf,
  optional,
  string,
  stringMap,
  type Check,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

type FieldType =
  | 'bool'
  | 'int'
  | 'number'
  | 'duration'
  | 'string'
  | 'enum'
  | 'port'
  | 'ports'
  | 'protoPorts'
  | 'strings'
  | 'map'
  | 'dscp'
  | 'object';

interface FelixField {
  t: FieldType;
  /** Allowed values of an enum. */
  v?: readonly string[];
  min?: number;
  max?: number;
  /** A named Calico validator applied on top of the type. */
  check?: string;
  /** Calico's kubebuilder pattern; a leading `(?i)` means case-insensitive. */
  pattern?: string;
}

/** Every field of Calico's FelixConfigurationSpec, in Calico's order. */
const FELIX_FIELDS: Record<string, FelixField> = {
  nodeSelector: { t: 'string' },
  useInternalDataplaneDriver: { t: 'bool' },
  dataplaneDriver: { t: 'string' },
  dataplaneWatchdogTimeout: { t: 'duration' },
  ipv6Support: { t: 'bool' },
  routeRefreshInterval: { t: 'duration' },
  interfaceRefreshInterval: { t: 'duration' },
  iptablesRefreshInterval: { t: 'duration' },
  iptablesPostWriteCheckInterval: { t: 'duration' },
  iptablesLockProbeInterval: { t: 'duration' },
  featureDetectOverride: {
    t: 'string',
    check: 'keyValueList',
    pattern: '^([a-zA-Z0-9-_]+=(true|false|),)*([a-zA-Z0-9-_]+=(true|false|))?$',
  },
  featureGates: {
    t: 'string',
    check: 'keyValueList',
    pattern: '^([a-zA-Z0-9-_]+=([^=]+),)*([a-zA-Z0-9-_]+=([^=]+))?$',
  },
  ipsetsRefreshInterval: { t: 'duration' },
  maxIpsetSize: { t: 'int' },
  iptablesBackend: { t: 'enum', v: ['Legacy', 'NFT', 'Auto'] },
  xdpRefreshInterval: { t: 'duration' },
  netlinkTimeout: { t: 'duration' },
  metadataAddr: { t: 'string' },
  metadataPort: { t: 'int' },
  openstackRegion: { t: 'string' },
  interfacePrefix: { t: 'string' },
  interfaceExclude: { t: 'string' },
  chainInsertMode: { t: 'string', pattern: '^(?i)(Insert|Append)?$' },
  defaultEndpointToHostAction: { t: 'string', pattern: '^(?i)(Drop|Accept|Return)?$' },
  iptablesFilterAllowAction: { t: 'string', pattern: '^(?i)(Accept|Return)?$' },
  iptablesMangleAllowAction: { t: 'string', pattern: '^(?i)(Accept|Return)?$' },
  iptablesFilterDenyAction: { t: 'string', pattern: '^(?i)(Drop|Reject)?$' },
  logPrefix: { t: 'string', pattern: '^([a-zA-Z0-9%: /_-])*$' },
  logActionRateLimit: { t: 'string', pattern: '^[1-9]\\d{0,3}/(?:second|minute|hour|day)$' },
  logActionRateLimitBurst: { t: 'int', min: 0, max: 9999 },
  logFilePath: { t: 'string' },
  logSeverityFile: { t: 'string', pattern: '^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$' },
  logSeverityScreen: { t: 'string', pattern: '^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$' },
  logSeveritySys: { t: 'string', pattern: '^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$' },
  logDebugFilenameRegex: { t: 'string', check: 'regexp' },
  ipipEnabled: { t: 'bool' },
  ipipMTU: { t: 'int' },
  vxlanEnabled: { t: 'bool' },
  vxlanMTU: { t: 'int' },
  vxlanMTUV6: { t: 'int' },
  vxlanPort: { t: 'int' },
  vxlanVNI: { t: 'int' },
  allowVXLANPacketsFromWorkloads: { t: 'bool' },
  allowIPIPPacketsFromWorkloads: { t: 'bool' },
  reportingInterval: { t: 'duration' },
  reportingTTL: { t: 'duration' },
  endpointReportingEnabled: { t: 'bool' },
  endpointReportingDelay: { t: 'duration' },
  endpointStatusPathPrefix: { t: 'string' },
  iptablesMarkMask: { t: 'int', min: 0, max: 4294967295 },
  disableConntrackInvalidCheck: { t: 'bool' },
  healthEnabled: { t: 'bool' },
  healthHost: { t: 'string' },
  healthPort: { t: 'int' },
  healthTimeoutOverrides: { t: 'object' },
  prometheusMetricsEnabled: { t: 'bool' },
  prometheusMetricsHost: { t: 'string', check: 'prometheusHost' },
  prometheusMetricsPort: { t: 'int' },
  prometheusGoMetricsEnabled: { t: 'bool' },
  prometheusProcessMetricsEnabled: { t: 'bool' },
  prometheusWireGuardMetricsEnabled: { t: 'bool' },
  prometheusMetricsCAFile: { t: 'string' },
  prometheusMetricsCertFile: { t: 'string' },
  prometheusMetricsKeyFile: { t: 'string' },
  prometheusMetricsClientAuth: {
    t: 'enum',
    v: ['RequireAndVerifyClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'NoClientCert'],
  },
  failsafeInboundHostPorts: { t: 'protoPorts' },
  failsafeOutboundHostPorts: { t: 'protoPorts' },
  kubeNodePortRanges: { t: 'ports' },
  policySyncPathPrefix: { t: 'string' },
  usageReportingEnabled: { t: 'bool' },
  usageReportingInitialDelay: { t: 'duration' },
  usageReportingInterval: { t: 'duration' },
  natPortRange: { t: 'port' },
  natOutgoingAddress: { t: 'string' },
  natOutgoingExclusions: { t: 'enum', v: ['IPPoolsOnly', 'IPPoolsAndHostIPs'] },
  deviceRouteSourceAddress: { t: 'string' },
  deviceRouteSourceAddressIPv6: { t: 'string' },
  deviceRouteProtocol: { t: 'int' },
  removeExternalRoutes: { t: 'bool' },
  programClusterRoutes: { t: 'enum', v: ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] },
  ipForwarding: { t: 'enum', v: ['Enabled', 'Disabled'] },
  externalNodesList: { t: 'strings' },
  debugMemoryProfilePath: { t: 'string' },
  debugDisableLogDropping: { t: 'bool' },
  debugSimulateCalcGraphHangAfter: { t: 'duration' },
  debugSimulateDataplaneHangAfter: { t: 'duration' },
  debugSimulateDataplaneApplyDelay: { t: 'duration' },
  debugHost: { t: 'string' },
  debugPort: { t: 'int', min: 0, max: 65535 },
  iptablesNATOutgoingInterfaceFilter: { t: 'string', check: 'ifaceFilter' },
  sidecarAccelerationEnabled: { t: 'bool' },
  xdpEnabled: { t: 'bool' },
  genericXDPEnabled: { t: 'bool' },
  nftablesMode: { t: 'enum', v: ['Disabled', 'Enabled', 'Auto'] },
  nftablesFlowTableOffload: { t: 'enum', v: ['All', 'Disabled'] },
  nftablesFlowTableDataIfacePattern: { t: 'string', check: 'regexp' },
  nftablesRefreshInterval: { t: 'duration' },
  nftablesFilterAllowAction: { t: 'string', pattern: '^(?i)(Accept|Return)?$' },
  nftablesMangleAllowAction: { t: 'string', pattern: '^(?i)(Accept|Return)?$' },
  nftablesFilterDenyAction: { t: 'string', pattern: '^(?i)(Drop|Reject)?$' },
  nftablesMarkMask: { t: 'int', min: 0, max: 4294967295 },
  bpfEnabled: { t: 'bool' },
  bpfOverlayHostSourceIP: { t: 'enum', v: ['TunnelAddress', 'HostAddress'] },
  bpfDisableUnprivileged: { t: 'bool' },
  bpfJITHardening: { t: 'enum', v: ['Auto', 'Strict'] },
  bpfLogLevel: { t: 'string', pattern: '^(?i)(Off|Info|Debug)?$' },
  bpfConntrackLogLevel: { t: 'enum', v: ['Off', 'Debug'] },
  bpfConntrackMode: { t: 'enum', v: ['Auto', 'Userspace', 'BPFProgram'] },
  bpfConntrackTimeouts: { t: 'object' },
  bpfIPFragTimeout: { t: 'duration' },
  bpfLogFilters: { t: 'map', check: 'bpfLogFilters' },
  bpfCTLBLogFilter: { t: 'string' },
  bpfDataIfacePattern: { t: 'string', check: 'regexp' },
  bpfL3IfacePattern: { t: 'string', check: 'regexp' },
  bpfConnectTimeLoadBalancingEnabled: { t: 'bool' },
  bpfConnectTimeLoadBalancing: { t: 'enum', v: ['TCP', 'Enabled', 'Disabled'] },
  bpfHostNetworkedNATWithoutCTLB: { t: 'enum', v: ['Enabled', 'Disabled'] },
  bpfExternalServiceMode: { t: 'string', pattern: '^(?i)(Tunnel|DSR)?$' },
  bpfDSROptoutCIDRs: { t: 'strings', check: 'cidrs' },
  bpfExtToServiceConnmark: { t: 'int', min: 0, max: 4294967295 },
  bpfKubeProxyIptablesCleanupEnabled: { t: 'bool' },
  bpfKubeProxyMinSyncPeriod: { t: 'duration' },
  bpfKubeProxyHealthzPort: { t: 'int', min: 0, max: 65535 },
  bpfPSNATPorts: { t: 'port' },
  bpfMapSizeNATFrontend: { t: 'int' },
  bpfMapSizeNATBackend: { t: 'int' },
  bpfMapSizeNATAffinity: { t: 'int' },
  bpfMapSizeRoute: { t: 'int' },
  bpfMapSizeConntrack: { t: 'int' },
  bpfMapSizePerCpuConntrack: { t: 'int' },
  bpfMapSizeConntrackScaling: { t: 'string', pattern: '^(?i)(Disabled|DoubleIfFull)?$' },
  bpfMapSizeConntrackCleanupQueue: { t: 'int', min: 1 },
  bpfMapSizeIPSets: { t: 'int' },
  bpfMapSizeIfState: { t: 'int' },
  bpfHostConntrackBypass: { t: 'bool' },
  bpfIPFragmentReassemblyEnabled: { t: 'bool' },
  bpfEnforceRPF: { t: 'string', pattern: '^(?i)(Disabled|Strict|Loose)?$' },
  bpfPolicyDebugEnabled: { t: 'bool' },
  bpfForceTrackPacketsFromIfaces: { t: 'strings', check: 'ifaceFilterSlice' },
  bpfDisableGROForIfaces: { t: 'string', check: 'regexp' },
  bpfExcludeCIDRsFromNAT: { t: 'strings', check: 'cidrs' },
  bpfExportBufferSizeMB: { t: 'int' },
  istioAmbientMode: { t: 'enum', v: ['Enabled', 'Disabled'] },
  istioDSCPMark: { t: 'dscp' },
  cgroupV2Path: { t: 'string' },
  flowLogsPolicyEvaluationMode: { t: 'enum', v: ['None', 'Continuous'] },
  bpfRedirectToPeer: { t: 'enum', v: ['Enabled', 'Disabled'] },
  bpfAttachType: { t: 'enum', v: ['TC', 'TCX', 'Netkit'] },
  flowLogsFlushInterval: { t: 'duration' },
  flowLogsCollectorDebugTrace: { t: 'bool' },
  flowLogsGoldmaneServer: { t: 'string' },
  flowLogsLocalReporter: { t: 'enum', v: ['Disabled', 'Enabled'] },
  bpfProfiling: { t: 'enum', v: ['Enabled', 'Disabled'] },
  routeSource: { t: 'string', pattern: '^(?i)(WorkloadIPs|CalicoIPAM)?$' },
  routeTableRanges: { t: 'object' },
  routeTableRange: { t: 'object' },
  routeSyncDisabled: { t: 'bool' },
  ipv4NormalRoutePriority: { t: 'int', min: 1, max: 2147483646 },
  ipv4ElevatedRoutePriority: { t: 'int', min: 1, max: 2147483646 },
  ipv6NormalRoutePriority: { t: 'int', min: 1, max: 2147483646 },
  ipv6ElevatedRoutePriority: { t: 'int', min: 1, max: 2147483646 },
  liveMigrationRouteConvergenceTime: { t: 'duration' },
  wireguardEnabled: { t: 'bool' },
  wireguardEnabledV6: { t: 'bool' },
  wireguardThreadingEnabled: { t: 'bool' },
  wireguardListeningPort: { t: 'int', min: 1, max: 65535 },
  wireguardListeningPortV6: { t: 'int', min: 1, max: 65535 },
  wireguardRoutingRulePriority: { t: 'int', min: 1, max: 32765 },
  wireguardInterfaceName: { t: 'string', check: 'interface' },
  wireguardInterfaceNameV6: { t: 'string', check: 'interface' },
  wireguardMTU: { t: 'int' },
  wireguardMTUV6: { t: 'int' },
  wireguardHostEncryptionEnabled: { t: 'bool' },
  wireguardKeepAlive: { t: 'duration' },
  awsSrcDstCheck: { t: 'enum', v: ['DoNothing', 'Enable', 'Disable'] },
  serviceLoopPrevention: { t: 'enum', v: ['Drop', 'Reject', 'Disabled'] },
  workloadSourceSpoofing: { t: 'enum', v: ['Disabled', 'Any'] },
  mtuIfacePattern: { t: 'string', check: 'regexp' },
  floatingIPs: { t: 'enum', v: ['Enabled', 'Disabled'] },
  localSubnetL2Reachability: { t: 'enum', v: ['Disabled', 'PodsAndLoadBalancers'] },
  localSubnetL2ReachabilityRefreshInterval: { t: 'duration' },
  windowsManageFirewallRules: { t: 'enum', v: ['Enabled', 'Disabled'] },
  goGCThreshold: { t: 'int', min: -1 },
  goMemoryLimitMB: { t: 'int', min: -1 },
  goMaxProcs: { t: 'int', min: -1 },
  requireMTUFile: { t: 'bool' },
  bpfMaglevMaxEndpointsPerService: { t: 'int', min: 1, max: 3000 },
  bpfMaglevMaxServices: { t: 'int', min: 1, max: 3000 },
};

const protoPort = object({
  protocol: optional(oneOf(['TCP', 'UDP', 'SCTP'] as const)),
  port: optional(integer(0, 65535, 'a port')),
  net: optional(cidr({ allowBareIp: true })),
});

const tableRange = () =>
  object({
    min: optional(integer(1, 4294967295, 'a routing table')),
    max: optional(integer(1, 4294967295, 'a routing table')),
  });

/** Anything JSON-shaped (for Felix's structured fields Meshless does not interpret), at most 8 levels deep. */
const anyValue: Check<unknown> = (value, path) => {
  const depth = (v: unknown, d: number): void => {
    if (d > 8) fail(path, 'is nested more than 8 levels deep');
    if (Array.isArray(v)) v.forEach((x) => depth(x, d + 1));
    else if (isPlainObject(v)) Object.values(v).forEach((x) => depth(x, d + 1));
  };
  depth(value, 0);
  return value;
};

const dscp: Check<number | string> = (value, path) => {
  if (typeof value === 'number') return integer(0, 63, 'a DSCP value')(value, path);
  const names = [
    'DF',
    'EF',
    'AF11',
    'AF12',
    'AF13',
    'AF21',
    'AF22',
    'AF23',
    'AF31',
    'AF32',
    'AF33',
    'AF41',
    'AF42',
    'AF43',
    'CS0',
    'CS1',
    'CS2',
    'CS3',
    'CS4',
    'CS5',
    'CS6',
  ];
  if (typeof value === 'string' && names.includes(value)) return value;
  return fail(path, `expected a DSCP value 0-63 or one of ${names.join(', ')}, got ${describe(value)}`);
};

function fieldCheck(name: string, f: FelixField): Check<unknown> {
  let base: Check<unknown>;
  switch (f.t) {
    case 'bool':
      base = boolean;
      break;
    case 'int': {
      const range = integer(f.min ?? Number.MIN_SAFE_INTEGER, f.max ?? Number.MAX_SAFE_INTEGER, name);
      // Calico's bounds are `omitempty,gt=0,...`: Go's validator skips a zero value, so 0 means unset.
      base = (v, p) => (v === 0 ? 0 : range(v, p));
      break;
    }
    case 'number':
      base = finiteNumber;
      break;
    case 'duration':
      base = duration;
      break;
    case 'enum':
      base = oneOf(f.v!);
      break;
    case 'port':
      base = rulePort;
      break;
    case 'ports':
      base = list(rulePort, { maxItems: 64 });
      break;
    case 'protoPorts':
      base = list(protoPort, { maxItems: 1024 });
      break;
    case 'strings':
      base = list(string({ maxLength: 1024 }), { maxItems: 1024 });
      break;
    case 'map':
      base = stringMap(() => undefined);
      break;
    case 'dscp':
      base = dscp;
      break;
    case 'object':
      base =
        name === 'routeTableRange'
          ? tableRange()
          : name === 'routeTableRanges'
            ? list(tableRange(), { maxItems: 64 })
            : anyValue;
      break;
    default:
      base = string({ maxLength: 4096 });
  }
  const pattern = f.pattern ? patternOf(f.pattern) : undefined;
  const extra = f.check ? NAMED_CHECKS[f.check] : undefined;
  if (!pattern && !extra) return base;
  return (value, path) => {
    const v = base(value, path);
    if (pattern && typeof v === 'string' && !pattern.test(v)) fail(path, `'${v}' does not match ${f.pattern}`);
    return extra && v !== '' ? extra(v, path) : v;
  };
}

function patternOf(p: string): RegExp {
  return p.startsWith('^(?i)') ? new RegExp(`^${p.slice(5)}`, 'i') : new RegExp(p);
}

/** Calico's named validators used by FelixConfiguration fields. */
const NAMED_CHECKS: Record<string, Check<unknown>> = {
  regexp: (v, p) => {
    try {
      new RegExp(v as string);
    } catch {
      fail(p, `'${String(v)}' is not a valid regular expression`);
    }
    return v;
  },
  ip: (v, p) => ipAddress()(v, p),
  ipv4: (v, p) => ipAddress(4)(v, p),
  ipv6: (v, p) => ipAddress(6)(v, p),
  cidrs: (v, p) => (Array.isArray(v) ? v.map((c, i) => cidr({ allowBareIp: true })(c, `${p}[${i}]`)) : v),
  interface: (v, p) => interfacePattern(v, p),
  prometheusHost: (v, p) =>
    typeof v === 'string' && /^[a-zA-Z0-9.:_\-\[\]]*$/.test(v)
      ? v
      : fail(p, `'${String(v)}' is not a host name or address`),
};

const CHECKS = new Map(Object.entries(FELIX_FIELDS).map(([name, f]) => [name, fieldCheck(name, f)]));
const felixObject = object(Object.fromEntries(CHECKS));

export const FELIXCONFIGURATION: KindSpec = {
  nameRule: (name) =>
    name === 'default' ||
    (name.startsWith('node.') && checkDns1123Label(name.slice(5).replaceAll('.', '-')) === undefined)
      ? undefined
      : `a FelixConfiguration is named 'default' (cluster-wide) or 'node.<node name>' (one node), got '${name}'`,
  spec: (value, path) => {
    const s = felixObject(value, path);
    // Calico's validateFelixConfigSpec rules beyond single fields.
    const ranges = s.kubeNodePortRanges as (number | string)[] | undefined;
    if (ranges && ranges.length > 7)
      fail(join(path, 'kubeNodePortRanges'), 'node port ranges list is too long (max 7)');
    ranges?.forEach((r, i) => {
      if (typeof r === 'string' && !/^[0-9]+:[0-9]+$/.test(r))
        fail(`${path}.kubeNodePortRanges[${i}]`, 'node port ranges should not contain named ports');
    });
    (s.externalNodesList as string[] | undefined)?.forEach((c, i) =>
      cidr({ family: 4, allowBareIp: true })(c, `${path}.externalNodesList[${i}]`),
    );
    const region = s.openstackRegion as string | undefined;
    if (region && (region.length > 63 - 'openstack-region-'.length || checkDns1123Label(region))) {
      fail(
        `${path}.openstackRegion`,
        `'${region}' must be a DNS label of at most ${63 - 'openstack-region-'.length} characters`,
      );
    }
    for (const f of ['natOutgoingAddress', 'deviceRouteSourceAddress', 'deviceRouteSourceAddressIPv6'] as const) {
      if (typeof s[f] === 'string' && s[f] !== '')
        s[f] = ipAddress(f.endsWith('IPv6') ? 6 : f === 'natOutgoingAddress' ? undefined : 4)(s[f], `${path}.${f}`);
    }
    if (
      s.programClusterRoutes !== undefined &&
      !(PROGRAM_CLUSTER_ROUTES as readonly unknown[]).includes(s.programClusterRoutes)
    ) {
      fail(`${path}.programClusterRoutes`, `is not one of ${PROGRAM_CLUSTER_ROUTES.join(', ')}`);
    }
    return s;
  },
};
