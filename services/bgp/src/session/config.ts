// Validation and defaults for speaker and peer configuration: every bad value is refused with an
// InvalidArgumentError naming the field, before any socket is opened.
import { BlockList, isIP, isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { FsmConfig } from '../fsm/index.js';
import type {
  AddPathMode,
  DynamicPeerRange,
  FamilyName,
  GracefulRestartConfig,
  LongLivedGracefulRestartConfig,
  PeerConfig,
  SpeakerConfig,
} from './types.js';

/** A peer's configuration with every default filled in. */
export interface ResolvedPeerConfig {
  address: string;
  remoteAs: number;
  port: number;
  localAddress: string | undefined;
  passive: boolean;
  holdTime: number;
  keepaliveTime: number | undefined;
  minHoldTime: number;
  connectRetryTime: number;
  delayOpenTime: number;
  idleHold: { min: number; max: number };
  families: FamilyName[];
  addPath: Partial<Record<FamilyName, AddPathMode>>;
  extendedMessage: boolean;
  routeRefresh: boolean;
  /** We restart gracefully (capability with our families); undefined: helper only or off. */
  gracefulRestart: GracefulRestartConfig | undefined;
  /** Advertise the graceful restart capability at all (helper role, RFC 4724 §3 with no families). */
  gracefulRestartHelper: boolean;
  longLivedGracefulRestart: LongLivedGracefulRestartConfig | undefined;
  description: string | undefined;
  dynamic: boolean;
  /** The TCP-MD5 key, or why it could not be had (the peer then stays down). */
  tcpMd5: { key: Buffer } | { error: string } | undefined;
  /** GTSM hops (1..255), undefined when off. */
  ttlSecurity: number | undefined;
}

export const PEER_DEFAULTS = {
  port: 179,
  holdTime: 90,
  connectRetryTime: 5,
  openHoldTime: 240,
  idleHold: { min: 5, max: 120 },
  errorForgetTime: 300,
  families: ['ipv4-unicast', 'ipv6-unicast'] as FamilyName[],
  stalePathTime: 360,
} as const;

/** The FSM's settings for a peer: its timers and passivity, and our identity. */
export function fsmConfig(config: ResolvedPeerConfig, local: { routerIdValue: number; localAs: number }): FsmConfig {
  return {
    localBgpId: local.routerIdValue,
    localAs: local.localAs,
    passive: config.passive,
    holdTime: config.holdTime,
    minHoldTime: config.minHoldTime,
    ...(config.keepaliveTime !== undefined ? { keepaliveTime: config.keepaliveTime } : {}),
    connectRetryTime: config.connectRetryTime,
    openHoldTime: PEER_DEFAULTS.openHoldTime,
    delayOpenTime: config.delayOpenTime,
    idleHold: config.idleHold,
    errorForgetTime: PEER_DEFAULTS.errorForgetTime,
  };
}

const FAMILIES: readonly FamilyName[] = ['ipv4-unicast', 'ipv6-unicast'];

function fail(field: string, message: string): never {
  throw new InvalidArgumentError(`${field}: ${message}`, { field });
}

function asn(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff)
    fail(field, `${String(v)} is not an AS number (1..4294967295)`);
  return v;
}

function seconds(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    fail(field, `${String(v)} is not a number of seconds in ${min}..${max}`);
  return v;
}

function port(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
    fail(field, `${String(v)} is not a TCP port (0..65535)`);
  return v;
}

