// Our OPEN message for one peer (RFC 4271 §4.2) with the capabilities its configuration asks
// for (RFC 5492). Upgrade rule: a feature is used only when both OPENs carry its capability
// (`negotiate` in the codec decides); advertising one is always safe.
import {
  AddPathSendReceive,
  BGP_VERSION,
  GracefulRestartFlag,
  MessageType,
  myAsField,
  type Capability,
  type OpenMessage,
} from '../codec/index.js';
import type { ResolvedPeerConfig } from './config.js';
import { FAMILY } from './types.js';

const ADD_PATH_MODE = {
  receive: AddPathSendReceive.Receive,
  send: AddPathSendReceive.Send,
  both: AddPathSendReceive.Both,
} as const;

export interface OpenContext {
  localAs: number;
  routerId: string;
  hostname: string | undefined;
  /** The R bit (RFC 4724 §4.1): set while the layer above says we are restarting. */
  restarting: boolean;
}

export function buildOpen(peer: ResolvedPeerConfig, ctx: OpenContext): OpenMessage {
  const capabilities: Capability[] = [];
  for (const f of peer.families) capabilities.push({ kind: 'MultiProtocol', ...FAMILY[f] });
  if (peer.routeRefresh) {
    capabilities.push({ kind: 'RouteRefresh' });
    capabilities.push({ kind: 'EnhancedRouteRefresh' });
  }
  capabilities.push({ kind: 'FourOctetAs', asn: ctx.localAs });
  if (peer.extendedMessage) capabilities.push({ kind: 'ExtendedMessage' });
  const addPath = peer.families
    .filter((f) => peer.addPath[f])
    .map((f) => ({ ...FAMILY[f], sendReceive: ADD_PATH_MODE[peer.addPath[f]!] }));
  if (addPath.length > 0) capabilities.push({ kind: 'AddPath', afis: addPath });
  const gr = peer.gracefulRestart;
  if (gr) {
    capabilities.push({
      kind: 'GracefulRestart',
      restartFlags: ctx.restarting ? GracefulRestartFlag.Restart : 0,
      restartTime: gr.restartTime,
      afis: peer.families.map((f) => ({ ...FAMILY[f], forwardingState: gr.forwardingState === true })),
    });
  } else if (peer.gracefulRestartHelper) {
    // RFC 4724 §3: a speaker that only helps others restart sends the capability with no families.
    capabilities.push({ kind: 'GracefulRestart', restartFlags: 0, restartTime: 0, afis: [] });
  }
  const llgr = peer.longLivedGracefulRestart;
  if (llgr) {
    capabilities.push({
      kind: 'LongLivedGracefulRestart',
      afis: peer.families.map((f) => ({
        ...FAMILY[f],
        forwardingState: gr?.forwardingState === true,
        staleTime: llgr.staleTime,
      })),
    });
  }
  if (ctx.hostname) capabilities.push({ kind: 'Fqdn', hostname: ctx.hostname, domain: '' });
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    myAs: myAsField(ctx.localAs),
    holdTime: peer.holdTime,
    bgpId: ctx.routerId,
    capabilities,
  };
}
