// rr.yaml: the standalone reflector's configuration, BIRD-style (one file, no datastore). Every
// key is checked; an unknown key or a bad value stops start-up with an error naming the field
// (`peers[2].asNumber: ...`). See services/rr/README.md for the reference and an example.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { parseBgpFilter, parseCommunity, type BgpFilter } from '../policy/filter.js';
import {
  DEFAULT_GRACEFUL_RESTART,
  type AddPathSetting,
  type FamilyName,
  type GracefulRestartSettings,
  type PeerSettings,
  type ReflectorSettings,
  type StaticRoute,
} from './types.js';
import type { NextHopMode } from '../export/rules.js';
import { parsePrefix, prefixToString } from '../../../bgp/index.js';
import { keyFromEnv, keyFromFile, keyPath } from './password.js';

export interface ServiceSettings {
  /** gRPC admin API listen address ("HOST:PORT"); false = none. */
  readonly adminListen: string | false;
  /** Prometheus /metrics and health port; 0 = any free port, false = none. */
  readonly metricsPort: number | false;
  /** LMDB directory for warm restart; absent = no persistence. */
  readonly dataDir?: string;
}

export interface StandaloneConfig {
  readonly reflector: ReflectorSettings;
  readonly peers: readonly PeerSettings[];
  readonly routes: readonly StaticRoute[];
  readonly service: ServiceSettings;
}

export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:5474';

type Obj = Record<string, unknown>;

function fail(field: string, why: string): never {
  throw new InvalidArgumentError(`${field}: ${why}`, { field });
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(o: Obj, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k)) fail(field ? `${field}.${k}` : k, `unknown field (known: ${keys.join(', ')})`);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(field, `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') fail(field, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

export function asNumber(v: unknown, field: string): number {
  return int(v, field, 1, 0xffffffff);
}

/** Canonical text of an IPv4 or IPv6 address. */
export function ipAddress(v: unknown, field: string, family?: 4 | 6): string {
  if (typeof v !== 'string' || !isIP(v)) fail(field, `must be an IP address, got ${JSON.stringify(v)}`);
  const kind = isIP(v) as 4 | 6;
  if (family && kind !== family) fail(field, `must be an IPv${family} address, got "${v}"`);
  if (kind === 4)
    return v
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  return new URL(`http://[${v}]`).hostname.slice(1, -1);
}

function routerIdOf(v: unknown, field: string): string {
  const a = ipAddress(v, field, 4);
  if (a === '0.0.0.0') fail(field, 'must not be 0.0.0.0 (RFC 6286)');
  return a;
}

/** "HOST:PORT" or "[V6]:PORT". */
export function hostPort(v: unknown, field: string): { address: string; port: number } {
  if (typeof v !== 'string') fail(field, `must be ADDRESS:PORT, got ${JSON.stringify(v)}`);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:[\]]+):(\d{1,5})$/.exec(v);
  if (!m) fail(field, `must be ADDRESS:PORT (IPv6 in brackets), got "${v}"`);
  return { address: ipAddress(m[1], field), port: int(Number(m[2]), field, 0, 65535) };
}

/** Canonical "a.b.c.d/n" or "v6/n"; host bits must be zero. */
export function cidr(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v.includes('/'))
    fail(field, `must be a CIDR like 10.0.0.0/24, got ${JSON.stringify(v)}`);
  const [addr, len] = v.split('/');
  const a = ipAddress(addr, field);
  const max = a.includes(':') ? 128 : 32;
  if (!/^\d{1,3}$/.test(len!) || Number(len) > max) fail(field, `bad prefix length in "${v}" (0..${max})`);
  return `${a}/${Number(len)}`;
}

const NEXT_HOP_MODES: Record<string, NextHopMode> = { Auto: 'auto', Self: 'self', Keep: 'keep' };
const ADD_PATHS: Record<string, AddPathSetting> = {
  true: 'both',
  false: 'off',
  on: 'both',
  off: 'off',
  tx: 'tx',
  rx: 'rx',
};
const FAMILIES: readonly FamilyName[] = ['ipv4-unicast', 'ipv6-unicast'];

const PEER_KEYS = [
  'address',
  'asNumber',
  'rrClient',
  'passive',
  'port',
  'localAddress',
  'nextHopMode',
  'maxPrefixes',
  'filters',
  'addPaths',
  'holdTime',
  'families',
  'restartTime',
  'description',
  'password',
  'ttlSecurity',
];

