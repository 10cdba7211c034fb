// Golden vectors: messages captured from real BIRD 2, FRR and GoBGP sessions (testdata/golden,
// see its README) decode, through FrameReader, to the values the daemons were configured with.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CeaseSubcode,
  community,
  decodeMessage,
  ErrorCode,
  FrameReader,
  isEndOfRib,
  MessageType,
  negotiate,
  prefixToString,
  shutdownCommunication,
  WellKnownCommunity,
  type BgpMessage,
  type Capability,
  type NegotiatedOptions,
  type OpenMessage,
  type UpdateMessage,
} from './index.js';
import { stable } from './test-support.js';

const DIR = join(import.meta.dirname, 'testdata', 'golden');

interface Capture {
  opts: NegotiatedOptions;
  theirOpen: OpenMessage;
  messages: BgpMessage[];
  updates: UpdateMessage[];
}

function lines(file: string): Uint8Array[] {
  return readFileSync(join(DIR, file), 'utf8')
    .trim()
    .split('\n')
    .map((h) => new Uint8Array(Buffer.from(h, 'hex')));
}

function load(daemon: string, family: 'ipv4' | 'ipv6'): Capture {
  const recv = lines(`${daemon}/${family}.recv.hex`);
  const sent = lines(`${daemon}/${family}.sent.hex`);
  const pre = { fourOctetAs: false, extendedMessage: false, addPath: [] };
  const ourOpen = decodeMessage(sent[0]!, pre).message as OpenMessage;
  const theirOpen = decodeMessage(recv[0]!, pre).message as OpenMessage;
  const opts = negotiate(ourOpen, theirOpen);
  // Replay the stream through FrameReader in 7-octet chunks (frames split across chunks).
  const stream = Buffer.concat(recv);
  const reader = new FrameReader({ extendedMessage: opts.extendedMessage });
  const messages: BgpMessage[] = [];
  for (let off = 0; off < stream.length; off += 7) {
    reader.push(stream.subarray(off, off + 7));
    for (let f = reader.next(); f; f = reader.next()) {
      const r = decodeMessage(f.message, opts);
      assert.equal(r.error, undefined, r.error?.message);
      stable(f.message, opts);
      messages.push(r.message);
    }
  }
  assert.equal(messages.length, recv.length);
  return {
    opts,
    theirOpen,
    messages,
    updates: messages.filter((m): m is UpdateMessage => m.type === MessageType.Update),
  };
}

