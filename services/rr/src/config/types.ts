// The reflector's configuration as domain values, whatever it came from (rr.yaml in standalone
// mode, BGPConfiguration / BGPPeer / Node resources in datastore mode).

import type { BgpFilter } from '../policy/filter.js';
import type { NextHopMode } from '../export/rules.js';

export type FamilyName = 'ipv4-unicast' | 'ipv6-unicast';

/** BIRD's `add paths`: tx = we send several paths, rx = we accept several. */
export type AddPathSetting = 'off' | 'tx' | 'rx' | 'both';

export interface PeerSettings {
  /** Canonical IP address; peers are keyed by it. */
  readonly address: string;
  readonly asNumber: number;
  /** iBGP route-reflector client (ignored for eBGP peers). */
  readonly rrClient: boolean;
  readonly passive: boolean;
  readonly port: number;
  /** Source address for our connections and the "self" next hop. */
  readonly localAddress?: string;
  readonly nextHopMode: NextHopMode;
  readonly maxPrefixes?: number;
  readonly filters: readonly BgpFilter[];
  readonly addPaths: AddPathSetting;
  readonly holdTime?: number;
  readonly families: readonly FamilyName[];
  /** RFC 4724 restart time we ask the peer to keep our routes for (Calico maxRestartTime). */
  readonly restartTime?: number;
  readonly description?: string;
  /** Accept routes no filter rule matched, whatever the peer type (datastore mode: Calico's import). */
  readonly acceptImportByDefault?: boolean;
  /**
   * RFC 2385 TCP-MD5 key read from a file, an environment variable or a secret, or why it could
   * not be read: then the peer stays down with that reason (never up without its key).
   */
  readonly tcpMd5?: { readonly key: Buffer } | { readonly error: string };
  /** RFC 5082 GTSM hops (Calico ttlSecurity); absent or 0: off. */
  readonly ttlSecurity?: number;
}

export interface StaticRoute {
  /** Canonical CIDR. */
  readonly prefix: string;
  /** Next hop; absent = ourselves. */
  readonly nextHop?: string;
  readonly communities: readonly string[];
  readonly localPref?: number;
  readonly med?: number;
}

export interface GracefulRestartSettings {
  /** Seconds peers keep our routes when we restart (RFC 4724), 0..4095. */
  readonly restartTime: number;
  /** Seconds we keep a restarting peer's routes waiting for its End-of-RIB. */
  readonly stalePathTime: number;
  /** RFC 9494 long-lived stale time (seconds) we ask for; 0 = no LLGR. */
  readonly longLivedStaleTime: number;
  /** After our own restart, longest wait for peers' End-of-RIB before we send ours (RFC 4724 §4.1 selection deferral). */
  readonly selectionDeferralTime: number;
}

export interface ReflectorSettings {
  readonly asNumber: number;
  /** BGP identifier, dotted quad. */
  readonly routerId: string;
  /** CLUSTER_ID, dotted quad (defaults to the router id). */
  readonly clusterId: string;
  /** BGP listener; false: connect out only. */
  readonly listen: { readonly address: string; readonly port: number } | false;
  readonly holdTime: number;
  readonly alwaysCompareMed: boolean;
  readonly gracefulRestart: GracefulRestartSettings;
  /** Seconds a peer stays down after going past its max-prefix limit before we reconnect. */
  readonly maxPrefixRestartTime: number;
}

export const DEFAULT_GRACEFUL_RESTART: GracefulRestartSettings = {
  restartTime: 120,
  stalePathTime: 360,
  longLivedStaleTime: 0,
  selectionDeferralTime: 60,
};
