// The network configuration (stdin) and the runtime's environment, checked once, into one typed
// value. Every problem is a CniError naming the field or variable.
//
// Keys (the plugin's own; `cniVersion`, `name`, `type`, `prevResult`, `runtimeConfig` are the
// spec's):
//   datastore        "HOST:PORT[,HOST:PORT]": the datastore API, tried in order
//   nodename         this node's Node name; default: the content of `nodename_file`
//                    (/var/lib/meshless/nodename, written by the agent) when it exists, else the
//                    host name
//   mtu              of both veth ends (default 1500)
//   route_protocol   the `proto` of the host route to the container (default 80, the agent's
//                    --route-protocol default): the agent owns routes of its protocol only, so a
//                    route of another one would be a conflict it leaves alone forever
//   timeout_seconds  how long the datastore may take in all (default 10: well inside kubelet's
//                    and containerd's CNI timeouts)
//   log_file, log_level   JSON lines to a file (default: none), level debug|info|warn|error
//   tls              {ca, cert, key}: file paths of the node's credentials (a `node` certificate
//                    for this node, from the CA the datastore trusts): mutual TLS to the datastore;
//                    absent: plain text (an --insecure datastore). All three or none; the files
//                    are read and checked before the first call (code 7 naming the file), and
//                    the certificate must name this node (`nodename`).
//   ipam             {type: "meshless-ipam", ipv4_pools, ipv6_pools, assign_ipv4, assign_ipv6}
//                    (Calico's calico-ipam keys; booleans may be "true"/"false" strings)
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { checkCredentials, TlsConfigError, type CredentialPaths } from '../../shared/tls/index.js';
import { badConfig, CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const DEFAULT_NODENAME_FILE = '/var/lib/meshless/nodename';
export const DEFAULT_NETWORK_NAME = 'k8s-pod-network';
/** The agent's default route protocol (services/agent/src/dataplane, `--route-protocol`). */
export const DEFAULT_ROUTE_PROTOCOL = 80;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface IpamConfig {
  type: string;
  ipv4Pools: string[];
  ipv6Pools: string[];
  assignIpv4: boolean;
  assignIpv6: boolean;
}

export interface NetConfig {
  cniVersion: string;
  name: string;
  type: string;
  datastore: string[];
  nodename: string;
  mtu: number;
  routeProtocol: number;
  timeoutMs: number;
  logFile: string;
  logLevel: LogLevel;
  ipam: IpamConfig;
  /** Mutual TLS to the datastore with these files; undefined: plain text. */
  tls: CredentialPaths | undefined;
  /** The previous plugin's result in a chain (CHECK, DEL and chained ADD), as given. */
  prevResult: unknown;
  /** The configuration as received, for delegation to the IPAM plugin. */
  raw: Record<string, unknown>;
}

export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as a map (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  args: Record<string, string>;
  path: string[];
}

/** Parses stdin; a config without a known cniVersion is refused with code 1. */
export function parseNetConfig(text: string, env: NodeJS.ProcessEnv = process.env): NetConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(
      CniCode.DecodeFailure,
      `network configuration on stdin is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CniError(CniCode.DecodeFailure, 'network configuration on stdin must be a JSON object');
  const c = raw as Record<string, unknown>;
  const cniVersion = str(c, 'cniVersion', '1.0.0');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `network configuration: cniVersion: ${cniVersion} is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
    );
  }
  const ipamRaw = c.ipam ?? {};
  if (typeof ipamRaw !== 'object' || ipamRaw === null || Array.isArray(ipamRaw))
    throw badConfig('ipam', 'must be an object');
  const ipam = ipamRaw as Record<string, unknown>;
  const datastore = str(c, 'datastore', env.MESHLESS_DATASTORE ?? '127.0.0.1:5470')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  datastore.forEach((d) => {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(d))
      throw badConfig('datastore', `'${d}' is not HOST:PORT`);
  });
  if (datastore.length === 0) throw badConfig('datastore', 'is empty: give HOST:PORT[,HOST:PORT]');
  const mtu = num(c, 'mtu', 1500);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw badConfig('mtu', `${mtu} is not an MTU (68-65535)`);
  const routeProtocol = num(c, 'route_protocol', DEFAULT_ROUTE_PROTOCOL);
  if (!Number.isInteger(routeProtocol) || routeProtocol < 5 || routeProtocol > 255)
    throw badConfig('route_protocol', `${routeProtocol} must be 5-255 (0-4 are the kernel's)`);
  const timeout = num(c, 'timeout_seconds', 10);
  if (!(timeout > 0 && timeout <= 600))
    throw badConfig('timeout_seconds', `${timeout} must be above 0 and at most 600`);
  const logLevel = str(c, 'log_level', 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'warning', 'error'].includes(logLevel))
    throw badConfig('log_level', `'${logLevel}' is not debug, info, warn or error`);
  const name = str(c, 'name', DEFAULT_NETWORK_NAME);
  const nodename = nodeName(c);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    throw badConfig('name', `'${name}' is not a network name (letters, digits, '_', '.', '-')`);
  return {
    cniVersion,
    name,
    type: str(c, 'type', 'meshless-cni'),
    datastore,
    nodename,
    mtu,
    routeProtocol,
    timeoutMs: timeout * 1000,
    logFile: str(c, 'log_file', ''),
    logLevel: (logLevel === 'warning' ? 'warn' : logLevel) as LogLevel,
    ipam: {
      type: str(ipam, 'type', 'meshless-ipam', 'ipam.'),
      ipv4Pools: list(ipam, 'ipv4_pools'),
      ipv6Pools: list(ipam, 'ipv6_pools'),
      assignIpv4: bool(ipam, 'assign_ipv4', true),
      assignIpv6: bool(ipam, 'assign_ipv6', false),
    },
    tls: tlsConfig(c.tls, nodename),
    prevResult: c.prevResult,
    raw: c,
  };
}

