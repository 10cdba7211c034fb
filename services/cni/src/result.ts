// CNI results (spec 1.0.0 "Success"), written in the version the configuration asked for:
// 0.3.0, 0.3.1 and 0.4.0 carry `version` ("4"/"6") on each IP; 1.0.0 and 1.1.0 do not.
import { CniCode, CniError } from './errors.js';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIp {
  /** CIDR notation: "10.244.0.5/32". */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  interfaces?: CniInterface[];
  ips: CniIp[];
  routes?: CniRoute[];
  dns?: Record<string, unknown>;
}

export function formatResult(r: CniResult, cniVersion: string): Record<string, unknown> {
  const legacy = cniVersion.startsWith('0.');
  return {
    cniVersion,
    ...(r.interfaces ? { interfaces: r.interfaces } : {}),
    ips: r.ips.map((ip) => (legacy ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : ip)),
    ...(r.routes ? { routes: r.routes } : {}),
    dns: r.dns ?? {},
  };
}

/** Reads a result (prevResult, or a delegated plugin's output) of any supported version. */
export function parseResult(value: unknown, what: string): CniResult {
  if (typeof value !== 'object' || value === null)
    throw new CniError(CniCode.DecodeFailure, `${what} is not a CNI result object`);
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.ips)) throw new CniError(CniCode.DecodeFailure, `${what}: ips must be a list`);
  const ips = v.ips.map((ip, i) => {
    const o = ip as Record<string, unknown>;
    if (typeof o?.address !== 'string')
      throw new CniError(CniCode.DecodeFailure, `${what}: ips[${i}].address must be a CIDR string`);
    return {
      address: o.address,
      ...(typeof o.gateway === 'string' ? { gateway: o.gateway } : {}),
      ...(typeof o.interface === 'number' ? { interface: o.interface } : {}),
    };
  });
  return {
    ...(Array.isArray(v.interfaces) ? { interfaces: v.interfaces as CniInterface[] } : {}),
    ips,
    ...(Array.isArray(v.routes) ? { routes: v.routes as CniRoute[] } : {}),
    ...(typeof v.dns === 'object' && v.dns !== null ? { dns: v.dns as Record<string, unknown> } : {}),
  };
}