function cap<K extends Capability['kind']>(open: OpenMessage, kind: K): Extract<Capability, { kind: K }> | undefined {
  return open.capabilities.find((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

function route(c: Capture, prefix: string): UpdateMessage {
  const u = c.updates.find((x) => [...x.nlri, ...(x.mpReach?.nlri ?? [])].some((p) => prefixToString(p) === prefix));
  assert.ok(u, `no UPDATE announces ${prefix}`);
  return u;
}

const C = (a: number, v: number): number => community(a, v);
const LARGE_1_2 = [{ globalAdmin: 65000, localData1: 1, localData2: 2 }];
const LARGE_6_6 = [{ globalAdmin: 65000, localData1: 6, localData2: 6 }];

function assertEndOfRib(c: Capture, afi: number, safi: number): void {
  assert.ok(
    c.updates.some((u) => isEndOfRib(u)?.afi === afi && isEndOfRib(u)?.safi === safi),
    `End-of-RIB ${afi}/${safi}`,
  );
}

function assertShutdown(c: Capture): void {
  const n = c.messages.find((m) => m.type === MessageType.Notification);
  assert.ok(n && n.type === MessageType.Notification);
  assert.equal(n.code, ErrorCode.Cease);
  assert.equal(n.subcode, CeaseSubcode.AdministrativeShutdown);
  assert.equal(shutdownCommunication(n), 'golden capture: maintenance');
}

function assertEnhancedRefresh(c: Capture): void {
  const rr = c.messages.filter((m) => m.type === MessageType.RouteRefresh);
  assert.deepEqual(
    rr.map((m) => m.type === MessageType.RouteRefresh && [m.afi, m.safi, m.subtype]),
    [
      [1, 1, 1],
      [1, 1, 2],
    ],
  );
}

describe('golden vectors: BIRD 2', () => {
  it('IPv4 session: OPEN capabilities, ADD-PATH ids, attributes, End-of-RIB, enhanced route refresh, shutdown', () => {
    const c = load('bird', 'ipv4');
    assert.equal(c.theirOpen.bgpId, '198.18.0.2');
    assert.equal(c.theirOpen.holdTime, 240);
    assert.deepEqual(cap(c.theirOpen, 'FourOctetAs'), { kind: 'FourOctetAs', asn: 65000 });
    assert.deepEqual(cap(c.theirOpen, 'AddPath'), { kind: 'AddPath', afis: [{ afi: 1, safi: 1, sendReceive: 2 }] });
    assert.deepEqual(cap(c.theirOpen, 'GracefulRestart'), {
      kind: 'GracefulRestart',
      restartFlags: 0,
      restartTime: 120,
      afis: [{ afi: 1, safi: 1, forwardingState: false }],
    });
    assert.deepEqual(cap(c.theirOpen, 'LongLivedGracefulRestart'), {
      kind: 'LongLivedGracefulRestart',
      afis: [{ afi: 1, safi: 1, forwardingState: false, staleTime: 3600 }],
    });
    assert.ok(
      cap(c.theirOpen, 'ExtendedMessage') &&
        cap(c.theirOpen, 'EnhancedRouteRefresh') &&
        cap(c.theirOpen, 'RouteRefresh'),
    );
    assert.deepEqual(c.opts.addPath, [{ afi: 1, safi: 1, receive: true, send: false }]);
    assert.equal(c.opts.extendedMessage, true);

    const u = route(c, '10.10.0.0/24');
    assert.ok(u.nlri[0]!.pathId > 0, 'ADD-PATH path identifier');
    assert.deepEqual(u.attributes, {
      origin: 0,
      asPath: [],
      nextHop: '198.18.0.2',
      med: 50,
      localPref: 200,
      atomicAggregate: false,
      communities: [C(65000, 100), C(65000, 200)],
      extendedCommunities: [new Uint8Array([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 1])],
      largeCommunities: LARGE_1_2,
      unknown: [],
    });
    const incomplete = route(c, '10.10.1.0/24').attributes!;
    assert.equal(incomplete.origin, 2);
    assert.deepEqual(incomplete.communities, [WellKnownCommunity.NoExport]);
    assert.equal(route(c, '10.10.2.0/23').attributes!.localPref, 100);
    assertEndOfRib(c, 1, 1);
    assertEnhancedRefresh(c);
    assertShutdown(c);
  });

  it('IPv6 session: MP_REACH_NLRI with a link-local next hop, End-of-RIB', () => {
    const c = load('bird', 'ipv6');
    assert.deepEqual(cap(c.theirOpen, 'MultiProtocol'), { kind: 'MultiProtocol', afi: 2, safi: 1 });
    const u = route(c, '2001:db8:10::/48');
    assert.equal(u.mpReach!.nextHop, '2001:2::2');
    assert.match(u.mpReach!.linkLocalNextHop ?? '', /^fe80::/);
    assert.deepEqual(u.mpReach!.nlri.map(prefixToString), ['2001:db8:10::/48', '2001:db8:11::/64']);
    assert.deepEqual(u.attributes, {
      origin: 0,
      asPath: [],
      med: 60,
      localPref: 100,
      atomicAggregate: false,
      communities: [C(65000, 600)],
      largeCommunities: LARGE_6_6,
      unknown: [],
    });
    assertEndOfRib(c, 2, 1);
  });
});

describe('golden vectors: FRR', () => {
  it('IPv4 session: OPEN with FQDN/GR/LLGR and the old route refresh code, attributes, End-of-RIB, refresh, shutdown', () => {
    const c = load('frr', 'ipv4');
    assert.deepEqual(cap(c.theirOpen, 'Fqdn'), { kind: 'Fqdn', hostname: 'frr-golden', domain: '' });
    assert.deepEqual(cap(c.theirOpen, 'Unknown'), { kind: 'Unknown', code: 128, value: new Uint8Array(0) });
    assert.deepEqual(cap(c.theirOpen, 'GracefulRestart'), {
      kind: 'GracefulRestart',
      restartFlags: 12,
      restartTime: 120,
      afis: [],
    });
    assert.deepEqual(cap(c.theirOpen, 'LongLivedGracefulRestart'), {
      kind: 'LongLivedGracefulRestart',
      afis: [{ afi: 1, safi: 1, forwardingState: true, staleTime: 0 }],
    });
    assert.deepEqual(cap(c.theirOpen, 'AddPath'), { kind: 'AddPath', afis: [{ afi: 1, safi: 1, sendReceive: 1 }] });
    assert.equal(c.opts.routeRefresh, true);
    assert.equal(c.opts.enhancedRouteRefresh, true);
    assert.deepEqual(route(c, '10.20.0.0/24').attributes, {
      origin: 0,
      asPath: [],
      nextHop: '198.18.0.3',
      med: 50,
      localPref: 200,
      atomicAggregate: false,
      communities: [C(65000, 100), C(65000, 200), WellKnownCommunity.NoExport],
      largeCommunities: LARGE_1_2,
      unknown: [],
    });
    assert.deepEqual(route(c, '10.20.1.0/24').attributes, {
      origin: 0,
      asPath: [],
      nextHop: '198.18.0.3',
      med: 0,
      localPref: 100,
      atomicAggregate: false,
      unknown: [],
    });
    assertEndOfRib(c, 1, 1);
    assertEnhancedRefresh(c);
    assertShutdown(c);
  });

  it('IPv6 session: global + link-local next hop, End-of-RIB first', () => {
    const c = load('frr', 'ipv6');
    const u = route(c, '2001:db8:20::/48');
    assert.equal(u.mpReach!.nextHop, '2001:2::3');
    assert.equal(u.mpReach!.linkLocalNextHop, 'fe80::3');
    assert.deepEqual(u.attributes, {
      origin: 0,
      asPath: [],
      med: 60,
      localPref: 100,
      atomicAggregate: false,
      communities: [C(65000, 600)],
      largeCommunities: LARGE_6_6,
      unknown: [],
    });
    assertEndOfRib(c, 2, 1);
  });
});

describe('golden vectors: GoBGP', () => {
  it('IPv4 session: OPEN with extended next hop (kept as Unknown), attributes, End-of-RIB after a plain refresh, shutdown', () => {
    const c = load('gobgp', 'ipv4');
    assert.deepEqual(cap(c.theirOpen, 'Unknown'), {
      kind: 'Unknown',
      code: 5,
      value: new Uint8Array([0, 1, 0, 1, 0, 2]),
    });
    assert.equal(cap(c.theirOpen, 'Fqdn')?.domain, '');
    assert.deepEqual(cap(c.theirOpen, 'GracefulRestart'), {
      kind: 'GracefulRestart',
      restartFlags: 0,
      restartTime: 120,
      afis: [{ afi: 1, safi: 1, forwardingState: false }],
    });
    assert.equal(c.opts.enhancedRouteRefresh, false);
    assert.deepEqual(route(c, '10.30.0.0/24').attributes, {
      origin: 2,
      asPath: [],
      nextHop: '198.18.0.4',
      med: 50,
      localPref: 200,
      atomicAggregate: false,
      communities: [C(65000, 100), C(65000, 200)],
      largeCommunities: LARGE_1_2,
      unknown: [],
    });
    assert.equal(c.updates.filter((u) => isEndOfRib(u)).length, 2, 'End-of-RIB after the table and after the refresh');
    assertShutdown(c);
  });

  it('IPv6 session: MP_REACH_NLRI after the other attributes, global next hop only', () => {
    const c = load('gobgp', 'ipv6');
    const u = route(c, '2001:db8:30::/48');
    assert.equal(u.mpReach!.nextHop, '2001:2::4');
    assert.equal(u.mpReach!.linkLocalNextHop, undefined);
    assert.deepEqual(u.attributes, {
      origin: 2,
      asPath: [],
      med: 60,
      localPref: 100,
      atomicAggregate: false,
      communities: [C(65000, 600)],
      largeCommunities: LARGE_6_6,
      unknown: [],
    });
    assertEndOfRib(c, 2, 1);
  });
});