/**
 * `tls: {ca, cert, key}`: three file paths, checked now so a wrong one is a clear config error,
 * including a certificate for another node than `nodename` (the datastore would refuse every
 * write for this node's endpoints and addresses).
 */
function tlsConfig(v: unknown, nodename: string): CredentialPaths | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw badConfig('tls', 'must be an object {ca, cert, key} of file paths');
  const t = v as Record<string, unknown>;
  const unknown = Object.keys(t).filter((k) => !['ca', 'cert', 'key'].includes(k));
  if (unknown.length > 0) throw badConfig(`tls.${unknown[0]}`, 'is not a known key (ca, cert, key)');
  const path = (k: 'ca' | 'cert' | 'key'): string => {
    const p = t[k];
    if (typeof p !== 'string' || p === '') throw badConfig(`tls.${k}`, `must be a file path, got ${JSON.stringify(p)}`);
    return p;
  };
  const paths = { ca: path('ca'), cert: path('cert'), key: path('key') };
  try {
    const files = checkCredentials(paths);
    if (files.identity.role !== 'node')
      throw new TlsConfigError(
        `${paths.cert}: is a '${files.identity.role}' certificate; the CNI plugin needs a 'node' one (meshless certs issue --role node --node NODE)`,
      );
    if (files.identity.name !== nodename)
      throw new TlsConfigError(
        `${paths.cert}: is node '${files.identity.name}''s certificate, but this node is '${nodename}' (nodename)`,
      );
  } catch (err) {
    if (err instanceof TlsConfigError) throw badConfig('tls', err.message);
    throw err;
  }
  return paths;
}

function nodeName(c: Record<string, unknown>): string {
  const explicit = str(c, 'nodename', '');
  if (explicit) return explicit;
  const file = str(c, 'nodename_file', DEFAULT_NODENAME_FILE);
  try {
    const fromFile = readFileSync(file, 'utf8').trim();
    if (fromFile) return fromFile;
  } catch {
    // No file: the agent has not written one; the host name is Calico's default too.
  }
  return hostname().toLowerCase();
}

/** The runtime's variables for a command that acts on a container (ADD, DEL, CHECK). */
export function parseEnv(env: NodeJS.ProcessEnv, needNetns: boolean): CniEnv {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new CniError(CniCode.InvalidEnvironment, `environment variable ${name} is required`);
    return v;
  };
  const args: Record<string, string> = {};
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    if (i <= 0) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: '${pair}' is not KEY=VALUE`);
    args[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const ifname = need('CNI_IFNAME');
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname))
    throw new CniError(
      CniCode.InvalidEnvironment,
      `CNI_IFNAME: '${ifname}' is not an interface name (1-15 characters)`,
    );
  const containerId = need('CNI_CONTAINERID');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId))
    throw new CniError(
      CniCode.InvalidEnvironment,
      `CNI_CONTAINERID: '${containerId.slice(0, 80)}' has characters other than letters, digits, '_', '.', '-'`,
    );
  return {
    command: need('CNI_COMMAND'),
    containerId,
    netns: needNetns ? need('CNI_NETNS') : (env.CNI_NETNS ?? ''),
    ifname,
    args,
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
}

function str(c: Record<string, unknown>, key: string, fallback: string, prefix = ''): string {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw badConfig(prefix + key, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function num(c: Record<string, unknown>, key: string, fallback: number): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number') throw badConfig(key, `must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(c: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = c[key];
  if (v === undefined || v === null || v === '') return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badConfig(`ipam.${key}`, `must be true or false (or "true"/"false"), got ${JSON.stringify(v)}`);
}

function list(c: Record<string, unknown>, key: string): string[] {
  const v = c[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw badConfig(`ipam.${key}`, 'must be a list of pool names or CIDRs');
  return v as string[];
}
