import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BgpMessageError,
  MessageType,
  negotiate,
  openAsn,
  myAsField,
  AS_TRANS,
  type Capability,
  type OpenMessage,
} from './index.js';

function open(asn: number, holdTime: number, bgpId: string, capabilities: Capability[]): OpenMessage {
  return { type: MessageType.Open, version: 4, myAs: myAsField(asn), holdTime, bgpId, capabilities };
}
const mp = (afi: number, safi = 1): Capability => ({ kind: 'MultiProtocol', afi, safi });

describe('negotiate', () => {
  it('combines capabilities both sides advertised', () => {
    const local = open(4200000001, 90, '10.0.0.1', [
      mp(1),
      mp(2),
      { kind: 'FourOctetAs', asn: 4200000001 },
      { kind: 'RouteRefresh' },
      { kind: 'EnhancedRouteRefresh' },
      { kind: 'ExtendedMessage' },
      {
        kind: 'AddPath',
        afis: [
          { afi: 1, safi: 1, sendReceive: 3 },
          { afi: 2, safi: 1, sendReceive: 1 },
        ],
      },
    ]);
    const gr: Capability = {
      kind: 'GracefulRestart',
      restartFlags: 8,
      restartTime: 120,
      afis: [{ afi: 1, safi: 1, forwardingState: true }],
    };
    const llgr: Capability = {
      kind: 'LongLivedGracefulRestart',
      afis: [{ afi: 1, safi: 1, forwardingState: false, staleTime: 3600 }],
    };
    const remote = open(65002, 30, '10.0.0.2', [
      mp(1),
      { kind: 'FourOctetAs', asn: 65002 },
      { kind: 'Unknown', code: 128, value: new Uint8Array(0) },
      { kind: 'ExtendedMessage' },
      { kind: 'AddPath', afis: [{ afi: 1, safi: 1, sendReceive: 1 }] },
      gr,
      llgr,
    ]);
    const n = negotiate(local, remote);
    assert.equal(n.holdTime, 30);
    assert.equal(n.keepaliveTime, 10);
    assert.equal(n.fourOctetAs, true);
    assert.equal(n.extendedMessage, true);
    assert.equal(n.maxMessageLength, 65535);
    assert.equal(n.routeRefresh, true, 'code 128 counts as route refresh');
    assert.equal(n.enhancedRouteRefresh, false);
    assert.deepEqual(n.families, [{ afi: 1, safi: 1 }]);
    assert.deepEqual(n.addPath, [{ afi: 1, safi: 1, receive: false, send: true }]);
    assert.equal(n.peerAs, 65002);
    assert.equal(n.peerBgpId, '10.0.0.2');
    assert.deepEqual(n.peerGracefulRestart, gr);
    assert.deepEqual(n.peerLongLivedGracefulRestart, llgr);
  });

  it('defaults to IPv4 unicast, 2-octet AS and 4096 octets for a plain RFC 4271 peer', () => {
    const n = negotiate(open(65001, 0, '10.0.0.1', [mp(1)]), open(65002, 0, '10.0.0.2', []));
    assert.deepEqual(n.families, [{ afi: 1, safi: 1 }]);
    assert.equal(n.fourOctetAs, false);
    assert.equal(n.holdTime, 0);
    assert.equal(n.keepaliveTime, 0);
    assert.equal(n.maxMessageLength, 4096);
    assert.equal(n.peerGracefulRestart, undefined);
  });

  it('rejects hold times of 1-2 s and an iBGP peer with our BGP identifier', () => {
    assert.throws(
      () => negotiate(open(1, 90, '10.0.0.1', []), open(2, 2, '10.0.0.2', [])),
      (e: unknown) => e instanceof BgpMessageError && e.code === 2 && e.subcode === 6,
    );
    assert.throws(() => negotiate(open(1, 1, '10.0.0.1', []), open(2, 90, '10.0.0.2', [])), /holdTime/);
    assert.throws(
      () => negotiate(open(1, 90, '10.0.0.1', []), open(1, 90, '10.0.0.1', [])),
      (e: unknown) => e instanceof BgpMessageError && e.subcode === 3,
    );
  });

  it('openAsn reads the 4-octet capability; myAsField maps large ASNs to AS_TRANS', () => {
    assert.equal(myAsField(4200000000), AS_TRANS);
    assert.equal(myAsField(65000), 65000);
    assert.equal(openAsn(open(4200000000, 90, '1.1.1.1', [{ kind: 'FourOctetAs', asn: 4200000000 }])), 4200000000);
    assert.equal(openAsn(open(65000, 90, '1.1.1.1', [])), 65000);
  });
});