/** Canonical text of an IP address (IPv4-mapped IPv6 becomes IPv4), or undefined when invalid. */
export function canonicalAddress(text: string): string | undefined {
  let a = text.trim();
  if (a.toLowerCase().startsWith('::ffff:') && isIPv4(a.slice(7))) a = a.slice(7);
  const kind = isIP(a);
  if (kind === 4)
    return a
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (kind === 6) {
    try {
      return new URL(`http://[${a.replace(/%.*$/, '')}]`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function address(field: string, v: unknown): string {
  const a = typeof v === 'string' ? canonicalAddress(v) : undefined;
  if (!a) fail(field, `${String(v)} is not an IP address`);
  return a;
}

function gracefulRestart(
  field: string,
  g: GracefulRestartConfig | null | undefined,
): GracefulRestartConfig | undefined {
  if (g === null || g === undefined) return undefined;
  seconds(`${field}.restartTime`, g.restartTime, 0, 4095);
  if (!Number.isInteger(g.restartTime))
    fail(`${field}.restartTime`, `${g.restartTime} is not a whole number of seconds`);
  if (g.stalePathTime !== undefined) seconds(`${field}.stalePathTime`, g.stalePathTime, 1, 86400);
  return { ...g };
}

function longLived(
  field: string,
  l: LongLivedGracefulRestartConfig | null | undefined,
): LongLivedGracefulRestartConfig | undefined {
  if (l === null || l === undefined) return undefined;
  seconds(`${field}.staleTime`, l.staleTime, 0, 0xffffff);
  if (!Number.isInteger(l.staleTime)) fail(`${field}.staleTime`, `${l.staleTime} is not a whole number of seconds`);
  return { ...l };
}

export function resolvePeerConfig(
  p: PeerConfig,
  speaker: Pick<SpeakerConfig, 'gracefulRestart' | 'longLivedGracefulRestart'>,
  dynamic = false,
  field = 'peer',
): ResolvedPeerConfig {
  if (typeof p !== 'object' || p === null) fail(field, 'is not an object');
  const holdTime = seconds(`${field}.holdTime`, p.holdTime ?? PEER_DEFAULTS.holdTime, 0, 65535);
  if (!Number.isInteger(holdTime) || holdTime === 1 || holdTime === 2)
    fail(`${field}.holdTime`, `${holdTime} must be a whole number, 0 or at least 3 (RFC 4271 §4.2)`);
  const families = [...(p.families ?? PEER_DEFAULTS.families)];
  if (families.length === 0) fail(`${field}.families`, 'needs at least one family');
  for (const f of families)
    if (!FAMILIES.includes(f)) fail(`${field}.families`, `${String(f)} is not one of ${FAMILIES.join(', ')}`);
  const addPath = { ...(p.addPath ?? {}) };
  for (const [f, mode] of Object.entries(addPath)) {
    if (!FAMILIES.includes(f as FamilyName)) fail(`${field}.addPath`, `${f} is not one of ${FAMILIES.join(', ')}`);
    if (mode !== 'receive' && mode !== 'send' && mode !== 'both')
      fail(`${field}.addPath.${f}`, `${String(mode)} is not receive, send or both`);
  }
  const idleHold = p.idleHold ?? PEER_DEFAULTS.idleHold;
  seconds(`${field}.idleHold.min`, idleHold.min, 0, 86400);
  seconds(`${field}.idleHold.max`, idleHold.max, idleHold.min, 86400);
  return {
    address: address(`${field}.address`, p.address),
    remoteAs: asn(`${field}.remoteAs`, p.remoteAs),
    port: port(`${field}.port`, p.port ?? PEER_DEFAULTS.port),
    localAddress: p.localAddress === undefined ? undefined : address(`${field}.localAddress`, p.localAddress),
    passive: p.passive ?? false,
    holdTime,
    minHoldTime: seconds(`${field}.minHoldTime`, p.minHoldTime ?? 3, 0, 65535),
    keepaliveTime:
      p.keepaliveTime === undefined ? undefined : seconds(`${field}.keepaliveTime`, p.keepaliveTime, 0.1, 21845),
    connectRetryTime: seconds(
      `${field}.connectRetryTime`,
      p.connectRetryTime ?? PEER_DEFAULTS.connectRetryTime,
      0.05,
      65535,
    ),
    delayOpenTime: seconds(`${field}.delayOpenTime`, p.delayOpenTime ?? 0, 0, 240),
    idleHold: { min: idleHold.min, max: idleHold.max },
    families,
    addPath,
    extendedMessage: p.extendedMessage ?? true,
    routeRefresh: p.routeRefresh ?? true,
    gracefulRestart:
      p.gracefulRestart === null
        ? undefined
        : gracefulRestart(`${field}.gracefulRestart`, p.gracefulRestart ?? speaker.gracefulRestart),
    gracefulRestartHelper: p.gracefulRestart !== null,
    longLivedGracefulRestart:
      p.longLivedGracefulRestart === null
        ? undefined
        : longLived(
            `${field}.longLivedGracefulRestart`,
            p.longLivedGracefulRestart ?? speaker.longLivedGracefulRestart,
          ),
    description: p.description,
    dynamic,
    tcpMd5: tcpMd5(`${field}.tcpMd5`, p.tcpMd5),
    ttlSecurity:
      p.ttlSecurity === undefined || p.ttlSecurity === 0
        ? undefined
        : ttlSecurity(`${field}.ttlSecurity`, p.ttlSecurity),
  };
}

/** RFC 2385 keys: Linux takes at most TCP_MD5SIG_MAXKEYLEN (80) octets, as BIRD and FRR do. */
const MAX_MD5_KEY = 80;

function tcpMd5(field: string, v: PeerConfig['tcpMd5']): ResolvedPeerConfig['tcpMd5'] {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) fail(field, 'must be {key} or {error}');
  if ('error' in v) {
    if (typeof v.error !== 'string' || v.error === '') fail(`${field}.error`, 'must be a non-empty string');
    return { error: v.error };
  }
  const key =
    typeof v.key === 'string'
      ? Buffer.from(v.key, 'utf8')
      : v.key instanceof Uint8Array
        ? Buffer.from(v.key)
        : undefined;
  // The key itself never goes into an error message or a log.
  if (!key || key.length < 1 || key.length > MAX_MD5_KEY)
    fail(`${field}.key`, `must be 1 to ${MAX_MD5_KEY} octets (got ${key ? key.length : typeof v.key})`);
  return { key };
}

function ttlSecurity(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
    fail(field, `${String(v)} is not a number of hops (0..255; 0 is off)`);
  return v;
}

export interface ResolvedSpeakerConfig {
  localAs: number;
  routerId: string;
  routerIdValue: number;
  listen: { address: string; port: number } | false;
  dynamicPeers: { range: BlockList; prefix: string; remoteAs: number; template: DynamicPeerRange['template'] }[];
  maxDynamicPeers: number;
  hostname: string | undefined;
  sendQueueHighWater: number;
  wireWithdrawals: boolean;
}

export function resolveSpeakerConfig(c: SpeakerConfig): ResolvedSpeakerConfig {
  if (typeof c !== 'object' || c === null) fail('speaker', 'is not an object');
  const localAs = asn('localAs', c.localAs);
  if (typeof c.routerId !== 'string' || !isIPv4(c.routerId))
    fail('routerId', `${String(c.routerId)} is not an IPv4 dotted quad`);
  const routerIdValue = c.routerId.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  if (routerIdValue === 0) fail('routerId', '0.0.0.0 is not a valid BGP Identifier (RFC 6286)');
  // Never every address unless asked: without one the listener binds the router id.
  const listen =
    c.listen === false
      ? false
      : {
          address: address('listen.address', c.listen?.address ?? c.routerId),
          port: port('listen.port', c.listen?.port ?? 179),
        };
  const dynamicPeers = (c.dynamicPeers ?? []).map((d, i) => {
    const field = `dynamicPeers[${i}]`;
    const m = /^(.+)\/(\d{1,3})$/.exec(String(d.prefix));
    const base = m ? canonicalAddress(m[1]!) : undefined;
    const len = m ? Number(m[2]) : NaN;
    const family = base ? (isIPv4(base) ? 'ipv4' : 'ipv6') : undefined;
    if (!base || !family || len > (family === 'ipv4' ? 32 : 128))
      fail(`${field}.prefix`, `${String(d.prefix)} is not a CIDR prefix`);
    const range = new BlockList();
    range.addSubnet(base, len, family);
    const t = d.template as PeerConfig | undefined;
    if (t?.tcpMd5 !== undefined || t?.ttlSecurity !== undefined)
      fail(`${field}.template`, 'tcpMd5 and ttlSecurity are per peer; dynamic peers cannot have them');
    if (d.template)
      resolvePeerConfig(
        { ...d.template, address: base, remoteAs: asn(`${field}.remoteAs`, d.remoteAs) },
        c,
        true,
        `${field}.template`,
      );
    return { range, prefix: `${base}/${len}`, remoteAs: asn(`${field}.remoteAs`, d.remoteAs), template: d.template };
  });
  const maxDynamicPeers = c.maxDynamicPeers ?? 10_000;
  if (!Number.isInteger(maxDynamicPeers) || maxDynamicPeers < 0)
    fail('maxDynamicPeers', `${String(maxDynamicPeers)} is not a non-negative integer`);
  gracefulRestart('gracefulRestart', c.gracefulRestart);
  longLived('longLivedGracefulRestart', c.longLivedGracefulRestart);
  if (c.hostname !== undefined && (typeof c.hostname !== 'string' || Buffer.byteLength(c.hostname) > 255))
    fail('hostname', 'must be a string of at most 255 octets');
  const sendQueueHighWater = c.sendQueueHighWater ?? 1024 * 1024;
  if (!Number.isInteger(sendQueueHighWater) || sendQueueHighWater < 1)
    fail('sendQueueHighWater', `${String(sendQueueHighWater)} is not a positive number of octets`);
  return {
    localAs,
    routerId: c.routerId,
    routerIdValue,
    listen,
    dynamicPeers,
    maxDynamicPeers,
    hostname: c.hostname,
    sendQueueHighWater,
    wireWithdrawals: c.wireWithdrawals === true,
  };
}