/** Where key files and environment variables are read from (tests give their own). */
export interface ParseContext {
  /** Directory relative key files are read from (the config file's). */
  readonly baseDir?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** `password: {file: PATH}` or `{env: NAME}`: the key is read now; a key in the YAML is refused. */
function parsePassword(raw: unknown, field: string, ctx: ParseContext): { key: Buffer } {
  if (!isObj(raw)) {
    fail(field, 'must be {file: PATH} or {env: NAME}: the key itself never goes in rr.yaml');
  }
  only(raw, field, ['file', 'env']);
  if ((raw.file === undefined) === (raw.env === undefined)) fail(field, 'give exactly one of file or env');
  const r =
    raw.file !== undefined
      ? keyFromFile(keyPath(str(raw.file, `${field}.file`), ctx.baseDir))
      : keyFromEnv(str(raw.env, `${field}.env`), ctx.env);
  if ('error' in r) fail(raw.file !== undefined ? `${field}.file` : `${field}.env`, r.error);
  return r;
}

function parsePeer(
  raw: unknown,
  field: string,
  filters: ReadonlyMap<string, BgpFilter>,
  ctx: ParseContext = {},
): PeerSettings {
  if (!isObj(raw)) fail(field, 'must be a mapping with address and asNumber');
  only(raw, field, PEER_KEYS);
  if (raw.address === undefined) fail(`${field}.address`, 'is required');
  if (raw.asNumber === undefined) fail(`${field}.asNumber`, 'is required');
  let nextHopMode: NextHopMode = 'auto';
  if (raw.nextHopMode !== undefined) {
    const m = NEXT_HOP_MODES[String(raw.nextHopMode)];
    if (!m) fail(`${field}.nextHopMode`, `must be Auto, Self or Keep, got ${JSON.stringify(raw.nextHopMode)}`);
    nextHopMode = m;
  }
  let addPaths: AddPathSetting = 'off';
  if (raw.addPaths !== undefined) {
    const m = ADD_PATHS[String(raw.addPaths)];
    if (!m) fail(`${field}.addPaths`, `must be true, false, tx or rx, got ${JSON.stringify(raw.addPaths)}`);
    addPaths = m;
  }
  let families: FamilyName[] = [...FAMILIES];
  if (raw.families !== undefined) {
    if (!Array.isArray(raw.families) || raw.families.length === 0)
      fail(`${field}.families`, `must be a non-empty list of ${FAMILIES.join(', ')}`);
    families = raw.families.map((f, i) => {
      if (!FAMILIES.includes(f as FamilyName))
        fail(`${field}.families[${i}]`, `must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(f)}`);
      return f as FamilyName;
    });
  }
  const peerFilters: BgpFilter[] = [];
  if (raw.filters !== undefined) {
    if (!Array.isArray(raw.filters)) fail(`${field}.filters`, 'must be a list of filter names');
    raw.filters.forEach((n, i) => {
      const f = filters.get(String(n));
      if (!f) fail(`${field}.filters[${i}]`, `no filter named ${JSON.stringify(n)} under filters:`);
      peerFilters.push(f);
    });
  }
  const holdTime = raw.holdTime === undefined ? undefined : int(raw.holdTime, `${field}.holdTime`, 0, 65535);
  if (holdTime === 1 || holdTime === 2) fail(`${field}.holdTime`, 'must be 0 or at least 3 (RFC 4271 §4.2)');
  return {
    address: ipAddress(raw.address, `${field}.address`),
    asNumber: asNumber(raw.asNumber, `${field}.asNumber`),
    rrClient: raw.rrClient === undefined ? false : bool(raw.rrClient, `${field}.rrClient`),
    passive: raw.passive === undefined ? false : bool(raw.passive, `${field}.passive`),
    port: raw.port === undefined ? 179 : int(raw.port, `${field}.port`, 1, 65535),
    ...(raw.localAddress !== undefined ? { localAddress: ipAddress(raw.localAddress, `${field}.localAddress`) } : {}),
    nextHopMode,
    ...(raw.maxPrefixes !== undefined
      ? { maxPrefixes: int(raw.maxPrefixes, `${field}.maxPrefixes`, 1, 0xffffffff) }
      : {}),
    filters: peerFilters,
    addPaths,
    ...(holdTime !== undefined ? { holdTime } : {}),
    families,
    ...(raw.restartTime !== undefined ? { restartTime: int(raw.restartTime, `${field}.restartTime`, 0, 4095) } : {}),
    ...(raw.description !== undefined ? { description: str(raw.description, `${field}.description`) } : {}),
    ...(raw.password !== undefined ? { tcpMd5: parsePassword(raw.password, `${field}.password`, ctx) } : {}),
    ...(raw.ttlSecurity !== undefined && raw.ttlSecurity !== 0
      ? { ttlSecurity: int(raw.ttlSecurity, `${field}.ttlSecurity`, 0, 255) }
      : {}),
  };
}

function parseRoute(raw: unknown, field: string): StaticRoute {
  if (!isObj(raw)) fail(field, 'must be a mapping with prefix');
  only(raw, field, ['prefix', 'nextHop', 'communities', 'localPref', 'med']);
  if (raw.prefix === undefined) fail(`${field}.prefix`, 'is required');
  let prefix: string;
  try {
    prefix = prefixToString(parsePrefix(String(raw.prefix)));
  } catch (err) {
    fail(`${field}.prefix`, (err as Error).message.replace(/^prefix: /, ''));
  }
  const v6 = prefix.includes(':');
  const communities: string[] = [];
  if (raw.communities !== undefined) {
    if (!Array.isArray(raw.communities)) fail(`${field}.communities`, 'must be a list like ["65000:100", "65000:1:2"]');
    raw.communities.forEach((c, i) => {
      parseCommunity(c, `${field}.communities[${i}]`);
      communities.push(String(c));
    });
  }
  return {
    prefix,
    ...(raw.nextHop !== undefined ? { nextHop: ipAddress(raw.nextHop, `${field}.nextHop`, v6 ? 6 : 4) } : {}),
    communities,
    ...(raw.localPref !== undefined ? { localPref: int(raw.localPref, `${field}.localPref`, 0, 0xffffffff) } : {}),
    ...(raw.med !== undefined ? { med: int(raw.med, `${field}.med`, 0, 0xffffffff) } : {}),
  };
}

function parseGracefulRestart(raw: unknown, field: string): GracefulRestartSettings {
  if (raw === undefined) return DEFAULT_GRACEFUL_RESTART;
  if (!isObj(raw)) fail(field, 'must be a mapping');
  only(raw, field, ['restartTime', 'stalePathTime', 'longLivedStaleTime', 'selectionDeferralTime']);
  const d = DEFAULT_GRACEFUL_RESTART;
  return {
    restartTime: raw.restartTime === undefined ? d.restartTime : int(raw.restartTime, `${field}.restartTime`, 0, 4095),
    stalePathTime:
      raw.stalePathTime === undefined ? d.stalePathTime : int(raw.stalePathTime, `${field}.stalePathTime`, 1, 86400),
    longLivedStaleTime:
      raw.longLivedStaleTime === undefined
        ? d.longLivedStaleTime
        : int(raw.longLivedStaleTime, `${field}.longLivedStaleTime`, 0, 0xffffff),
    selectionDeferralTime:
      raw.selectionDeferralTime === undefined
        ? d.selectionDeferralTime
        : int(raw.selectionDeferralTime, `${field}.selectionDeferralTime`, 1, 3600),
  };
}

const TOP_KEYS = [
  'asNumber',
  'routerID',
  'clusterID',
  'listen',
  'holdTime',
  'alwaysCompareMed',
  'gracefulRestart',
  'maxPrefixRestartTime',
  'filters',
  'peers',
  'routes',
  'adminListen',
  'metricsPort',
  'dataDir',
];

/** Validates a parsed rr.yaml document. */
export function parseStandaloneConfig(doc: unknown, ctx: ParseContext = {}): StandaloneConfig {
  if (!isObj(doc)) fail('rr.yaml', 'must be a mapping (asNumber, routerID, listen, peers, ...)');
  only(doc, '', TOP_KEYS);
  if (doc.asNumber === undefined) fail('asNumber', 'is required');
  if (doc.routerID === undefined) fail('routerID', 'is required');
  const routerId = routerIdOf(doc.routerID, 'routerID');
  const filters = new Map<string, BgpFilter>();
  if (doc.filters !== undefined) {
    if (!isObj(doc.filters)) fail('filters', 'must be a mapping of name to BGPFilter spec');
    for (const [name, spec] of Object.entries(doc.filters))
      filters.set(name, parseBgpFilter(name, spec, `filters.${name}`));
  }
  if (doc.peers !== undefined && !Array.isArray(doc.peers)) fail('peers', 'must be a list');
  const peers = ((doc.peers as unknown[] | undefined) ?? []).map((p, i) => parsePeer(p, `peers[${i}]`, filters, ctx));
  const seen = new Set<string>();
  peers.forEach((p, i) => {
    if (seen.has(p.address)) fail(`peers[${i}].address`, `${p.address} appears twice`);
    seen.add(p.address);
  });
  if (doc.routes !== undefined && !Array.isArray(doc.routes)) fail('routes', 'must be a list');
  const routes = ((doc.routes as unknown[] | undefined) ?? []).map((r, i) => parseRoute(r, `routes[${i}]`));
  // Without `listen`, BGP binds the router id (as BIRD's `strict bind` would), never every address.
  let listen: ReflectorSettings['listen'] = { address: routerId, port: 179 };
  if (doc.listen === false || doc.listen === 'none') listen = false;
  else if (doc.listen !== undefined) listen = hostPort(doc.listen, 'listen');
  const holdTime = doc.holdTime === undefined ? 90 : int(doc.holdTime, 'holdTime', 0, 65535);
  if (holdTime === 1 || holdTime === 2) fail('holdTime', 'must be 0 or at least 3 (RFC 4271 §4.2)');
  let adminListen: string | false = DEFAULT_ADMIN_LISTEN;
  if (doc.adminListen === false || doc.adminListen === 'none') adminListen = false;
  else if (doc.adminListen !== undefined) {
    hostPort(doc.adminListen, 'adminListen');
    adminListen = String(doc.adminListen);
  }
  return {
    reflector: {
      asNumber: asNumber(doc.asNumber, 'asNumber'),
      routerId,
      clusterId: doc.clusterID === undefined ? routerId : routerIdOf(doc.clusterID, 'clusterID'),
      listen,
      holdTime,
      alwaysCompareMed: doc.alwaysCompareMed === undefined ? false : bool(doc.alwaysCompareMed, 'alwaysCompareMed'),
      gracefulRestart: parseGracefulRestart(doc.gracefulRestart, 'gracefulRestart'),
      maxPrefixRestartTime:
        doc.maxPrefixRestartTime === undefined ? 60 : int(doc.maxPrefixRestartTime, 'maxPrefixRestartTime', 1, 86400),
    },
    peers,
    routes,
    service: {
      adminListen,
      metricsPort:
        doc.metricsPort === undefined || doc.metricsPort === false
          ? false
          : int(doc.metricsPort, 'metricsPort', 0, 65535),
      ...(doc.dataDir !== undefined ? { dataDir: str(doc.dataDir, 'dataDir') } : {}),
    },
  };
}

/** Reads and validates rr.yaml; errors name the file and the field. */
export function loadStandaloneConfig(file: string): StandaloneConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`, { field: 'config' });
  }
  let doc: unknown;
  try {
    // Required on use: a reflector in datastore mode reads no file, and the parser is ~260 KB of
    // JavaScript to compile at start.
    doc = (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      field: 'config',
    });
  }
  try {
    return parseStandaloneConfig(doc, { baseDir: dirname(file) });
  } catch (err) {
    if (err instanceof InvalidArgumentError)
      throw new InvalidArgumentError(`${file}: ${err.message}`, { field: err.field ?? 'config', cause: err });
    throw err;
  }
}

/** Applies command-line overrides of the service settings (validated like the file's). */
export function withServiceOverrides(
  config: StandaloneConfig,
  o: { adminListen?: string; metricsPort?: number | false; dataDir?: string },
): StandaloneConfig {
  let adminListen = config.service.adminListen;
  if (o.adminListen !== undefined) {
    if (o.adminListen === 'none') adminListen = false;
    else {
      hostPort(o.adminListen, '--admin');
      adminListen = o.adminListen;
    }
  }
  return {
    ...config,
    service: {
      adminListen,
      metricsPort: o.metricsPort === undefined ? config.service.metricsPort : o.metricsPort,
      ...(o.dataDir !== undefined
        ? { dataDir: o.dataDir }
        : config.service.dataDir !== undefined
          ? { dataDir: config.service.dataDir }
          : {}),
    },
  };
}
