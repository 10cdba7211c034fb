// Node, HostEndpoint and WorkloadEndpoint.

import { cidrContains, parseCidr, parseIp } from './net.js';
import {
  cidr,
  interfaceAddress,
  interfaceName,
  ipAddress,
  macAddress,
  portName,
  protocol,
  protocolHasPorts,
  nameField,
  asNumber,
} from './fields.js';
import { fail, integer, list, object, oneOf, optional, required, string, text, type Check } from './schema.js';
import type { KindSpec } from './kind-spec.js';

const nodeBgp = object({
  asNumber: optional(asNumber),
  ipv4Address: optional(interfaceAddress(4)),
  ipv6Address: optional(interfaceAddress(6)),
  ipv4IPIPTunnelAddr: optional(ipAddress(4)),
  routeReflectorClusterID: optional(ipAddress(4)),
});

const nodeSpec = object({
  bgp: optional(nodeBgp),
  ipv4VXLANTunnelAddr: optional(ipAddress(4)),
  ipv6VXLANTunnelAddr: optional(ipAddress(6)),
  vxlanTunnelMACAddr: optional(macAddress),
  vxlanTunnelMACAddrV6: optional(macAddress),
  orchRefs: optional(
    list(
      object({
        nodeName: optional(string({ maxLength: 253 })),
        orchestrator: required(string({ nonEmpty: true, maxLength: 64 })),
      }),
    ),
  ),
  addresses: optional(
    list(
      object({
        address: required(interfaceAddress()),
        type: optional(oneOf(['InternalIP', 'ExternalIP', 'CalicoNodeIP'] as const)),
      }),
    ),
  ),
  wireguard: optional(
    object({ interfaceIPv4Address: optional(ipAddress(4)), interfaceIPv6Address: optional(ipAddress(6)) }),
  ),
  interfaces: optional(list(object({ name: optional(interfaceName), addresses: optional(list(ipAddress())) }))),
});

const wireguardKey: Check<string> = text((s) =>
  /^[A-Za-z0-9+/]{43}=$/.test(s) ? undefined : `'${s}' is not a WireGuard public key (44 characters of base64)`,
);

export const NODE: KindSpec = {
  spec: (value, path) => {
    const spec = nodeSpec(value, path);
    if (spec.bgp !== undefined && Object.keys(spec.bgp as object).length === 0) {
      fail(`${path}.bgp`, 'must not be empty: set ipv4Address or ipv6Address (or remove bgp)');
    }
    return spec;
  },
  status: object({
    wireguardPublicKey: optional(wireguardKey),
    wireguardPublicKeyV6: optional(wireguardKey),
    podCIDRs: optional(list(cidr())),
  }),
};

const endpointPort = object({
  name: required(portName),
  protocol: required(protocol),
  port: required(integer(1, 65535, 'a port')),
});

function checkPortProtocols(ports: unknown, path: string): void {
  (ports as { protocol: string | number }[] | undefined)?.forEach((p, i) => {
    if (!protocolHasPorts(p.protocol))
      fail(`${path}[${i}].protocol`, `${p.protocol} has no ports (use TCP, UDP or SCTP)`);
  });
}

const hostEndpointSpec = object({
  node: required(nameField, 'is required: the node the endpoint belongs to'),
  interfaceName: optional((v, p) => (v === '*' ? '*' : interfaceName(v, p))),
  expectedIPs: optional(list(ipAddress(), { unique: true })),
  profiles: optional(list(nameField, { unique: true })),
  ports: optional(list(endpointPort)),
});

export const HOSTENDPOINT: KindSpec = {
  spec: (value, path) => {
    const spec = hostEndpointSpec(value, path);
    if (!spec.interfaceName && !(spec.expectedIPs as string[] | undefined)?.length) {
      fail(`${path}.interfaceName`, 'at least one of interfaceName or expectedIPs must be set');
    }
    checkPortProtocols(spec.ports, `${path}.ports`);
    return spec;
  },
};

const containerId: Check<string> = text(
  (s) =>
    /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(s)
      ? undefined
      : `'${s}' is not a container ID (letters, digits and '-')`,
  { maxLength: 253 },
);

const singleAddress: Check<string> = (value, path) => {
  const c = cidr({ allowBareIp: true })(value, path);
  const parsed = parseCidr(c);
  if (parsed.prefixLength !== (parsed.family === 4 ? 32 : 128)) {
    fail(path, `${c} contains more than one address: workload networks must be /32 (IPv4) or /128 (IPv6)`);
  }
  return c;
};

const workloadEndpointSpec = object({
  orchestrator: optional(nameField),
  workload: optional(nameField),
  node: required(nameField, 'is required: the node the workload runs on'),
  containerID: optional(containerId),
  pod: optional(nameField),
  endpoint: optional(nameField),
  serviceAccountName: optional(nameField),
  ipNetworks: optional(list(singleAddress, { unique: true })),
  ipv4Gateway: optional(ipAddress(4)),
  ipv6Gateway: optional(ipAddress(6)),
  ipNATs: optional(list(object({ internalIP: required(ipAddress()), externalIP: required(ipAddress()) }))),
  profiles: optional(list(nameField, { unique: true })),
  interfaceName: required(interfaceName, "is required: the workload's host-side interface (e.g. cali0123456789a)"),
  mac: optional(macAddress),
  ports: optional(
    list(
      object({
        name: optional(portName),
        protocol: required(protocol),
        port: required(integer(1, 65535, 'a port')),
        hostPort: optional(integer(0, 65535, 'a port')),
        hostIP: optional(ipAddress()),
      }),
    ),
  ),
  allowSpoofedSourcePrefixes: optional(list(cidr({ allowBareIp: true }))),
  qosControls: optional(
    object(
      Object.fromEntries(
        [
          'ingressBandwidth',
          'ingressBurst',
          'ingressPeakrate',
          'ingressMinburst',
          'egressBandwidth',
          'egressBurst',
          'egressPeakrate',
          'egressMinburst',
          'ingressPacketRate',
          'ingressPacketBurst',
          'egressPacketRate',
          'egressPacketBurst',
          'ingressMaxConnections',
          'egressMaxConnections',
        ].map((k) => [k, optional(integer(0, Number.MAX_SAFE_INTEGER))]),
      ),
    ),
  ),
});

export const WORKLOADENDPOINT: KindSpec = {
  spec: (value, path) => {
    const spec = workloadEndpointSpec(value, path);
    const networks = (spec.ipNetworks as string[] | undefined) ?? [];
    (spec.ipNATs as { internalIP: string; externalIP: string }[] | undefined)?.forEach((nat, i) => {
      const internal = parseIp(nat.internalIP);
      if (internal.family !== parseIp(nat.externalIP).family) {
        fail(
          `${path}.ipNATs[${i}].externalIP`,
          `${nat.externalIP} is not the same IP version as internalIP ${nat.internalIP}`,
        );
      }
      if (!networks.some((n) => cidrContains(n, internal))) {
        fail(`${path}.ipNATs[${i}].internalIP`, `${nat.internalIP} is not one of the endpoint's ipNetworks`);
      }
    });
    (spec.ports as { name?: string; protocol: string | number; hostPort?: number }[] | undefined)?.forEach((p, i) => {
      if (!protocolHasPorts(p.protocol))
        fail(`${path}.ports[${i}].protocol`, `${p.protocol} has no ports (use TCP, UDP or SCTP)`);
      if (!p.name && !p.hostPort) fail(`${path}.ports[${i}].name`, 'is required when no hostPort is set');
    });
    return spec;
  },
};
